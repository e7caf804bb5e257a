#!/bin/bash
# libdev's frontends against their kernel-native equivalents, in one boot,
# in interleaved rounds (issue 16's "Frontends" rows).  Each frontend is
# served by a test driver under devbrokerd, which owns the frontend (it
# makes the nbd device, the TAP, the FUSE mount, the CUSE node, the uinput
# device) and hands it over; the driver runs on the boot's edu device but
# never touches it (edu-driver, for CUSE, does: setup only).  One phase per
# frontend, devbrokerd started with that driver alone for the phase; in each
# round both sides run back to back, the kernel's first in odd rounds:
#  - nbd: 4 KiB O_DIRECT random reads at depth 1 (bench/frontend-bench.c's
#    loop) on tests/helpers/dbk-ramdisk's disk (Block=, a tmpfs file behind
#    dbk_block_*) against the kernel's brd ramdisk (or a loop device on
#    tmpfs without brd), both written in full first, $MB MiB;
#  - TAP: ping round trips through dbk-netecho's interface (Network=: it
#    answers ICMP echo itself through dbk_net_*) against a veth pair whose
#    peer is in a network namespace (the kernel answers);
#  - FUSE file: 4 KiB random reads of the same tmpfs file, through
#    tests/helpers/dbk-fe-driver's FUSE file (FUSEMount=, dbk_fuse_file_*,
#    O_DIRECT: every read reaches the driver; buffered, the page cache
#    would answer after the first pass) against the file read directly
#    (buffered: tmpfs has no O_DIRECT, its page cache is its storage);
#  - CUSE: an 8-byte read(2) round trip on edu-driver's /dev/edu0 (no
#    factorial asked: the driver answers end of file at once, no device
#    access) and on dbk-fe-driver's bare /dev/dbkfe0 (cuse-bare: its read
#    callback only returns 0) against the same read of /dev/zero: the
#    kernel side is only a floor, no kernel driver does what a CUSE device
#    does;
#  - uinput: dbk-fe-driver emits a key press or release every 2 ms
#    through dbk_input_emit()/dbk_input_sync(), its send time in MSC_SCAN;
#    the latency from that time to the evdev reader's read returning.
#    No kernel-native equivalent: ours alone.
# Each run lasts SECONDS (pings: 200 a second, as many).  Per run: p50,
# p90, p99 (latency, microseconds), operations per second, and the guest's
# CPU time per operation (/proc/stat: wall time x CPUs - idle, over the
# client's loop, bench/frontend-bench.c's, or over the ping run; the
# driver's process, the kernel's work and the client's all count).  The raw runs (JSON lines) go to
# $DBK_VM_DIR/frontend-bench/runs.jsonl: bench/frontend-bench-run makes the
# result set of them.  Numbers only: it never fails on a ratio.  TAP.
# usage: bench/frontend-bench.sh [ROUNDS [SECONDS]]   (3 rounds, 3 s per run;
#   FRONTEND_BENCH_MB: the disks' and the file's size, 64 MiB;
#   FRONTEND_BENCH_CASES: the phases, "nbd tap fuse cuse cuse-bare uinput")
# Boot: --edu 1 (bench/frontend-bench-run)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
ROUNDS=${1:-3} SECS=${2:-3}
MB=${FRONTEND_BENCH_MB:-64}
PINGS=$((SECS * 200))
CASES=" ${FRONTEND_BENCH_CASES:-nbd tap fuse cuse cuse-bare uinput} "
want() { [[ $CASES == *" $1 "* ]]; }
NRUNS=0	# the runs expected, for bench_errors
BENCH_NAME=frontend-bench
. bench/bench-lib.sh
FB=$DBK_HELPERS/frontend-bench
D=/tmp/dbk-fe
[ -n "$(edu_bdfs)" ] || fail "no edu device (boot with --edu 1)"

# run_one ROUND SIDE CASE COUNT CMD...: CMD prints frontend-bench's JSON (or,
# for ping, busybox ping's output: COUNT pings); one JSON line in runs.jsonl.
jfield() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" <<< "$2"; }
run_one() {
	local round=$1 side=$2 case=$3 count=$4 out c0 c1 t0 t1 rc=0 cpu
	shift 4
	c0=$(bench_cpu); t0=${EPOCHREALTIME/./}
	out=$("$@" 2>&1) || rc=$?
	t1=${EPOCHREALTIME/./}; c1=$(bench_cpu)
	if [ -n "$(jfield loop_ms "$out")" ]; then	# the client's loop alone
		cpu=$(bench_cpu_ms "$(jfield idle0 "$out")" "$(jfield idle1 "$out")" "$(jfield loop_ms "$out")")
	else
		cpu=$(bench_cpu_ms "$c0" "$c1" $(( (t1 - t0) / 1000 )))
	fi
	python3 - "$round" "$side" "$case" "$rc" "$(( (t1 - t0) / 1000 ))" "$cpu" "$count" "$out" \
		>> "$BENCH_OUT/runs.jsonl" 2>> "$BENCH_OUT/summary" <<-'PYEOF'
	import json, re, statistics, sys
	sys.path.insert(0, "bench")
	from bench_report_lib import pct
	rnd, side, case, rc, ms, cpu_ms, count, out = sys.argv[1:]
	rec = dict(round=int(rnd), case=case, side=side, rc=int(rc), wall_ms=int(ms), cpu_ms=float(cpu_ms))
	if case == "tap-ping":
	    t = sorted(float(x) * 1000 for x in re.findall(r"time=([0-9.]+) ms", out))
	    if t:
	        rec.update(n=len(t), p50_us=statistics.median(t), p90_us=pct(t, 90), p99_us=pct(t, 99),
	                   min_us=t[0], max_us=t[-1],
	                   lost=int(count) - len(t))
	else:
	    try:
	        rec.update(json.loads(out.strip().splitlines()[-1]))
	    except (ValueError, IndexError):
	        pass
	    if rec.get("errors"):
	        rec["error"] = "%d operations failed" % rec["errors"]
	if rec.get("n") and "p50_us" in rec and int(rc) == 0:
	    rec["value"] = rec["p50_us"]
	    rec["cpu_us_per_op"] = rec["cpu_ms"] * 1000.0 / rec["n"]
	elif "error" not in rec:
	    rec["error"] = out[-300:]
	print(json.dumps(rec))
	print("%s %s: p50 %s us, %s ops/s, CPU %s us per op%s" % (
	    case, side, "%.1f" % rec["p50_us"] if "p50_us" in rec else "-",
	    "%.0f" % rec["ops_per_s"] if "ops_per_s" in rec else "-",
	    "%.1f" % rec["cpu_us_per_op"] if "cpu_us_per_op" in rec else "-",
	    "; " + rec["error"] if "error" in rec else ""), file=sys.stderr)
	PYEOF
	progress "  $(tail -n 1 "$BENCH_OUT/summary")"
}

fe_manifest() {	# fe_manifest NAME EXEC FRONTEND-LINE...: the phase's driver, alone
	local name=$1 exec=$2
	shift 2
	rm -f "$BRK"/sys/*.conf
	{
		printf '[Driver]\nName=%s\nExec=%s\nDynamicUser=no\nUser=4242\nRestart=on-failure\n' "$name" "$exec"
		printf '[Match]\nPCI=pci:v00001234d000011E8*\n[Frontend]\n'
		printf '%s\n' "$@"
	} > "$BRK/sys/$name.conf"
}

# The backing files on a tmpfs of their own (mounted before devbrokerd
# starts: the drivers' mount namespaces get it), written in full (a hole
# reads cheaper than a page).
broker_setup
modprobe tun; modprobe fuse; modprobe cuse; modprobe nbd; modprobe uinput; modprobe evdev
mkdir -p "$D" && mount -t tmpfs -o size=$((3 * MB + 64))m dbk-fe "$D" && chmod 0755 "$D" || fail "tmpfs at $D"
dd if=/dev/urandom of="$D/disk.img" bs=1M count="$MB" status=none && chmod 0666 "$D/disk.img" || fail "disk.img"
dd if=/dev/urandom of="$D/file.img" bs=1M count="$MB" status=none && chmod 0666 "$D/file.img" || fail "file.img"
echo normal > "$D/mode"; chmod 0644 "$D/mode"
progress "$ROUNDS rounds, $SECS s per run ($PINGS pings); $MB MiB disks and file"

# ---- nbd: dbk-ramdisk (Block=) against brd ----
if want nbd; then
if modprobe brd rd_nr=1 rd_size=$((MB * 1024)) && [ -b /dev/ram0 ]; then
	KDISK=/dev/ram0 KDISK_WHAT="brd (/dev/ram0)"
else
	dd if=/dev/zero of="$D/loop.img" bs=1M count="$MB" status=none
	KDISK=$(losetup --find --show "$D/loop.img") KDISK_WHAT="loop on tmpfs ($KDISK)"
fi
dd if=/dev/urandom of="$KDISK" bs=1M count="$MB" oflag=direct status=none || fail "writing $KDISK"
BLK=/dev/devbroker/block/fe0
fe_manifest ramdisk "$DBK_HELPERS/dbk-ramdisk $D" "Block=fe%i" "BlockQueues=1"
broker_start
wait_for 60 test -b "$BLK" || { tail -n 30 "$BROKER_LOG" | diag; fail "no $BLK"; }
echo "# nbd: $BLK -> $(readlink "$BLK") against $KDISK_WHAT"
run() {	# run ROUND SIDE
	progress "nbd round $1/$ROUNDS: $2"
	run_one "$1" "$2" nbd-4k-randread 0 "$FB" read "$([ "$2" = ours ] && echo "$BLK" || echo "$KDISK")" \
		"$SECS" 4096 $((MB << 20)) direct
}
bench_interleave kernel ours
broker_stop
NRUNS=$((NRUNS + 2 * ROUNDS))
fi

# ---- TAP: dbk-netecho (Network=) against a veth pair into a namespace ----
if want tap; then
fe_manifest netecho "$DBK_HELPERS/dbk-netecho 10.77.0.2" "Network=dbk%i"
broker_start
wait_for 30 ip link show dbk0 > /dev/null 2>&1 || { tail -n 30 "$BROKER_LOG" | diag; fail "no dbk0"; }
ip addr add 10.77.0.1/24 dev dbk0 && ip link set dbk0 up
ip netns add dbkfe && ip link add fev0 type veth peer name fev1 netns dbkfe &&
	ip addr add 10.78.0.1/24 dev fev0 && ip link set fev0 up &&
	ip -n dbkfe addr add 10.78.0.2/24 dev fev1 && ip -n dbkfe link set fev1 up &&
	ip -n dbkfe link set lo up || fail "the veth pair"
wait_for 20 busybox ping -c 1 -W 2 10.77.0.2 > /dev/null || { tail -n 30 "$BROKER_LOG" | diag; fail "no answer through dbk0"; }
wait_for 20 busybox ping -c 1 -W 2 10.78.0.2 > /dev/null || fail "no answer through fev0"
run() {
	progress "TAP round $1/$ROUNDS: $2"
	run_one "$1" "$2" tap-ping "$PINGS" busybox ping -c "$PINGS" -i 0.005 -W 2 \
		"$([ "$2" = ours ] && echo 10.77.0.2 || echo 10.78.0.2)"
}
bench_interleave kernel ours
broker_stop
ip netns del dbkfe
NRUNS=$((NRUNS + 2 * ROUNDS))
fi

# ---- FUSE file: dbk-fe-driver fuse (FUSEMount=) against the tmpfs file ----
if want fuse; then
MNT=/run/devbroker/fe
fe_manifest fefile "$DBK_HELPERS/dbk-fe-driver fuse $D/file.img" "FUSEMount=$MNT"
broker_start
wait_for 60 test -f "$MNT/disk" || { tail -n 30 "$BROKER_LOG" | diag; fail "no $MNT/disk"; }
cat "$D/file.img" > /dev/null	# the native side's pages: in tmpfs already, its storage
run() {
	progress "FUSE round $1/$ROUNDS: $2"
	if [ "$2" = ours ]; then
		run_one "$1" ours fuse-4k-randread 0 "$FB" read "$MNT/disk" "$SECS" 4096 $((MB << 20)) direct
	else
		run_one "$1" kernel fuse-4k-randread 0 "$FB" read "$D/file.img" "$SECS" 4096 $((MB << 20)) buffered
	fi
}
bench_interleave kernel ours
broker_stop
NRUNS=$((NRUNS + 2 * ROUNDS))
fi

# ---- CUSE: edu-driver's /dev/edu0, then dbk-fe-driver's bare /dev/dbkfe0,
# against /dev/zero (a floor) ----
cuse_phase() {	# cuse_phase CASE NODE
	CCASE=$1 CNODE=$2
	broker_start
	wait_for 60 test -c "$CNODE" || { tail -n 30 "$BROKER_LOG" | diag; fail "no $CNODE"; }
	run() {
		progress "CUSE ($CNODE) round $1/$ROUNDS: $2"
		run_one "$1" "$2" "$CCASE" 0 "$FB" read "$([ "$2" = ours ] && echo "$CNODE" || echo /dev/zero)" \
			"$SECS" 8 0 cdev
	}
	bench_interleave kernel ours
	broker_stop
	NRUNS=$((NRUNS + 2 * ROUNDS))
}
if want cuse; then
	rm -f "$BRK"/sys/*.conf
	edu_manifest "$BRK/sys/edu.conf"
	cuse_phase cuse-read /dev/edu0
fi
if want cuse-bare; then
	fe_manifest fecuse "$DBK_HELPERS/dbk-fe-driver cuse dbkfe%i" "CUSE=dbkfe%i" "CUSEMode=0666"
	cuse_phase cuse-bare-read /dev/dbkfe0
fi

# ---- uinput: dbk-fe-driver input, emit to evdev read; ours alone ----
if want uinput; then
fe_manifest feinput "$DBK_HELPERS/dbk-fe-driver input 500" "UInput=yes"
broker_start
ER=$DBK_HELPERS/evdev-read
wait_for 30 "$ER" --find "devbroker frontend bench" > /dev/null || { tail -n 30 "$BROKER_LOG" | diag; fail "no input device"; }
NODE=$("$ER" --find "devbroker frontend bench")
for r in $(seq "$ROUNDS"); do
	progress "uinput round $r/$ROUNDS: ours"
	run_one "$r" ours uinput-event 0 "$FB" evdev "$NODE" "$SECS"
done
broker_stop
NRUNS=$((NRUNS + ROUNDS))
fi

umount "$D" 2> /dev/null
bench_errors "$NRUNS"
diag < "$BENCH_OUT/summary"
sed 's/^/raw /' "$BENCH_OUT/runs.jsonl" | diag
tap ok "frontend benchmark ran"
