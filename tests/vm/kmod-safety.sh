#!/bin/bash
# The review's ring-0 findings (tests/kmod/safety-test.c) on one device:
# the first edu, or the first device VENDOR:DEVICE.
# Usage: kmod-safety.sh [--dev VENDOR:DEVICE] GROUP...
. tests/vm/lib.sh
vd=1234:11e8
if [ "${1:-}" = --dev ]; then vd=$2; shift 2; fi
bdf=$(lspci -D -n -d "$vd" | awk '{print $1; exit}')
[ -n "$bdf" ] || fail "no device $vd"
dbk_load
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
rc=0
for grp in "$@"; do
	"$DBK_BUILD/tests/kmod/safety-test" "$grp" "$bdf" || rc=1
done
exit $rc
