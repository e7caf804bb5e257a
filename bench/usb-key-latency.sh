#!/bin/bash
# In one VM boot: the latency of a key typed into QEMU's usb-kbd (QMP
# input-send-event, asked by the guest of tests/vm/qmp-agent) to its evdev
# event, first through the kernel's usbhid, then through drivers/usb-hid
# under devbrokerd (usbfs, libusb, uinput).  Two numbers for each path:
#  - request -> event: from the guest handing the request over to the
#    evdev timestamp; includes the agent's polling (20 ms steps), QMP and
#    QEMU, so only the difference between the paths means something;
#  - URB -> event: from the interrupt URB's completion (usbmon's timestamp)
#    to the evdev timestamp, the part that differs between the paths: in
#    the kernel (usbhid + hid-input) or through usbfs, our process and
#    uinput.
# Not a timed test: numbers under TCG are only comparable to each other.
# Boot: --xhci --qmp SOCK --host tests/vm/qmp-agent
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
N=${DBK_BENCH_N:-100}
ER=$DBK_HELPERS/evdev-read
LAT=$DBK_HELPERS/usb-key-latency
modprobe xhci_pci; modprobe usbhid; modprobe hid_generic; modprobe evdev; modprobe uinput
modprobe usbmon || fail "no usbmon"

# The xHCI enumerates its devices after modprobe returns.
wait_for 10 usb_iface '*ic03isc01ip01*' >/dev/null || fail "no usb-kbd in the bed"
kbd=$(usb_iface '*ic03isc01ip01*')
bus=$(cat "/sys/bus/usb/devices/${kbd%%:*}/busnum"); dev=$(cat "/sys/bus/usb/devices/${kbd%%:*}/devnum")

measure() {	# measure NAME EVDEV-NAME: N keystrokes, with usbmon running
	local node mon
	wait_for 20 "$ER" --find "$2" >/dev/null || fail "no input device '$2'"
	node=$("$ER" --find "$2")
	cat "/sys/kernel/debug/usb/usbmon/${bus}u" > "$DBK_VM_DIR/usbmon-$1.txt" &
	mon=$!
	sleep 0.5
	"$LAT" "$node" "$N" > "$DBK_VM_DIR/lat-$1.txt" || fail "usb-key-latency on $node ($1) failed"
	sleep 0.2
	kill "$mon"; wait "$mon" 2>/dev/null
}

wait_for 10 test "$(basename "$(readlink "/sys/bus/usb/devices/$kbd/driver")")" = usbhid
measure usbhid "QEMU QEMU USB Keyboard"

broker_setup
sed -e '/^USBInterface=03\/01\/02/d' \
	"$DBK_MANIFESTS/usb-hid.conf" > "$BRK/sys/usb-hid.conf"
broker_start
measure usb-hid "devbroker usb-hid keyboard (QEMU USB Keyboard)"
broker_stop

python3 - "$DBK_VM_DIR" "$N" "$(printf 'Ii:%d:%03d:1' "$bus" "$dev")" <<'PYEOF'
import statistics, sys
vmdir, n, addr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
WRAP = 4096 * 1000000    # usbmon: (seconds & 0xfff) * 10^6 + microseconds

def completions(path):
    """(timestamp us, pressed?) of each interrupt-IN completion of the keyboard."""
    out = []
    for line in open(path):
        f = line.split()
        if len(f) >= 8 and f[2] == "C" and f[3] == addr and f[4].startswith("0:") and f[6] == "=":
            report = "".join(f[7:])
            out.append((int(f[1]), report[4:6] == "04"))
    return out

def urb_to_event(comps, t_ev_ns, pressed):
    """us from the last matching completion before the event to the event."""
    t = (t_ev_ns // 1000) % WRAP
    best = None
    for ts, p in comps:
        d = (t - ts) % WRAP
        if p == pressed and d < 1000000 and (best is None or d < best):
            best = d
    return best

def stats(xs):
    xs = sorted(xs)
    return (statistics.median(xs), xs[int(0.9 * (len(xs) - 1))], statistics.mean(xs), xs[0], xs[-1])

rows = {}
for path in ("usbhid", "usb-hid"):
    comps = completions("%s/usbmon-%s.txt" % (vmdir, path))
    for kind in ("press", "release"):
        req, urb = [], []
        for line in open("%s/lat-%s.txt" % (vmdir, path)):
            k, t0, t1 = line.split()
            if k != kind:
                continue
            req.append((int(t1) - int(t0)) / 1e6)
            u = urb_to_event(comps, int(t1), kind == "press")
            if u is not None:
                urb.append(u)
        rows["%s %s req->event ms" % (path, kind)] = (stats(req), len(req))
        if urb:
            rows["%s %s URB->event us" % (path, kind)] = (stats(urb), len(urb))
print("# %d keystrokes (press + release) through each path, one boot, TCG guest" % n)
print("# %-34s %5s %9s %9s %9s %9s %9s" % ("", "n", "median", "p90", "mean", "min", "max"))
for k, (s, cnt) in rows.items():
    print("# %-34s %5d %9.2f %9.2f %9.2f %9.2f %9.2f" % ((k, cnt) + s))
for kind in ("press", "release"):
    for unit in ("req->event ms", "URB->event us"):
        a, b = rows.get("usb-hid %s %s" % (kind, unit)), rows.get("usbhid %s %s" % (kind, unit))
        if a and b:
            print("# ratio usb-hid / usbhid, %-7s %-14s (median): %.2f  (%+.2f)" %
                  (kind, unit, a[0][0] / b[0][0], a[0][0] - b[0][0]))
PYEOF
echo "ok - benchmark ran"
