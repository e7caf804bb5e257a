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
kills=${1:-30}
ER=$DBK_BUILD/tests/helpers/evdev-read
for m in xhci_pci usbhid hid_generic evdev uinput usb_storage sd_mod fuse; do modprobe "$m"; done
wait_for 20 usb_iface '*ic03isc01ip02*' >/dev/null || fail "no usb-mouse in the bed"
wait_for 20 usb_iface '*ic08isc06ip50*' >/dev/null || fail "no usb-storage stick in the bed"
KBD=$(usb_iface '*ic03isc01ip01*') MOUSE=$(usb_iface '*ic03isc01ip02*') STICK=$(usb_iface '*ic08isc06ip50*')
ifaces=("$KBD" "$MOUSE" "$STICK")
names=(keyboard mouse stick)
inputs=("devbroker usb-hid keyboard (QEMU USB Keyboard)" "devbroker usb-hid mouse (QEMU USB Mouse)")
kernel_drivers=(usbhid usbhid usb-storage)
DISK=/run/devbroker/usb-storage/DBK0STICK/disk
export -f iface_driver

broker_setup
# Restart budget as in kill.sh: a kill every few hundred ms is the point.
restart='s|^Restart=on-failure|&\nRestartBurst=16\nRestartWindowSec=1|'
sed -e "s|^Exec=.*|Exec=$DBK_BUILD/drivers/usb-hid/usb-hid|" -e "$restart" \
	"$DBK_BUILD/drivers/usb-hid/usb-hid.conf" > "$BRK/sys/usb-hid.conf"
sed -e "s|^Exec=.*|Exec=$DBK_BUILD/drivers/usb-storage/usb-storage|" -e "s|^AutoBind=no|AutoBind=yes|" \
	-e "$restart" "$DBK_BUILD/drivers/usb-storage/usb-storage.conf" > "$BRK/sys/usb-storage.conf"
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
for i in 0 1 2; do
	wait_for 60 bash -c "[ \"\$(dev_field ${ifaces[i]} state)\" = running ]" ||
		fail "${names[i]} (${ifaces[i]}) never ran: $(tail -5 "$BROKER_LOG")"
done
wait_for 60 test -e "$DISK" || fail "no FUSE file $DISK"

# Load: keys and motion through QMP, 20 a second; the disk churn.
input_load() {
	local k='{"type":"key","data":{"down":%s,"key":{"type":"qcode","data":"a"}}}'
	local r='{"type":"rel","data":{"axis":"x","value":3}}'
	while :; do
		qmp input-send-event "{\"events\":[$(printf "$k" true),$r]}" >/dev/null 2>&1
		sleep 0.025
		qmp input-send-event "{\"events\":[$(printf "$k" false)]}" >/dev/null 2>&1
		sleep 0.025
	done
}
input_load & inl=$!
rm -f "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out"
python3 tests/campaign/disk-churn.py "$DISK" "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out" --expect-failures &
churn=$!

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
kill "$inl" 2>/dev/null; wait "$inl" 2>/dev/null

# Each driver came back and serves: the churn's check, a key, a motion.
touch "$DBK_VM_DIR/churn.stop"
wait "$churn"; crc=$?
read -r verdict writes reads failed checked uncertain bad < "$DBK_VM_DIR/churn.out" || verdict=none
echo "# kill-usb: disk churn: $(cat "$DBK_VM_DIR/churn.out" 2>/dev/null)"
[ "$crc" = 0 ] && [ "$verdict" = ok ] &&
	echo "ok - kill-usb: nothing acknowledged was lost: $writes fsynced writes, $reads reads, $failed failed while the driver was down; $checked blocks checked, $uncertain torn by a kill held the old or the new data" ||
	echo "not ok - kill-usb: disk churn: $verdict ($bad blocks lost; idle: no write or read succeeded, none failed, or none after a failure)"
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
