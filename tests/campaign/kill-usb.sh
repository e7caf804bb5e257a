#!/bin/bash
# Campaign kill, USB: SIGKILL of the USB drivers under devbrokerd at random
# moments, mid-USB transfer: usb-hid on QEMU's keyboard and mouse while
# keys and motion arrive through QMP (an interrupt transfer always in
# flight), and usb-storage while tests/campaign/disk-churn.py writes,
# fsyncs and reads its FUSE file (bulk transfers).  devbrokerd restarts
# each one.  At the end every driver serves again, no acknowledged write
# was lost, and when devbrokerd stops the kernel's own drivers get every
# interface back.  Usage: kill-usb.sh KILLS
#   (vm-run --xhci --qmp SOCK --host tests/vm/qmp-agent)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=kill-usb
. tests/campaign/lib.sh
. tests/campaign/usb-lib.sh
kills=${1:-30}
ER=$DBK_HELPERS/evdev-read
usb_camp_bed
KBD=$(usb_iface "$KBD_ALIAS") MOUSE=$(usb_iface "$MOUSE_ALIAS") STICK=$(usb_iface "$STICK_ALIAS")
ifaces=("$KBD" "$MOUSE" "$STICK")
names=(keyboard mouse stick)
inputs=("devbroker usb-hid keyboard (QEMU USB Keyboard)" "devbroker usb-hid mouse (QEMU USB Mouse)")
kernel_drivers=(usbhid usbhid usb-storage)

broker_setup
# Restart budget as in kill.sh: a kill every few hundred ms is the point.
usb_camp_manifests 's|^Restart=on-failure|&\nRestartBurst=16\nRestartWindowSec=1|'
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
for i in 0 1 2; do
	wait_for 60 bash -c "[ \"\$(dev_field ${ifaces[i]} state)\" = running ]" ||
		fail "${names[i]} (${ifaces[i]}) never ran: $(tail -5 "$BROKER_LOG")"
done
wait_for 60 test -e "$DISK" || fail "no FUSE file $DISK"
# A few kills of the stick's driver may all fall between the churn's
# operations (the smoke's 10 did, on a loaded host); from 20 on, some must hit.
usb_camp_load_start $([ $((kills / 3)) -ge 20 ] && echo expect)

# "STATE PID" of an interface's entry, in one devbrokerctl call and no
# python: the killers poll it, and under TCG each process start counts.
state_pid() { ctl status "$1" 2>/dev/null | awk '$1 == "State:" { s = $2 } $1 == "PID:" { p = $2 } END { print s, p }'; }
running() { [[ $(state_pid "$1") == "running "[0-9]* ]]; }
export -f state_pid running
# One killer per driver.  A driver crashing faster than its restart budget
# is quarantined: released, as in kill.sh.
killer() {
	local i=$1 quota=$2 kills=0 releases=0 st pid
	while [ "$kills" -lt "$quota" ]; do
		read -r st pid <<<"$(state_pid "${ifaces[i]}")"
		if [ "$st" != running ] || ! [ "${pid:-0}" -gt 0 ] 2>/dev/null; then
			if ! wait_for 30 running "${ifaces[i]}"; then
				[ "$(dev_field "${ifaces[i]}" state)" = quarantined ] &&
					ctl release "${ifaces[i]}" >/dev/null 2>&1 && releases=$((releases + 1))
				wait_for 30 running "${ifaces[i]}" ||
					{ echo "not ok - kill-usb: the ${names[i]}'s driver was not restarted: $(tail -5 "$BROKER_LOG")"; break; }
			fi
			continue
		fi
		sleep "0.$((RANDOM % 400))"
		kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		[ $((kills % 100)) = 0 ] && camp_progress "${names[i]}: $kills kills"
	done
	echo "$kills $releases" > "$DBK_VM_DIR/killer.$i"
}
killers=()
for i in 0 1 2; do
	killer "$i" $(((kills + 2 - i) / 3)) & killers+=($!)
done
wait "${killers[@]}"
done_kills=0 releases=0
for i in 0 1 2; do
	read -r k r < "$DBK_VM_DIR/killer.$i" || k=0 r=0
	done_kills=$((done_kills + k)) releases=$((releases + r))
done
# Each driver came back and serves: the churn's check, a key, a motion.
usb_camp_load_end
served=0
for i in 0 1; do
	wait_for 30 bash -c "[ \"\$(dev_field ${ifaces[i]} state)\" = running ]" || continue
	ev=$("$ER" --find "${inputs[i]}" 2>/dev/null) || continue
	rm -f "$DBK_VM_DIR/ev.$i" "$DBK_VM_DIR/ev.$i.ready"
	until=EV_KEY:KEY_B:0; [ $i = 1 ] && until=EV_REL:REL_Y:5
	"$ER" --ready "$DBK_VM_DIR/ev.$i.ready" --timeout-ms 10000 --until "$until" "$ev" > "$DBK_VM_DIR/ev.$i" &
	rec=$!
	wait_for 10 test -e "$DBK_VM_DIR/ev.$i.ready"
	if [ $i = 0 ]; then
		qmp input-send-event '{"events":[{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"b"}}}]}' >/dev/null
		qmp input-send-event '{"events":[{"type":"key","data":{"down":false,"key":{"type":"qcode","data":"b"}}}]}' >/dev/null
	else
		qmp input-send-event '{"events":[{"type":"rel","data":{"axis":"y","value":5}}]}' >/dev/null
	fi
	wait "$rec" && served=$((served + 1))
done
[ "$served" = 2 ] && echo "ok - kill-usb: the keyboard's and the mouse's drivers were restarted and deliver input" ||
	{ echo "not ok - kill-usb: $served of 2 input drivers deliver input again"
	  cat /proc/bus/input/devices | grep '^N:' | sed 's/^/# /'; tail -n 20 "$BROKER_LOG" | sed 's/^/# /'; }
broker_stop
CAMP_BROKER_PID=
back=0
for i in 0 1 2; do
	wait_for 20 bash -c "[ \"\$(iface_driver ${ifaces[i]})\" = ${kernel_drivers[i]} ]" && back=$((back + 1))
done
[ "$back" = 3 ] && echo "ok - kill-usb: devbrokerd stopped, the kernel's usbhid and usb-storage have the interfaces back" ||
	echo "not ok - kill-usb: $back of 3 interfaces back with the kernel's drivers"
camp_end "$done_kills kills of 3 USB drivers under load ($releases quarantines released)"
