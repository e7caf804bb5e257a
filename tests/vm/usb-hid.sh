#!/bin/bash
# drivers/usb-hid under devbrokerd, on QEMU's usb-kbd and usb-mouse: keys
# typed through QMP arrive on the driver's /dev/input/eventN (modifiers,
# the kernel's key repeat, keyboard rollover), mouse motion, buttons and
# wheel too; an EV_LED written there goes to the keyboard as SET_REPORT
# (seen on the bus with usbmon); usbhid has no part while the driver runs
# and gets the keyboard back after it; an interface that is no boot
# keyboard or mouse is refused with a clear message and exit 1; a
# hot-unplugged mouse makes the driver exit 0 by itself.  TAP output.
# Boot: --xhci --qemu -device --qemu usb-net,... --qmp SOCK --host tests/vm/qmp-agent
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
ER=$DBK_HELPERS/evdev-read
OUR_KBD="devbroker usb-hid keyboard (QEMU USB Keyboard)"
OUR_MOUSE="devbroker usb-hid mouse (QEMU USB Mouse)"
HID_KBD="QEMU QEMU USB Keyboard"	# usbhid's name for the same keyboard
n=0
FAILED=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
modprobe xhci_pci; modprobe usbhid; modprobe hid_generic; modprobe evdev; modprobe uinput
modprobe usbmon || fail "no usbmon"

find_input() { "$ER" --find "$1"; }

# QMP input-send-event without "device": the newest keyboard/mouse gets it.
keys() {	# keys true|false QCODE...: one event batch, keys down or up
	local down=$1 ev="" k; shift
	for k; do ev="$ev${ev:+,}{\"type\":\"key\",\"data\":{\"down\":$down,\"key\":{\"type\":\"qcode\",\"data\":\"$k\"}}}"; done
	qmp input-send-event "{\"events\":[$ev]}" >/dev/null
}
type_combo() {	# type_combo a | shift-a: down, 150 ms, up (reversed), 150 ms
	local -a k r; local i
	IFS=- read -ra k <<<"$1"
	for ((i = ${#k[@]} - 1; i >= 0; i--)); do r+=("${k[i]}"); done
	keys true "${k[@]}"; sleep 0.15; keys false "${r[@]}"; sleep 0.15
}
mouse() { qmp input-send-event "{\"events\":[$1]}" >/dev/null; }
rel() { echo "{\"type\":\"rel\",\"data\":{\"axis\":\"$1\",\"value\":$2}}"; }
btn() { echo "{\"type\":\"btn\",\"data\":{\"button\":\"$1\",\"down\":$2}}"; }

# rec_start NODE FILE [evdev-read options]: record NODE's events in the
# background (REC: its pid) from when it is open.
rec_start() {
	local node=$1 out=$2; shift 2
	rm -f "$out.ready"
	"$ER" --ready "$out.ready" "$@" "$node" > "$out" &
	REC=$!
	wait_for 10 test -e "$out.ready"
}
# The events of a recording as "CODE VALUE" lines (EV_KEY/EV_REL), or only
# presses and releases (values 0 and 1: key repeat, value 2, left out).
events() { awk '$2 != "EV_MSC" { print $3, $4 }' "$1"; }
presses() { awk '$2 == "EV_KEY" && $4 != 2 { print $3, $4 }' "$1"; }
export -f events presses

wait_for 10 usb_iface '*ic03isc01ip02*' >/dev/null || fail "no usb-mouse in the bed"
KBD=$(usb_iface '*ic03isc01ip01*'); MOUSE=$(usb_iface '*ic03isc01ip02*')
# usb-net sits behind a hub QEMU adds: it may enumerate after the mouse.
wait_for 10 usb_iface '*ic0Aisc00ip00*' >/dev/null || fail "no usb-net (its CDC data interface) in the bed"
NETDATA=$(usb_iface '*ic0Aisc00ip00*')
wait_for 10 test "$(iface_driver "$KBD")" = usbhid
wait_for 10 find_input "$HID_KBD" >/dev/null || fail "usbhid made no input device for the keyboard"

broker_setup
cp "$DBK_MANIFESTS/usb-hid.conf" "$BRK/sys/usb-hid.conf"	# as installed
# The same driver on an interface it cannot drive (usb-net's CDC data
# interface, class 0a): it must say why and exit 1, once (Restart=no).
cat > "$BRK/sys/usb-hid-misfit.conf" <<EOT
[Driver]
Name=usb-hid-misfit
Exec=$(manifest_exec usb-hid)
User=nobody
Restart=no
[Match]
USBInterface=0a
[Rights]
USBRequests=standard class
[Frontend]
UInput=yes
EOT
broker_start

# ---- the driver takes the keyboard and the mouse ----
DESC="devbrokerd runs usb-hid for the keyboard ($KBD) and the mouse ($MOUSE), as dynamic users of their own, in one thread"
ok wait_for 20 bash -c "[ \"\$(dev_field $KBD state)\" = running ] && [ \"\$(dev_field $MOUSE state)\" = running ] && dynamic_uid \$(dev_field $KBD pid) && dynamic_uid \$(dev_field $MOUSE pid) && [ \"\$(dev_field $KBD uid)\" != \"\$(dev_field $MOUSE uid)\" ] && grep -q '^Threads:.1\$' /proc/\$(dev_field $KBD pid)/status"
wait_for 10 find_input "$OUR_KBD" >/dev/null
wait_for 10 find_input "$OUR_MOUSE" >/dev/null
KEV=$(find_input "$OUR_KBD"); MEV=$(find_input "$OUR_MOUSE")
DESC="the driver's input devices exist: keyboard ${KEV:-none}, mouse ${MEV:-none}; BUS_USB, 0627:0001"
ok bash -c "[ -n '$KEV' ] && [ -n '$MEV' ] && d=/sys/class/input/${KEV#/dev/input/}/device/id && [ \"\$(cat \$d/bustype):\$(cat \$d/vendor):\$(cat \$d/product)\" = 0003:0627:0001 ]"
# Without them, every check below would only wait out its timeout.
if [ -z "$KEV" ] || [ -z "$MEV" ]; then
	echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG"
	exit 1
fi
DESC="while the driver runs, usbhid does not handle the keyboard: $KBD/driver is usbfs, no usbhid input device"
ok bash -c "[ \"\$(basename \"\$(readlink /sys/bus/usb/devices/$KBD/driver)\")\" = usbfs ] && [ -z \"\$(ls -d /sys/bus/usb/devices/$KBD/*/input/input* 2>/dev/null)\" ] && ! '$ER' --find '$HID_KBD' >/dev/null"

# ---- keys ----
rec_start "$KEV" "$DBK_VM_DIR/keys.ev" --until EV_KEY:KEY_LEFTSHIFT:0 --timeout-ms 30000
type_combo a
type_combo shift-a
wait "$REC"
DESC="'a' then shift-a typed through QMP arrive as KEY_A 1/0, KEY_LEFTSHIFT 1, KEY_A 1/0, KEY_LEFTSHIFT 0 (with MSC_SCAN 0x70004)"
ok bash -c "[ \"\$(presses $DBK_VM_DIR/keys.ev | tr '\n' ' ')\" = 'KEY_A 1 KEY_A 0 KEY_LEFTSHIFT 1 KEY_A 1 KEY_A 0 KEY_LEFTSHIFT 0 ' ] && grep -q 'EV_MSC MSC_SCAN 458756' $DBK_VM_DIR/keys.ev"
[ $FAILED = 0 ] || sed 's/^/# /' "$DBK_VM_DIR/keys.ev"

rec_start "$KEV" "$DBK_VM_DIR/hold.ev" --until EV_KEY:KEY_B:0 --timeout-ms 30000
keys true b; sleep 1; keys false b
wait "$REC"
# The kernel's software repeat (EV_REP, 250 ms delay): not the device's.
first_rep=$(awk '$3 == "KEY_B" && $4 == 1 { t = $1 } $3 == "KEY_B" && $4 == 2 { print int(($1 - t) * 1000); exit }' "$DBK_VM_DIR/hold.ev")
nrep=$(grep -c 'KEY_B 2$' "$DBK_VM_DIR/hold.ev")
DESC="b held 1 s: KEY_B 1, $nrep repeats (value 2), the first ${first_rep:-?} ms after the press (delay 250 ms), KEY_B 0"
ok bash -c "[ \"\$(presses $DBK_VM_DIR/hold.ev | tr '\n' ' ')\" = 'KEY_B 1 KEY_B 0 ' ] && [ '$nrep' -ge 1 ] && [ '${first_rep:-0}' -ge 200 ]"

# Rollover: a boot keyboard reports six keys; with seven down QEMU sends
# ErrorRollOver (0x01) in every slot, which must not read as six releases.
rec_start "$KEV" "$DBK_VM_DIR/roll.ev" --until EV_KEY:KEY_G:0 --timeout-ms 30000
keys true a b c d e f g
sleep 1
cp "$DBK_VM_DIR/roll.ev" "$DBK_VM_DIR/roll-held.ev"
keys false a b c d e f g
wait "$REC"
DESC="seven keys held: six presses (A-F) and nothing else while the keyboard reports ErrorRollOver"
ok bash -c "[ \"\$(presses $DBK_VM_DIR/roll-held.ev | sort | tr '\n' ' ')\" = 'KEY_A 1 KEY_B 1 KEY_C 1 KEY_D 1 KEY_E 1 KEY_F 1 ' ]"
DESC="released: G is pressed once the report has room, then all seven are released, each once"
ok bash -c "[ \"\$(presses $DBK_VM_DIR/roll.ev | sort | uniq -c | awk '{print \$1}' | sort -u)\" = 1 ] && [ \$(presses $DBK_VM_DIR/roll.ev | wc -l) = 14 ]"

# ---- LEDs: EV_LED in, SET_REPORT out, seen on the bus ----
bus=$(cat "/sys/bus/usb/devices/${KBD%%:*}/busnum"); dev=$(cat "/sys/bus/usb/devices/${KBD%%:*}/devnum")
addr=$(printf 'Co:%d:%03d:0' "$bus" "$dev")
cat "/sys/kernel/debug/usb/usbmon/${bus}u" > "$DBK_VM_DIR/usbmon.txt" &
MON=$!
sleep 0.5
"$ER" --led LED_CAPSL=1 "$KEV"
DESC="EV_LED LED_CAPSL=1 written to $KEV: the driver sends SET_REPORT(output) = 02 to the keyboard ($addr s 21 09 0200 0000 0001), completed"
ok wait_for 10 bash -c "grep -q ' S $addr s 21 09 0200 0000 0001 1 = 02\$' $DBK_VM_DIR/usbmon.txt && grep -q ' C $addr 0 1 >' $DBK_VM_DIR/usbmon.txt"
"$ER" --led LED_CAPSL=0 "$KEV"
"$ER" --led LED_NUML=1 "$KEV"
DESC="LED_CAPSL=0, then LED_NUML=1: SET_REPORT = 00, then = 01"
ok wait_for 10 bash -c "grep ' S $addr s 21 09 0200' $DBK_VM_DIR/usbmon.txt | awk '{print \$NF}' | tr '\n' ' ' | grep -q '^02 00 01 \$'"
kill "$MON"; wait "$MON" 2>/dev/null

# ---- the mouse ----
rec_start "$MEV" "$DBK_VM_DIR/mouse.ev" --until EV_REL:REL_WHEEL:1 --timeout-ms 30000
mouse "$(rel x 10),$(rel y -5)"
mouse "$(btn left true)"; sleep 0.1; mouse "$(btn left false)"
mouse "$(btn right true)"; sleep 0.1; mouse "$(btn right false)"
mouse "$(btn middle true)"; sleep 0.1; mouse "$(btn middle false)"
mouse "$(btn wheel-up true)"; mouse "$(btn wheel-up false)"
wait "$REC"
DESC="mouse: REL_X 10, REL_Y -5, BTN_LEFT/RIGHT/MIDDLE 1 and 0, REL_WHEEL 1"
ok bash -c "[ \"\$(events $DBK_VM_DIR/mouse.ev | tr '\n' ' ')\" = 'REL_X 10 REL_Y -5 BTN_LEFT 1 BTN_LEFT 0 BTN_RIGHT 1 BTN_RIGHT 0 BTN_MIDDLE 1 BTN_MIDDLE 0 REL_WHEEL 1 ' ]"
[ $FAILED = 0 ] || sed 's/^/# /' "$DBK_VM_DIR/mouse.ev"
rec_start "$MEV" "$DBK_VM_DIR/far.ev" --timeout-ms 3000
mouse "$(rel x -300)"
wait "$REC"
DESC="a 300-count move left (more than one report holds: -127 each) adds up to REL_X -300"
ok bash -c "[ \"\$(awk '\$3 == \"REL_X\" { s += \$4 } END { print s }' $DBK_VM_DIR/far.ev)\" = -300 ]"

# ---- an interface that is no boot keyboard or mouse ----
DESC="given usb-net's data interface ($NETDATA, class 0a), the driver says why and exits 1 (not restarted: Restart=no)"
ok wait_for 10 bash -c "grep -q 'usb-hid: interface $((10#${NETDATA##*.})): class 0a/00/00 is not a boot keyboard (03/01/01) or boot mouse (03/01/02)' $BROKER_LOG && grep -q '$NETDATA: exited: driver usb-hid-misfit (pid [0-9]*): exit 1' $BROKER_LOG"

# ---- the keyboard back to usbhid ----
kpid=$(dev_field "$KBD" pid)
ctl unbind "$KBD" >/dev/null
DESC="devbrokerctl unbind: the driver is stopped and its input device goes away"
ok wait_for 10 bash -c "grep -q '$KBD: exited: driver usb-hid (pid $kpid)' $BROKER_LOG && ! '$ER' --find '$OUR_KBD' >/dev/null"
DESC="after the driver: usbhid handles the keyboard again ($KBD/driver is usbhid, its own input device is back)"
ok wait_for 10 bash -c "[ \"\$(basename \"\$(readlink /sys/bus/usb/devices/$KBD/driver)\")\" = usbhid ] && [ -n \"\$(ls -d /sys/bus/usb/devices/$KBD/*/input/input* 2>/dev/null)\" ] && '$ER' --find '$HID_KBD' >/dev/null"
HEV=$(find_input "$HID_KBD")
rec_start "$HEV" "$DBK_VM_DIR/usbhid.ev" --until EV_KEY:KEY_C:0 --timeout-ms 20000
type_combo c
wait "$REC"
DESC="a key typed now arrives through usbhid ($HEV): KEY_C 1, KEY_C 0"
ok bash -c "[ \"\$(presses $DBK_VM_DIR/usbhid.ev | tr '\n' ' ')\" = 'KEY_C 1 KEY_C 0 ' ]"

# ---- the mouse unplugged: the driver sees it and exits 0 by itself ----
mpid=$(dev_field "$MOUSE" pid)
qmp device_del '{"id": "mouse0"}' >/dev/null
DESC="mouse hot-unplugged: the driver says the device is gone and exits 0; its input device goes away"
ok wait_for 10 bash -c "grep -q 'usb-hid: interrupt transfer: the device is gone' $BROKER_LOG && grep -q 'exited: driver usb-hid (pid $mpid): exit 0' $BROKER_LOG && ! '$ER' --find '$OUR_MOUSE' >/dev/null"

broker_stop
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG"; }
exit $FAILED
