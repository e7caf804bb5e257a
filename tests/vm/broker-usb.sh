#!/bin/bash
# devbrokerd and USB: discovery of the xHCI bed's devices, interfaces
# grouped per manifest and handed over as a restricted usbfs fd to a
# sandboxed driver (tests/broker/usb-probe) that can claim nothing else,
# the kernel driver given back whenever the driver stops (crash, revoke,
# unbind, broker exit), forced revocation, hotplug in and out, and a
# restarted devbrokerd taking over.  TAP output.
# Boot: --xhci --qemu -device --qemu usb-net,... --qmp SOCK --host tests/vm/qmp-agent
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
modprobe xhci_pci; modprobe usbhid; modprobe hid_generic; modprobe evdev
wait_for 10 usb_iface '*ic0Aisc00ip00in01' >/dev/null || fail "no usb-net in the bed"
KBD=$(usb_iface '*ic03isc01ip01*'); NET=$(usb_iface '*ic0Aisc00ip00in01')
MOUSE_DEV=$(usb_iface '*ic03isc01ip02*'); MOUSE_DEV=${MOUSE_DEV%%:*}
wait_for 10 test "$(iface_driver "$KBD")" = usbhid

broker_setup
cat > "$BRK/sys/probe-kbd.conf" <<EOT
[Driver]
Name=probe-kbd
Exec=$DBK_HELPERS/usb-probe $DBK_VM_DIR/kbd.out
DynamicUser=no
User=4242
[Match]
USBInterface=03/01/01
EOT
# usb-net: interface 0 (CDC comm, 02/06) stays ungranted.
cat > "$BRK/sys/probe-net.conf" <<EOT
[Driver]
Name=probe-net
Exec=$DBK_HELPERS/usb-probe $DBK_VM_DIR/net.out 0
DynamicUser=no
User=4242
Restart=no
[Match]
USBInterface=0a
EOT
cat > "$BRK/sys/bad-usb.conf" <<EOT
[Driver]
Name=bad-usb
Exec=/bin/true
User=nobody
[Match]
USBDevice=0627:0001
[Rights]
BARs=0
EOT
# The probes append to their files across runs, so they run as an account
# of their own (DynamicUser=no, User=4242): a dynamic user's file systems
# are read-only.
for f in kbd.out net.out; do : > "$DBK_VM_DIR/$f"; chmod 0666 "$DBK_VM_DIR/$f"; done
broker_start

# The USB entries as a set of (id, driver, state).
list_usb() { ctl --json list 2>/dev/null | json "sorted((d['id'], d['driver'], d['state']) for d in r['devices'] if d['bus'] == 'usb')"; }
export -f list_usb
STICK_DEV=$(usb_iface '*ic08isc06ip50*'); STICK_DEV=${STICK_DEV%%:*}
want="$(python3 -c "print(sorted([('$KBD', 'probe-kbd', 'running'), ('$NET', 'probe-net', 'running'), ('$MOUSE_DEV', None, 'unmatched'), ('$STICK_DEV', None, 'unmatched')]))")"
DESC="USB devices listed: $KBD and $NET driven, the mouse ($MOUSE_DEV) and the stick ($STICK_DEV) unmatched, hubs left out"
ok wait_for 20 bash -c "[ \"\$(list_usb)\" = \"$want\" ]"
[ "$(list_usb)" = "$want" ] || echo "# got $(list_usb)"
DESC="an invalid USB manifest is reported with its line (BARs= is a PCI right)"
ok bash -c "ctl drivers | grep -q 'bad-usb.conf:8: BARs= is a PCI right, and this manifest matches USB devices'"
DESC="status shows the interface mask, the node, the serial and the request rights"
ok bash -c "ctl --json status $NET | json \"(r['device']['interfaces'], r['device']['node'].startswith('/dev/bus/usb/'), r['device']['rights']['usb_requests'])\" | grep -qx \"('0x2', True, 'standard class')\""

wait_for 10 grep -q 'usb-probe: ready' "$DBK_VM_DIR/net.out"
wait_for 10 grep -q 'usb-probe: ready' "$DBK_VM_DIR/kbd.out"
DESC="the driver's own checks pass (fd adopted, granted interfaces claimed, no /dev/bus/usb, no detach, no raw reset)"
ok bash -c "! grep -q '^not ok' $DBK_VM_DIR/kbd.out $DBK_VM_DIR/net.out && [ \$(grep -c '^ok' $DBK_VM_DIR/kbd.out) -ge 8 ]"
DESC="the usb_requests policy refuses a vendor request and a raw SET_CONFIGURATION (EPERM)"
ok bash -c "grep -q '^ok .*vendor request 0x40/0x01 refused (EPERM)' $DBK_VM_DIR/kbd.out && grep -q '^ok .*SET_CONFIGURATION refused (EPERM)' $DBK_VM_DIR/kbd.out"
DESC="each refusal is a 'denied' event of the driver"
ok bash -c "grep -q '$KBD: denied: usb_requests: pid [0-9]*: vendor request 0x40/0x01 .*type not allowed' $BROKER_LOG && grep -q '$KBD: denied: usb_requests: pid [0-9]*: standard request 0x00/0x09 .*deny rule' $BROKER_LOG"
DESC="the restricted fd cannot claim the ungranted interface 0 (EACCES)"
ok grep -q '^ok .*ungranted interface 0: claim refused with EACCES' "$DBK_VM_DIR/net.out"
DESC="while the driver runs, usbhid does not hold the keyboard interface (usbfs does)"
ok test "$(iface_driver "$KBD")" = usbfs
DESC="the driver runs as its account (4242), sandboxed (no capabilities, no_new_privs, seccomp)"
pid=$(dev_field "$KBD" pid)
ok bash -c "grep -q '^Uid:.4242.4242.4242.4242\$' /proc/$pid/status && grep -q '^CapEff:.0000000000000000' /proc/$pid/status && grep -q '^NoNewPrivs:.1' /proc/$pid/status && grep -q '^Seccomp:.2' /proc/$pid/status"

# A crash: the kernel driver gets the interface back, then the restart takes it again.
: > "$DBK_VM_DIR/kbd.out"
kill -KILL "$pid"
DESC="SIGKILLed driver: usbhid gets the keyboard back, then the restarted driver (new pid) holds it"
ok wait_for 10 bash -c "grep -q '$KBD: interface 0 given back to the kernel (usbhid)' $BROKER_LOG && p=\$(dev_field $KBD pid) && [ \"\$p\" != None ] && [ \"\$p\" != $pid ] && grep -q 'usb-probe: ready' $DBK_VM_DIR/kbd.out && [ \"\$(basename \$(readlink /sys/bus/usb/devices/$KBD/driver))\" = usbfs ]"

# Forced revocation.  Nobody, not even root, can take a copy of a USB
# driver's fd (the usb_requests policy refuses pidfd_getfd, ptrace and
# /proc/PID/mem on a marked driver); revocation's USBDEVFS_DISCONNECT
# would take the interface from such a copy too.
pid=$(dev_field "$KBD" pid)
rm -f "$DBK_VM_DIR"/straggler.*
python3 tests/vm/usb-straggler.py "$pid" 3 "$DBK_VM_DIR"
DESC="root cannot take a copy of the driver's usbfs fd: pidfd_getfd refused (EPERM)"
ok grep -qx 'getfd 1' "$DBK_VM_DIR/straggler.before"
DESC="the refusal is a 'denied' event naming the driver"
ok wait_for 5 grep -q "$KBD: denied: usb_requests: pid $pid: write access to its memory by pid [0-9]* refused" "$BROKER_LOG"
t0=$(date +%s%N)
ctl revoke "$KBD" >/dev/null
t1=$(date +%s%N)
echo "# devbrokerctl revoke returned after $(( (t1 - t0) / 1000000 )) ms"
DESC="revoke: state revoked, driver gone, usbhid holds the keyboard again with an input device"
ok wait_for 5 bash -c "[ \"\$(dev_field $KBD state)\" = revoked ] && ! kill -0 $pid 2>/dev/null && [ \"\$(basename \$(readlink /sys/bus/usb/devices/$KBD/driver))\" = usbhid ] && ls -d /sys/bus/usb/devices/$KBD/*/input/input* >/dev/null 2>&1"
echo "# revoke to usbhid bound again with its input device: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
DESC="bind after revoke: the driver runs again and holds the interface"
ok bash -c "ctl bind $KBD >/dev/null && wait_for 10 bash -c '[ \"\$(dev_field $KBD state)\" = running ] && [ \"\$(basename \$(readlink /sys/bus/usb/devices/$KBD/driver))\" = usbfs ]'"
DESC="unbind: the keyboard goes back to usbhid"
ok bash -c "ctl unbind $KBD >/dev/null && wait_for 5 bash -c '[ \"\$(basename \$(readlink /sys/bus/usb/devices/$KBD/driver))\" = usbhid ]'"
ctl bind "$KBD" >/dev/null
wait_for 10 bash -c "[ \"\$(dev_field $KBD state)\" = running ]"

# The manifests change so that one driver takes both of usb-net's
# interfaces: the old driver (interface 1) stops, the new one takes 0 and
# 1, and the old driver's give-back leaves the new driver's interfaces
# alone (review finding: it used to disconnect them).
NETDEV=${NET%%:*}
export -f iface_driver
oldnet=$(dev_field "$NET" pid)
sed -i 's/^USBInterface=0a$/USBInterface=0a\nUSBInterface=02/' "$BRK/sys/probe-net.conf"
kill -HUP "$BROKER_PID"
sleep 1
echo add > "/sys/bus/usb/devices/$NETDEV/uevent"	# any usb uevent makes devbrokerd rescan
NET0=$NETDEV:1.0
DESC="regrouped by a manifest change: the old driver stopped, the new one holds interfaces 0 and 1 (usbfs)"
ok wait_for 10 bash -c "! kill -0 $oldnet 2>/dev/null && [ \"\$(dev_field $NET0 state)\" = running ] && [ \"\$(dev_field $NET0 interfaces)\" = 0x3 ] && [ \"\$(iface_driver $NET0)\" = usbfs ] && [ \"\$(iface_driver $NET)\" = usbfs ]"
sleep 3	# past any give-back of the old driver
DESC="... and stays so: nothing took the new driver's interfaces back"
ok bash -c "[ \"\$(iface_driver $NET0)\" = usbfs ] && [ \"\$(iface_driver $NET)\" = usbfs ] && grep -q '$NET: removed: regrouped' $BROKER_LOG"
NET=$NET0

# Hot-unplug: the driver sees the device go, exits cleanly; the broker forgets it.
: > "$DBK_VM_DIR/net.out"
netpid=$(dev_field "$NET" pid)
qmp device_del '{"id": "net0"}' >/dev/null
DESC="hot-unplug: the driver's transfers fail with NO_DEVICE and it exits 0 by itself"
ok wait_for 10 bash -c "grep -q 'transfers fail: LIBUSB_ERROR_NO_DEVICE' $DBK_VM_DIR/net.out && grep -q '$NET: exited: driver probe-net (pid $netpid): exit 0' $BROKER_LOG"
DESC="hot-unplug: the broker's list no longer has the device"
ok wait_for 5 bash -c "! ctl --json list | grep -q '\"$NET\"'"

# A driver that never serves its FUSE mount must not hold devbrokerd
# (review finding: the daemon stat()ed the mount point and hung).
modprobe fuse
cat > "$BRK/sys/hang-mouse.conf" <<EOT
[Driver]
Name=hang-mouse
Exec=/bin/sleep 300
User=nobody
[Match]
USBInterface=03/01/02
[Frontend]
FUSEMount=/run/devbroker/hang/%d
EOT
kill -HUP "$BROKER_PID"
sleep 1
echo add > "/sys/bus/usb/devices/$MOUSE_DEV/uevent"
DESC="a driver that never answers its FUSE mount: devbrokerd still answers at once"
ok bash -c "wait_for 10 bash -c '[ \"\$(dev_field $MOUSE_DEV:1.0 state)\" = running ]' && for i in 1 2 3 4 5; do timeout 2 $CTL list >/dev/null || exit 1; sleep 0.5; done"
ctl revoke "$MOUSE_DEV:1.0" >/dev/null

# Hotplug in: a new keyboard is discovered and driven.
qmp device_add '{"driver": "usb-kbd", "id": "kbd1", "bus": "xhci.0"}' >/dev/null
DESC="hotplug: a second keyboard plugged in gets its own driver (instance 1)"
ok wait_for 15 bash -c "[ \$(ctl --json list | json \"len([d for d in r['devices'] if d['driver'] == 'probe-kbd' and d['state'] == 'running' and d['instance'] == 1])\") = 1 ]"

# A SIGKILLed devbrokerd: the next one stops the old driver and starts its own.
oldpid=$(dev_field "$KBD" pid)
kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
: > "$DBK_VM_DIR/kbd.out"
broker_start
DESC="a new devbrokerd stops the previous one's driver and drives the keyboard again"
ok wait_for 15 bash -c "! kill -0 $oldpid 2>/dev/null && p=\$(dev_field $KBD pid) && [ \"\$p\" != None ] && [ \"\$p\" != $oldpid ] && grep -q 'usb-probe: ready' $DBK_VM_DIR/kbd.out"

# The keyboard driver's package removed, then installed again (inotify: no SIGHUP).
kbds_usbhid() {
	local i
	for i in $(ls -d /sys/bus/usb/devices/*:* | xargs -n1 basename); do
		case $(cat "/sys/bus/usb/devices/$i/modalias") in
		*ic03isc01ip01*) [ "$(iface_driver "$i")" = usbhid ] || return 1 ;;
		esac
	done
}
export -f kbds_usbhid iface_driver
mv "$BRK/sys/probe-kbd.conf" "$BRK/probe-kbd.conf"
DESC="probe-kbd's manifest removed: its drivers stop and both keyboards are usbhid's again, devbrokerd still running"
ok wait_for 15 bash -c "[ \$(ctl --json list | json \"len([d for d in r['devices'] if d['driver'] == 'probe-kbd'])\") = 0 ] && kbds_usbhid && kill -0 $BROKER_PID"
mv "$BRK/probe-kbd.conf" "$BRK/sys/probe-kbd.conf"
DESC="installed again: both keyboards are driven by probe-kbd again"
ok wait_for 15 bash -c "[ \$(ctl --json list | json \"len([d for d in r['devices'] if d['driver'] == 'probe-kbd' and d['state'] == 'running'])\") = 2 ]"

broker_stop
DESC="devbrokerd stopped: every keyboard interface is usbhid's again"
ok bash -c "for i in \$(ls -d /sys/bus/usb/devices/*:* | xargs -n1 basename); do case \$(cat /sys/bus/usb/devices/\$i/modalias) in *ic03isc01ip01*) [ \"\$(basename \$(readlink /sys/bus/usb/devices/\$i/driver))\" = usbhid ] || exit 1 ;; esac; done"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG"; }
exit $FAILED
