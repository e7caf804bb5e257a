#!/bin/bash
# Campaign storm: edu A raises interrupts as fast as a CPU can write its
# register (MSI, then INTx), while edu B, served by devbrokerd, keeps
# answering: the cap holds, the machine stays responsive, B keeps its
# service.  With an e1000e present, its MSI-X vectors storm too
# (tests/helpers/e1000e-msix, whose rounds must all arrive).
# Usage: storm.sh SECONDS
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=storm
. tests/campaign/lib.sh
secs=${1:-5}
mapfile -t edus < <(edu_bdfs)
[ ${#edus[@]} -ge 2 ] || fail "needs two edu devices"
broker_setup
EDU_DMA=64K edu_manifest "$BRK/sys/edu.conf"
dbk_load
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
wait_for 60 test -e /dev/edu1 || fail "edu1 never came up"
# devbrokerctl unbind returns once devbrokerd has given the device back to
# the kernel (the driver exited within its StopTimeoutSec=): it is ours to bind.
ctl unbind "${edus[0]}" >/dev/null || fail "devbrokerctl unbind ${edus[0]}"
dbk_bind "${edus[0]}" || fail "bind ${edus[0]}"
for i in $(seq 50); do [ -e "/dev/devbroker/${edus[0]}" ] && break; sleep 0.1; done
served=0 late=0
( while :; do t0=$(date +%s%N); r=$(fact /dev/edu1 6); t=$(( ($(date +%s%N) - t0) / 1000000 ));
	[ "$r" = 720 ] && echo "ok $t" || echo "bad $t"; done > "$DBK_VM_DIR/storm-b.log" ) &
bload=$!
DBK_STORM_SECONDS=$secs "$DBK_BUILD/tests/kmod/safety-test" storm "${edus[0]}"
rc=$?
kill $bload; wait $bload 2>/dev/null
served=$(grep -c '^ok' "$DBK_VM_DIR/storm-b.log")
bad=$(grep -c '^bad' "$DBK_VM_DIR/storm-b.log")
worst=$(awk '{if ($2 > w) w = $2} END {print w + 0}' "$DBK_VM_DIR/storm-b.log")
if [ "$served" -ge 1 ] && [ "$bad" = 0 ]; then
	echo "ok - storm: edu B answered $served times during the storms (slowest $worst ms)"
else
	echo "not ok - storm: edu B answered $served times, failed $bad"; rc=1
fi
broker_stop
CAMP_BROKER_PID=
camp_end "${secs} s of MSI and of INTx storm beside a served device" "${edus[@]}" || rc=1
exit $rc
