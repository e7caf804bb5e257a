#!/bin/sh
# The UAPI header is the spec: it must compile standalone as C89, -pedantic.
# usage: uapi-c89.sh CC INCLUDE_DIR STAMP
set -e
printf '#include <linux/devbroker.h>\nint main(void) { return 0; }\n' |
	"$1" -std=c89 -pedantic -Wall -Wextra -Werror -I"$2" -x c - -o /dev/null
touch "$3"
