#!/bin/bash
# Campaign unplug, USB: hot-unplug and replug (QMP device_del/device_add,
# through tests/vm/qmp-agent) of QEMU's USB keyboard and storage stick,
# each served by devbrokerd under load (keys through QMP; the disk churn of
# tests/campaign/disk-churn.py on the stick's FUSE file).  Each time their
# drivers must end by themselves and come back with the devices; the mouse
# keeps its driver throughout; nothing acknowledged on the stick is lost.
# Usage: unplug-usb.sh CYCLES   (vm-run --xhci --qmp SOCK --host tests/vm/qmp-agent)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=unplug-usb
. tests/campaign/lib.sh
. tests/campaign/usb-lib.sh
cycles=${1:-5}
ER=$DBK_HELPERS/evdev-read
usb_camp_bed
MOUSE=$(usb_iface "$MOUSE_ALIAS")
broker_setup
usb_camp_manifests
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
# Both replugged devices served: their interfaces running under devbrokerd
# (whatever bus address they got this time) and the stick's file back.
served() {
	local k s
	k=$(usb_iface "$KBD_ALIAS") && s=$(usb_iface "$STICK_ALIAS") &&
		[ "$(dev_field "$k" state)" = running ] && [ "$(dev_field "$s" state)" = running ] && [ -e "$DISK" ]
}
export -f served
wait_for 60 served || fail "the keyboard and the stick were never served: $(tail -5 "$BROKER_LOG")"
wait_for 60 bash -c "[ \"\$(dev_field $MOUSE state)\" = running ]" || fail "the mouse was never served"
mouse_pid=$(dev_field "$MOUSE" pid)

usb_camp_load_start expect	# every cycle takes the stick away

done_cycles=0
for c in $(seq "$cycles"); do
	sleep "0.$((RANDOM % 1000))"	# somewhere in the middle of the load
	# The guest may miss a request just after a hot-add (as in unplug.sh): ask again.
	gone=0
	for try in 1 2 3; do
		qmp device_del '{"id": "kbd0"}' >/dev/null 2>&1
		qmp device_del '{"id": "stick0"}' >/dev/null 2>&1
		wait_for 10 bash -c '! usb_iface "$KBD_ALIAS" >/dev/null && ! usb_iface "$STICK_ALIAS" >/dev/null' &&
			{ gone=1; break; }
	done
	[ $gone = 1 ] || { echo "not ok - unplug-usb: cycle $c: the keyboard or the stick stayed after 3 requests"; break; }
	# Both drivers end by themselves, this cycle (the device is gone: exit
	# 0, no restart; the mouse's driver never exits).
	wait_for 30 bash -c "[ \$(grep -c 'exited: driver usb-storage (pid [0-9]*): exit 0\$' $BROKER_LOG) -ge $c ] && [ \$(grep -c 'exited: driver usb-hid (pid [0-9]*): exit 0\$' $BROKER_LOG) -ge $c ]" ||
		{ echo "not ok - unplug-usb: cycle $c: the keyboard's or the stick's driver did not exit by itself: $(tail -3 "$BROKER_LOG")"; break; }
	# The stick's block node outlives its device (vm-run makes it with -blockdev).
	# QEMU may still hold the id for a moment.  The unplugged stick may
	# also keep its block node (QEMU finalizes the device later, seen up
	# to 30 s on an idle host): then the image is plugged in again through
	# a node of its own, without image locking, as the old device no
	# longer does I/O.
	added=0 drive=stick
	for dev in kbd stick; do
		for try in $(seq 60); do
			if [ $dev = kbd ]; then
				out=$(qmp device_add '{"driver": "usb-kbd", "id": "kbd0", "bus": "xhci.0"}' 2>&1)
			else
				out=$(qmp device_add "{\"driver\": \"usb-storage\", \"id\": \"stick0\", \"bus\": \"xhci.0\", \"drive\": \"$drive\", \"serial\": \"DBK0STICK\"}" 2>&1)
			fi && { added=$((added + 1)); break; }
			if [ $dev = stick ] && [[ $out == *"Permission conflict on node '$drive'"* ]]; then
				drive=stick-$c
				qmp blockdev-add "{\"driver\": \"raw\", \"node-name\": \"$drive\", \"file\": {\"driver\": \"file\", \"filename\": \"$DBK_VM_DIR/stick.img\", \"locking\": \"off\"}}" >/dev/null
			fi
			sleep 0.5
		done
	done
	[ $added = 2 ] || { echo "not ok - unplug-usb: cycle $c: device_add: $out"; break; }
	wait_for 60 served ||
		{ echo "not ok - unplug-usb: cycle $c: the replugged devices were not served: $(tail -3 "$BROKER_LOG")"; break; }
	done_cycles=$c
	[ $((c % 10)) = 0 ] && camp_progress "$c cycles"
done
usb_camp_load_end
! grep -q 'did not exit after the unplug' "$BROKER_LOG" &&
	echo "ok - unplug-usb: every unplugged device's driver exited by itself, none was killed after the grace" ||
	echo "not ok - unplug-usb: a driver had to be killed after its unplug: $(grep 'did not exit after the unplug' "$BROKER_LOG" | head -1)"
[ "$(dev_field "$MOUSE" pid)" = "$mouse_pid" ] &&
	echo "ok - unplug-usb: the mouse kept its driver (pid $mouse_pid) throughout" ||
	echo "not ok - unplug-usb: the mouse's driver changed ($mouse_pid, now $(dev_field "$MOUSE" pid))"
# The replugged keyboard's driver delivers a key.
ev=$("$ER" --find "devbroker usb-hid keyboard (QEMU USB Keyboard)" 2>/dev/null)
rm -f "$DBK_VM_DIR/kbd.ready"
"$ER" --ready "$DBK_VM_DIR/kbd.ready" --timeout-ms 10000 --until EV_KEY:KEY_B:0 "${ev:-/nonexistent}" > /dev/null &
rec=$!
wait_for 10 test -e "$DBK_VM_DIR/kbd.ready"
qmp input-send-event '{"events":[{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"b"}}}]}' >/dev/null
qmp input-send-event '{"events":[{"type":"key","data":{"down":false,"key":{"type":"qcode","data":"b"}}}]}' >/dev/null
wait "$rec" && echo "ok - unplug-usb: the replugged keyboard's driver delivers keys" ||
	echo "not ok - unplug-usb: no key from the replugged keyboard's driver"
broker_stop
CAMP_BROKER_PID=
camp_end "$done_cycles of $cycles unplug/replug cycles of a USB keyboard and stick under load"
