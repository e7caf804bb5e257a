#!/bin/bash
# Each public C header compiles alone, first in its translation unit, as
# C99 with -pedantic -Werror (TAP).  usage: headers-alone.sh CC SRC_ROOT
# (<devbroker/policy.h> is for clang -target bpf: policy-sdk-build builds it.)
cc=$1 src=$2 n=0 failed=0
inc=(-I "$src/libdev/include" -I "$src/policies/include" -I "$src/kmod/include/uapi")
inc+=($(pkg-config --cflags libusb-1.0 libevdev))
for h in devbroker/sdk.h devbroker/device.h devbroker/usb.h devbroker/frontend.h \
	 devbroker/fdpass.h devbroker/handover.h devbroker/block.h devbroker/cuse-client.h \
	 devbroker/usb-policy.h devbroker/bpffs.h devbroker/denial.h linux/devbroker.h; do
	n=$((n + 1))
	# A declaration after it: a header of macros only is not an empty unit.
	if out=$(printf '#include <%s>\ntypedef int dbk_header_alone;\n' "$h" |
		"$cc" -std=c99 -pedantic -Werror -Wall -Wextra -fsyntax-only "${inc[@]}" -x c - 2>&1); then
		echo "ok $n - <$h> compiles alone (C99, -pedantic -Werror)"
	else
		echo "not ok $n - <$h> does not compile alone"
		sed 's/^/# /' <<<"$out"
		failed=1
	fi
done
echo "1..$n"
exit $failed
