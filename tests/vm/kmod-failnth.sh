#!/bin/bash
# Allocation failures through every success path (tests/kmod/failnth-test.c),
# then a kmemleak scan: nothing leaked.  Needs CONFIG_FAULT_INJECTION and
# kmemleak: the debug kernel (skipped on the stock one).
. tests/vm/lib.sh
[ -e /proc/self/fail-nth ] || skip "no fail-nth: not the debug kernel"
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
"$DBK_BUILD/tests/kmod/failnth-test" "$bdf"
rc=$?
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak; sleep 5; echo scan > /sys/kernel/debug/kmemleak
	n=$(grep -c "unreferenced object" /sys/kernel/debug/kmemleak)
	if [ "$n" = 0 ]; then
		echo "ok - kmemleak: no leak after the sweep"
	else
		echo "not ok - kmemleak: $n unreferenced objects"; head -40 /sys/kernel/debug/kmemleak | sed 's/^/# /'
		rc=1
	fi
fi
exit $rc
