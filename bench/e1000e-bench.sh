#!/bin/bash
# drivers/e1000e against the kernel's e1000e, side by side in one VM boot
# (TCG), on three identical QEMU e1000e NICs on one hub (nothing leaves
# the VM; vm-bench-e1000e makes them):
#   ours    NIC 1 under devbrokerd: drivers/e1000e behind the TAP dbk0
#           (10.89.0.1), in the root namespace
#   kernel  NIC 2 with the kernel's e1000e, in namespace "kern" (10.89.0.2)
#   peer    NIC 3 with the kernel's e1000e, in namespace "peer" (10.89.0.3):
#           the other end of every case, so that the two sides differ in
#           the driver of one NIC only
# Per case and side, in interleaved rounds (each case once on each side,
# back to back, the side going first alternating from round to round):
#   tcp-tx   iperf3 TCP from the side to the peer, RUNTIME s: Mbit/s
#   tcp-rx   iperf3 TCP from the peer to the side (-R): Mbit/s
#   udp-64   iperf3 UDP, 64-byte payloads at an offered 50 Mbit/s, to
#            the peer: packets per second received, and the loss
#   ping     PINGS pings of the peer, 10 ms apart: RTT p50 and p99
# and the guest's CPU time per case (/proc/stat: the window's wall time x
# CPUs - idle), split into the driver process and the rest.
# Then the TAP frontend's ceiling for ping (CEIL rounds, phase "ceiling",
# "ceiling" against "kernel"): tests/helpers/dbk-netecho, on NIC 1's grant
# (it never touches the NIC), answers the same pings itself through the
# same kind of TAP: a round trip through the frontend with no device, no
# wire and no peer behind it.  What it cannot reach, no driver behind a
# TAP can.
# Numbers only: it never fails on a ratio.  TAP; the table as diagnostics.
# usage: bench/e1000e-bench.sh [ROUNDS [RUNTIME [PINGS [CEIL_ROUNDS]]]]
#   E1000E_BENCH_CASES="ping tcp-tx": only these cases (default: all four)
#   E1000E_BENCH_ARGS="--poll always": appended to the driver's Exec=
#   E1000E_BENCH_CPU=N: the clients of both sides (ping, iperf3 -c), the
#     peer's iperf3 server, our driver and every e1000e vector on CPU N.
#     Unpinned, the kernel's interrupt spreading decides how many wakeups
#     of one round trip cross vCPUs (ours: the pinger wakes the driver, the
#     driver the pinger), and under TCG on a busy host each such wakeup
#     costs a host scheduling delay of the woken vCPU's thread.
#   E1000E_BENCH_PERF=1: a guest-wide profile of each run (bench_perf_start),
#     by symbol, as $DBK_VM_DIR/e1000e-bench/perf-ROUND-CASE-SIDE.txt (the
#     driver's own, deeper: .comm.txt, .chains.txt):
#     where our driver's CPU goes against the kernel's.  Profiling costs
#     CPU and throughput (the result set records perf=1): use
#     E1000E_BENCH_ROUNDS=1 and a case or two.
#   meson test -C BUILD --benchmark vm-bench-e1000e -v    (bench/run BUILD e1000e)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/e1000e-lib.sh
ROUNDS=${1:-3} RUNTIME=${2:-5} PINGS=${3:-200} CEIL=${4:-2}
PHASE=main
IF=dbk0
BENCH_NAME=e1000e-bench
BENCH_PERF_COMM=e1000e	# bench_perf_stop(): the driver's own profile
. bench/bench-lib.sh
[ "${E1000E_BENCH_PERF:-0}" = 1 ] && ! command -v perf > /dev/null && fail "E1000E_BENCH_PERF=1 needs perf (linux-perf)"
command -v iperf3 > /dev/null || fail "iperf3 is not installed (tools/install-deps)"

nics=($(e1000e_nics))
[ ${#nics[@]} = 3 ] || fail "want three e1000e NICs (vm-bench-e1000e), found ${#nics[@]}"
ours=${nics[0]}
e1000e_ours "$ours"
netns_nic "${nics[1]}" kern 10.89.0.2
KERN_IF=$NETNS_IF
netns_nic "${nics[2]}" peer 10.89.0.3
PEER_IF=$NETNS_IF

broker_setup
sed -e "s|^Exec=.*|& ${E1000E_BENCH_ARGS:-}|" "$DBK_MANIFESTS/e1000e.conf" > "$BRK/sys/e1000e.conf"
broker_start
ctl bind "$ours" > /dev/null
wait_for 60 bash -c "ip link show $IF > /dev/null 2>&1" || { tail -n 20 "$BROKER_LOG" | diag; fail "no $IF"; }
ip addr add 10.89.0.1/24 dev $IF
ip link set $IF up
DRV_PID=$(dev_field "$ours" pid)
for s in "" "ip netns exec kern"; do
	wait_for 30 $s busybox ping -c 1 -W 2 10.89.0.3 > /dev/null || fail "no route to the peer from '${s:-ours}'"
done
PIN=()
if [ -n "${E1000E_BENCH_CPU:-}" ]; then
	PIN=(taskset -c "$E1000E_BENCH_CPU")
	taskset -p -c "$E1000E_BENCH_CPU" "$DRV_PID" > /dev/null || fail "cannot pin the driver to CPU $E1000E_BENCH_CPU"
	for i in $(awk '/devbroker|eth[0-9]/ {sub(":", "", $1); print $1}' /proc/interrupts); do
		echo "$E1000E_BENCH_CPU" > "/proc/irq/$i/smp_affinity_list" || fail "cannot move IRQ $i to CPU $E1000E_BENCH_CPU"
	done
fi
tap ok "three NICs on one hub: ours $ours ($IF, driver pid $DRV_PID), the kernel's ${nics[1]} (kern), the peer ${nics[2]} (peer)"

# Where a UDP datagram can be lost between iperf3's sendto() and the
# peer's socket: the sender's interface (tx_dropped: for our TAP, a frame
# the driver did not read in time, tun's queue being full), the peer NIC
# (rx_missed_errors: no free receive descriptor, never counted by QEMU
# 7.2's e1000e, which holds such frames back in its own queue and drops
# them there uncounted; rx_fifo_errors, rx_dropped), the peer's UDP socket
# (RcvbufErrors; InErrors less those).  What iperf3 lost beyond these was
# lost inside QEMU.  losses NS IF: those counters, now.
losses() {
	local ns=() st=/sys/class/net/$2/statistics
	[ -n "$1" ] && ns=(ip netns exec "$1")
	"${ns[@]}" sh -c "cat $st/tx_dropped $st/rx_missed_errors $st/rx_fifo_errors $st/rx_dropped $st/rx_packets" | tr '\n' ' '
	"${ns[@]}" awk '/^Udp:/ { if (h) { print $6, $4; exit } h = 1 }' /proc/net/snmp
}

cpu() {	# cpu: "busy idle driver_ticks" now
	local c u n s idle iow irq sirq _ d=0
	read -r c u n s idle iow irq sirq _ < /proc/stat
	[ -r "/proc/$DRV_PID/stat" ] && d=$(awk '{print $14 + $15}' "/proc/$DRV_PID/stat")
	echo "$((u + n + s + irq + sirq)) $((idle + iow)) $d"
}
run() {	# run ROUND CASE SIDE
	local round=$1 case=$2 side=$3 ns=() c0 c1 t0 t1 rc=0
	[ "$side" = kernel ] && ns=(ip netns exec kern)
	ns+=("${PIN[@]}")
	progress "$PHASE round $round/$([ "$PHASE" = ceiling ] && echo "$CEIL" || echo "$ROUNDS"): $case on $side"
	pkill -f 'iperf3 -s' 2>/dev/null; sleep 0.2
	ip netns exec peer "${PIN[@]}" iperf3 -s -D > /dev/null 2>&1; sleep 0.5
	local sif=$IF sns= l0=() l1=()
	[ "$side" = kernel ] && { sif=$KERN_IF; sns=kern; }
	# The loss counters only where losses are reported: udp-64.
	[ "$case" = udp-64 ] && l0=($(losses "$sns" "$sif") $(losses peer "$PEER_IF"))
	[ "${E1000E_BENCH_PERF:-0}" = 1 ] && bench_perf_start "$round-$case-$side"
	c0=$(cpu); t0=${EPOCHREALTIME/./}
	case "$case" in
	tcp-tx) timeout $((RUNTIME + 30)) "${ns[@]}" iperf3 -c 10.89.0.3 -t "$RUNTIME" -J > "$OUT/run.json" 2>&1 || rc=$? ;;
	tcp-rx) timeout $((RUNTIME + 30)) "${ns[@]}" iperf3 -c 10.89.0.3 -t "$RUNTIME" -R -J > "$OUT/run.json" 2>&1 || rc=$? ;;
	udp-64) timeout $((RUNTIME + 30)) "${ns[@]}" iperf3 -c 10.89.0.3 -t "$RUNTIME" -u -l 64 -b 50M -J > "$OUT/run.json" 2>&1 || rc=$? ;;
	ping) timeout $((PINGS / 50 + 60)) "${ns[@]}" busybox ping -c "$PINGS" -i 0.01 -W 2 10.89.0.3 > "$OUT/run.json" 2>&1 || rc=$? ;;
	esac
	t1=${EPOCHREALTIME/./}; c1=$(cpu)
	bench_perf_stop
	[ "$case" = udp-64 ] && l1=($(losses "$sns" "$sif") $(losses peer "$PEER_IF"))
	python3 - "$OUT/run.json" "$round" "$case" "$side" "$rc" "$c0" "$c1" "$(( (t1 - t0) / 1000 ))" "$(nproc)" "$(getconf CLK_TCK)" \
		"${l0[*]}" "${l1[*]}" "$PHASE" \
		>> "$OUT/runs.jsonl" 2>> "$OUT/summary" <<-'EOF'
	import json, re, sys
	f, rnd, case, side, rc, c0, c1, ms, ncpu, hz, l0, l1, phase = sys.argv[1:]
	b0, i0, d0 = map(int, c0.split()); b1, i1, d1 = map(int, c1.split())
	rec = dict(phase=phase, round=int(rnd), case=case, side=side, rc=int(rc), wall_ms=int(ms))
	us = 1e6 / int(hz)
	wall = int(ms) * 1000.0 * int(ncpu)
	rec["cpu_ms"] = max(wall - (i1 - i0) * us, 0.0) / 1000.0
	rec["drv_cpu_ms"] = (d1 - d0) * us / 1000.0 if side != "kernel" else 0.0
	text = open(f).read()
	try:
	    if case == "ping":
	        rtt = sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", text))
	        rec["n"] = len(rtt)
	        rec["lost"] = None
	        m = re.search(r"(\d+) packets transmitted, (\d+) packets received", text)
	        if m:
	            rec["lost"] = int(m.group(1)) - int(m.group(2))
	        if rtt:
	            rec["p50_ms"] = rtt[len(rtt) // 2]
	            rec["p99_ms"] = rtt[min(len(rtt) - 1, int(len(rtt) * 0.99))]
	            rec["value"] = rec["p50_ms"]
	    else:
	        j = json.loads(text)
	        e = j["end"]
	        if case == "udp-64":
	            s = e["sum"]
	            rec["pps"] = s["packets"] * (1 - s["lost_percent"] / 100.0) / s["seconds"]
	            rec["lost_percent"] = s["lost_percent"]
	            rec["value"] = rec["pps"]
	            rec["cpu_us_per_pkt"] = rec["cpu_ms"] * 1000.0 / max(s["packets"], 1)
	            # losses(): the sender's then the peer's 5 interface counters and 2 UDP ones.
	            names = ["side_tx_dropped", None, None, None, None, None, None,
	                     None, "peer_rx_missed", "peer_rx_fifo", "peer_rx_dropped", "peer_rx_packets",
	                     "peer_udp_rcvbuf_errors", "peer_udp_in_errors"]
	            a, b = l0.split(), l1.split()
	            if len(a) == len(b) == len(names):
	                rec["loss_at"] = {n: int(y) - int(x) for n, x, y in zip(names, a, b) if n}
	                # InErrors counts every RcvbufErrors drop too: keep the others only.
	                rec["loss_at"]["peer_udp_in_errors"] -= rec["loss_at"]["peer_udp_rcvbuf_errors"]
	                rec["loss_at"]["iperf3_lost"] = s["lost_packets"]
	            else:
	                print("udp-64 %s: the loss counters could not be read (%d and %d values of %d)" % (
	                    side, len(a), len(b), len(names)), file=sys.stderr)
	        else:
	            s = e["sum_received"]
	            rec["mbps"] = s["bits_per_second"] / 1e6
	            rec["value"] = rec["mbps"]
	            rec["cpu_us_per_mb"] = rec["cpu_ms"] * 1000.0 / max(s["bytes"] / 1e6, 1e-9)
	except Exception as ex:
	    rec["error"] = "%s: %s" % (type(ex).__name__, text[-300:])
	print(json.dumps(rec))
	print("%s %s: %s, CPU %.0f ms (driver %.0f)%s" % (case, side,
	      rec.get("error") or ("%.2f" % rec.get("value", 0)), rec["cpu_ms"], rec["drv_cpu_ms"],
	      "; lost %d: %s" % (rec["loss_at"]["iperf3_lost"], ", ".join(
	          "%s %d" % (k, v) for k, v in rec["loss_at"].items() if v and k != "iperf3_lost"))
	      if "loss_at" in rec else ""), file=sys.stderr)
	EOF
	progress "  $(tail -n 1 "$OUT/summary")"
}
read -r -a CASES <<< "${E1000E_BENCH_CASES:-tcp-tx tcp-rx udp-64 ping}"
progress "$ROUNDS rounds, ${RUNTIME}s per iperf3 run, $PINGS pings; cases ${CASES[*]}; driver args '${E1000E_BENCH_ARGS:-}'${E1000E_BENCH_CPU:+; all on CPU $E1000E_BENCH_CPU}"
for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		if [ $((r % 2)) = 1 ]; then run "$r" "$c" ours; run "$r" "$c" kernel
		else run "$r" "$c" kernel; run "$r" "$c" ours; fi
	done
done
pkill -f 'iperf3 -s' 2>/dev/null
ALIVE=$(kill -0 "$DRV_PID" 2>/dev/null && [ "$(dev_field "$ours" pid)" = "$DRV_PID" ] && echo yes || echo no)
tap "$([ "$ALIVE" = yes ] && echo ok || echo 'not ok')" "the driver ran through every round without a restart (pid $DRV_PID)"
errs=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (lambda r: r["rc"] or "error" in r or "value" not in r)(json.loads(l))))' "$OUT/runs.jsonl")
tap "$([ "$errs" = 0 ] && echo ok || echo 'not ok')" "$(wc -l < "$OUT/runs.jsonl") runs, $errs with an error"
grep -E 'e1000e:.*(reset|hang|dropped)' "$BROKER_LOG" | tail -n 5 | diag
ctl unbind "$ours" > /dev/null 2>&1
broker_stop
# The driver's counters at its exit: frames, drops, MPC (frames the NIC had
# no receive descriptor for: a driver too slow to refill its ring), polling.
grep -E 'e1000e: ([0-9]+ frames received|poll |offloads: sent)' "$BROKER_LOG" | tail -n 3 | diag

# --- the TAP frontend's ceiling for ping: dbk-netecho answers as the peer -----
if [ "$CEIL" -gt 0 ] && [[ " ${CASES[*]} " == *" ping "* ]]; then
	rm -f "$BRK"/sys/*.conf
	{
		printf '[Driver]\nName=ceiling\nExec=%s 10.89.0.3\nDynamicUser=yes\nAutoBind=no\n' "$DBK_HELPERS/dbk-netecho"
		# BAR0 in the grant, never used: e1000e_firewall, still loaded from
		# the driver's manifest, grants this NIC only with it.
		printf '[Match]\nPCI=pci:v00008086d000010D3*\n[Frontend]\nNetwork=dbk%%i\n[Rights]\nBARs=0\n'
	} > "$BRK/sys/ceiling.conf"
	broker_start
	ctl bind "$ours" > /dev/null 2>&1
	wait_for 60 bash -c "ip link show $IF > /dev/null 2>&1" || { tail -n 20 "$BROKER_LOG" | diag; fail "ceiling: no $IF (dbk-netecho)"; }
	ip addr add 10.89.0.1/24 dev $IF && ip link set $IF up
	wait_for 30 busybox ping -c 1 -W 2 10.89.0.3 > /dev/null || { tail -n 20 "$BROKER_LOG" | diag; fail "ceiling: no answer through $IF"; }
	DRV_PID=$(dev_field "$ours" pid)
	[ -z "${E1000E_BENCH_CPU:-}" ] || taskset -p -c "$E1000E_BENCH_CPU" "$DRV_PID" > /dev/null
	tap ok "the TAP frontend's ceiling: dbk-netecho (pid $DRV_PID, on $ours's grant, never touching it) answers 10.89.0.3 through $IF"
	PHASE=ceiling
	for r in $(seq "$CEIL"); do
		if [ $((r % 2)) = 1 ]; then run "$r" ping ceiling; run "$r" ping kernel
		else run "$r" ping kernel; run "$r" ping ceiling; fi
	done
	ctl unbind "$ours" > /dev/null 2>&1
	broker_stop
fi
python3 - "$OUT/runs.jsonl" <<'EOF' | diag
import json, statistics as st, sys
allruns = [json.loads(l) for l in open(sys.argv[1])]
runs = [r for r in allruns if r.get("phase", "main") == "main"]
ceil = [r for r in allruns if r.get("phase") == "ceiling"]
def med(case, side, key):
    v = [r[key] for r in runs if r["case"] == case and r["side"] == side and r.get(key) is not None]
    return st.median(v) if v else float("nan")
def ratio(case, key, side="ours"):	# the median of the rounds' own ratios: each round's pair ran back to back
    v = []
    for rnd in sorted({r["round"] for r in runs}):
        a = [r.get(key) for r in runs if r["round"] == rnd and r["case"] == case and r["side"] == side]
        b = [r.get(key) for r in runs if r["round"] == rnd and r["case"] == case and r["side"] == "kernel"]
        if a and b and a[0] is not None and b[0]:
            v.append(a[0] / b[0])
    return st.median(v) if v else float("nan")
print("ours (drivers/e1000e, TAP) against the kernel's e1000e: medians over the rounds;")
print("ratio = ours / kernel, the median of the rounds' ratios")
print("  %-8s %-22s %12s %12s %7s" % ("case", "figure", "ours", "kernel", "ratio"))
rows = [("tcp-tx", "Mbit/s", "mbps"), ("tcp-tx", "CPU us per MB", "cpu_us_per_mb"),
        ("tcp-rx", "Mbit/s", "mbps"), ("tcp-rx", "CPU us per MB", "cpu_us_per_mb"),
        ("udp-64", "packets/s received", "pps"), ("udp-64", "loss %", "lost_percent"),
        ("udp-64", "CPU us per packet", "cpu_us_per_pkt"),
        ("ping", "RTT p50 ms", "p50_ms"), ("ping", "RTT p99 ms", "p99_ms"), ("ping", "lost", "lost")]
for case, name, key in rows:
    a, b = med(case, "ours", key), med(case, "kernel", key)
    print("  %-8s %-22s %12.3f %12.3f %7.2f" % (case, name, a, b, ratio(case, key)))
if ceil:
    runs = ceil
    print("the TAP frontend's ceiling (dbk-netecho answering through a TAP) against the kernel's e1000e:")
    for key in ("p50_ms", "p99_ms"):
        print("  %-8s %-22s %12.3f %12.3f %7.2f" % ("ping", "RTT " + key[:3] + " ms", med("ping", "ceiling", key),
                                                   med("ping", "kernel", key), ratio("ping", key, "ceiling")))
EOF
sed 's/^/raw /' "$OUT/runs.jsonl" | diag
tap ok "e1000e benchmark ran"
