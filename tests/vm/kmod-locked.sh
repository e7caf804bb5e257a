#!/bin/bash
# Settings that cannot be undone in a boot, so last: kernel lockdown
# (safety-test lockdown: no unconfined DMA), then kernel.modules_disabled:
# a root rmmod refused by the kernel has no side effect on a live grant.
. tests/vm/lib.sh
rc=0
tests/vm/kmod-safety.sh lockdown || rc=1
bdf=$(edu_bdfs | head -n1)
out=$DBK_VM_DIR/hold-locked.out
"$DBK_BUILD/tests/kmod/uapi-test" "$bdf" hold > "$out" 2>&1 &
holder=$!
for i in $(seq 100); do grep -q holding "$out" && break; sleep 0.1; done
grep -q holding "$out" || fail "holder did not start"
echo 1 > /proc/sys/kernel/modules_disabled || fail "modules_disabled"
if err=$(busybox rmmod devbroker 2>&1); then
	echo "not ok - rmmod with modules disabled succeeded"; rc=1
else
	echo "ok - rmmod with modules disabled fails: $err"
fi
sleep 1
if kill -0 "$holder" 2>/dev/null; then
	echo "ok - the refused rmmod left the driver's grant alone"
else
	echo "not ok - the refused rmmod revoked the grant: $(tr '\n' ' ' < "$out")"; rc=1
fi
kill "$holder" 2>/dev/null
exit $rc
