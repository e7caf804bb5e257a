#!/bin/bash
# Campaign unplug: hot-unplug and replug (QMP device_del/device_add, through
# tests/vm/qmp-agent) of an edu device served by devbrokerd under load; each
# time its driver must end cleanly, and come back with the device.
# Usage: unplug.sh CYCLES   (vm-run --edu 2 --qmp SOCK --host tests/vm/qmp-agent)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=unplug
export -f edu_bdfs
. tests/campaign/lib.sh
cycles=${1:-10}
broker_setup
EDU_DMA=64K edu_manifest "$BRK/sys/edu.conf"
dbk_load
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
wait_for 60 test -e /dev/edu0 || fail "edu0 never came up"
wait_for 60 test -e /dev/edu1 || fail "edu1 never came up"
load() { while :; do fact "/dev/edu$1" 7 >/dev/null 2>&1; done; }
load 0 & l0=$!
load 1 & l1=$!
done_cycles=0
for c in $(seq "$cycles"); do
	# edu0 is wherever QEMU put it last: count the devices instead.
	# The guest may miss an ACPI eject request just after a hot-add: ask again.
	gone=0
	for try in 1 2 3; do
		qmp device_del '{"id": "edu0"}' >/dev/null 2>&1
		wait_for 10 bash -c "[ \$(edu_bdfs | wc -l) = 1 ]" && { gone=1; break; }
	done
	[ $gone = 1 ] || { echo "not ok - unplug: edu0 stayed after 3 requests"; break; }
	# QEMU finishes a device_del after the guest lets go: the id may still be taken for a while.
	added=0
	for try in $(seq 60); do
		out=$(qmp device_add '{"driver": "edu", "id": "edu0"}' 2>&1) && { added=1; break; }
		sleep 0.5
	done
	[ $added = 1 ] || { echo "not ok - unplug: device_add: $out"; break; }
	wait_for 60 bash -c "[ \$(edu_bdfs | wc -l) = 2 ] && [ \$(ls /dev/edu* 2>/dev/null | wc -l) -ge 2 ]" ||
		{ echo "not ok - unplug: cycle $c: the replugged device was not served: $(tail -3 "$BROKER_LOG")"; break; }
	done_cycles=$c
	[ $((c % 10)) = 0 ] && camp_progress "$c cycles"
done
kill $l0 $l1 2>/dev/null; wait $l0 $l1 2>/dev/null
[ "$(fact /dev/edu1 5)" = 120 ] && echo "ok - unplug: the other device served throughout and still does" ||
	echo "not ok - unplug: the other device stopped serving"
broker_stop
CAMP_BROKER_PID=
camp_end "$done_cycles of $cycles unplug/replug cycles under load" $(edu_bdfs)
