#!/bin/bash
# In one VM boot: the latency of a key typed into QEMU's usb-kbd (QMP
# input-send-event, asked by the guest of tests/vm/qmp-agent) to its evdev
# event, through the kernel's usbhid ("kernel") and through drivers/usb-hid
# under devbrokerd ("ours": usbfs, libusb, uinput), in interleaved rounds
# (each round both paths, the one going first alternating).  Per round and
# path, N keystrokes (a press and a release each):
#  - request -> event: from the guest handing the request over to the
#    evdev timestamp; includes the agent's polling (20 ms steps), QMP and
#    QEMU, so only the difference between the paths means something;
#  - URB -> event: from the interrupt URB's completion (usbmon's timestamp)
#    to the evdev timestamp, the part that differs between the paths: in
#    the kernel (usbhid + hid-input) or through usbfs, our process and
#    uinput;
#  - the guest's CPU time per event (/proc/stat: the window's wall time x
#    CPUs - idle), the driver's process (ours) and the agent's polling
#    included.
# The raw runs (JSON lines) go to $DBK_VM_DIR/usb-hid-bench/runs.jsonl:
# bench/usb-bench-run makes the result set of them.  Numbers only: it never
# fails on a ratio.  TAP.
# usage: bench/usb-key-latency.sh [ROUNDS [KEYS]]   (5 rounds of 100 keystrokes)
# Boot: --xhci --qmp SOCK --host tests/vm/qmp-agent (bench/usb-bench-run hid)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
ROUNDS=${1:-5} KEYS=${2:-100}
BENCH_NAME=usb-hid-bench
. bench/bench-lib.sh
ER=$DBK_HELPERS/evdev-read
LAT=$DBK_HELPERS/usb-key-latency
KNAME="QEMU QEMU USB Keyboard"
ONAME="devbroker usb-hid keyboard (QEMU USB Keyboard)"
modprobe xhci_pci; modprobe usbhid; modprobe hid_generic; modprobe evdev; modprobe uinput
modprobe usbmon || fail "no usbmon"

# The xHCI enumerates its devices after modprobe returns.
wait_for 10 usb_iface '*ic03isc01ip01*' >/dev/null || fail "no usb-kbd in the bed"
kbd=$(usb_iface '*ic03isc01ip01*')
bus=$(cat "/sys/bus/usb/devices/${kbd%%:*}/busnum"); dev=$(cat "/sys/bus/usb/devices/${kbd%%:*}/devnum")
ADDR=$(printf 'Ii:%d:%03d:1' "$bus" "$dev")

broker_setup
sed -e '/^USBInterface=03\/01\/02/d' "$DBK_MANIFESTS/usb-hid.conf" > "$BRK/sys/usb-hid.conf"

kbd_on_usbhid() { [ "$(iface_driver "$kbd")" = usbhid ]; }
run() {	# run ROUND SIDE: N keystrokes through SIDE, with usbmon running
	local round=$1 side=$2 name=$KNAME node mon c0 c1 t0 t1 rc=0
	progress "round $round/$ROUNDS: $KEYS keys through $side"
	if [ "$side" = ours ]; then
		name=$ONAME
		broker_start
	else
		wait_for 20 kbd_on_usbhid || fail "usbhid did not get the keyboard back"
	fi
	wait_for 20 "$ER" --find "$name" >/dev/null || { tail -n 20 "$BROKER_LOG" | diag; fail "no input device '$name'"; }
	node=$("$ER" --find "$name")
	cat "/sys/kernel/debug/usb/usbmon/${bus}u" > "$OUT/usbmon" &
	mon=$!
	sleep 0.5
	c0=$(bench_cpu); t0=${EPOCHREALTIME/./}
	"$LAT" "$node" "$KEYS" > "$OUT/lat" || rc=$?
	t1=${EPOCHREALTIME/./}; c1=$(bench_cpu)
	sleep 0.2
	kill "$mon"; wait "$mon" 2>/dev/null
	[ "$side" = ours ] && broker_stop
	python3 - "$OUT" "$ADDR" "$round" "$side" "$rc" "$(( (t1 - t0) / 1000 ))" \
		"$(bench_cpu_ms "$c0" "$c1" $(( (t1 - t0) / 1000 )))" >> "$OUT/runs.jsonl" 2>> "$OUT/summary" <<-'PYEOF'
	import json, statistics, sys
	sys.path.insert(0, "bench")
	from bench_report_lib import pct
	out, addr, rnd, side, rc, ms, cpu_ms = sys.argv[1:]
	WRAP = 4096 * 1000000    # usbmon: (seconds & 0xfff) * 10^6 + microseconds

	def completions(path):
	    """(timestamp us, pressed?) of each interrupt-IN completion of the keyboard."""
	    res = []
	    for line in open(path, errors="replace"):
	        f = line.split()
	        if len(f) >= 8 and f[2] == "C" and f[3] == addr and f[4].startswith("0:") and f[6] == "=":
	            res.append((int(f[1]), "".join(f[7:])[4:6] == "04"))
	    return res

	def urb_to_event(comps, t_ev_ns, pressed):
	    """us from the last matching completion before the event to the event."""
	    t = (t_ev_ns // 1000) % WRAP
	    best = None
	    for ts, p in comps:
	        d = (t - ts) % WRAP
	        if p == pressed and d < 1000000 and (best is None or d < best):
	            best = d
	    return best

	rec = dict(round=int(rnd), case="key", side=side, rc=int(rc), wall_ms=int(ms), cpu_ms=float(cpu_ms))
	comps = completions(out + "/usbmon")
	req, urb = [], []
	for line in open(out + "/lat"):
	    k, t0, t1 = line.split()
	    req.append((int(t1) - int(t0)) / 1e6)
	    u = urb_to_event(comps, int(t1), k == "press")
	    if u is not None:
	        urb.append(u)
	rec["events"], rec["urb_matched"] = len(req), len(urb)
	if req:
	    rec["req_p50_ms"], rec["req_p90_ms"] = statistics.median(req), pct(sorted(req), 90)
	    rec["cpu_us_per_event"] = rec["cpu_ms"] * 1000.0 / len(req)
	if urb:
	    rec["urb_p50_us"], rec["urb_p90_us"] = statistics.median(urb), pct(sorted(urb), 90)
	    rec["urb_max_us"] = max(urb)
	    rec["value"] = rec["urb_p50_us"]
	else:
	    rec["error"] = "no URB completion matched an event (%d events, %d completions)" % (len(req), len(comps))
	print(json.dumps(rec))
	print("%s: %d events, URB->event p50 %s us, request->event p50 %s ms, CPU %.0f us per event" % (
	    side, len(req), rec.get("urb_p50_us"), rec.get("req_p50_ms"), rec.get("cpu_us_per_event", 0)),
	    file=sys.stderr)
	PYEOF
	progress "  $(tail -n 1 "$OUT/summary")"
}

progress "$ROUNDS rounds, $KEYS keystrokes per path and round"
bench_interleave kernel ours
bench_errors $((2 * ROUNDS))
diag < "$OUT/summary"
sed 's/^/raw /' "$OUT/runs.jsonl" | diag
tap ok "usb-hid benchmark ran"
