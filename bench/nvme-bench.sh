#!/bin/bash
# drivers/nvme against the kernel's nvme, side by side in one VM boot (TCG),
# on two identical QEMU NVMe controllers (bench/nvme-bench-run makes them:
# same model, same size of image, serials dbk0001 and dbk0002):
#   ours    controller A (dbk0001) under devbrokerd: drivers/nvme serving its
#           namespace through the block frontend (/dev/devbroker/block/dbknvme0,
#           an nbd disk)
#   kernel  controller B (dbk0002) with the kernel's nvme (/dev/nvmeXn1)
# Before A is bound, the kernel's nvme runs on both (kernelA against
# kernelB, BENCH_CAL rounds): the two controllers are the same device, so
# ours-on-A against kernel-on-B compares drivers, not controllers.
# After ours, the frontend's ceiling (CEIL rounds, "ceiling" against
# "kernel"): tests/helpers/dbk-ramdisk serves a tmpfs file of the
# namespace's size through the same frontend (Block=, nvme.conf's
# BlockQueues=) on controller A's grant, which it never touches: the nbd
# path with no device and no driver work behind it (a pread from memory per
# request).  What the ceiling cannot reach, no driver behind nbd can.
#
# fio (libaio, direct=1, one job, --time_based) per case:
#   randread-4k-qd1, randread-4k-qd32, read-128k-qd8, write-128k-qd8
# in interleaved rounds: each case runs once on each side, back to back,
# the side going first alternating from round to round.  Per run: IOPS,
# MB/s, completion latency p50/p99 (fio's JSON), and the guest's CPU time
# per I/O over a window inside the steady state (it opens 1 s after the
# disk's first I/O and closes 3 s before fio's end): the window's wall
# time x CPUs - idle - iowait (/proc/stat; its tick-sampled user+system+irq
# fall short under TCG on a busy host, and are kept as cpu_tick_us_per_io)
# over the I/Os that /sys/block/DEV/stat counts in the same window; split into the nvme driver process (/proc/PID/stat,
# all its threads), fio's processes and the rest (the kernel: nbd, the
# block layer, interrupts, kworkers).  All guest CPU counts.
#
# Numbers only: it never fails on a ratio.  TAP, the table as diagnostics,
# the raw runs in $DBK_VM_DIR/nvme-bench.json (kept on the host with the
# console log) and as "# raw" lines.  Progress goes live to the VM's output.
# usage: bench/nvme-bench.sh [ROUNDS [RUNTIME [CAL_ROUNDS [CEIL_ROUNDS]]]]
#   NVME_BENCH_CASES="randread-4k-qd1": only these cases (default: all four)
#   NVME_BENCH_ARGS="--poll always": appended to the driver's Exec=
#   NVME_BENCH_QUEUES=N: the manifest's BlockQueues= (NBD connections) for ours
#   NVME_BENCH_PERF=1: each run profiled, guest-wide (bench_perf_start: perf
#     record -a -g on cpu-clock), kept by symbol as perf-PHASE-ROUND-CASE-SIDE.txt
#     beside the raw runs, the driver's own deeper (.comm.txt: every symbol;
#     .chains.txt: the call chains); for finding where the time goes, not for a result
#     set to publish (perf's own cost is in the run's CPU figures)
#   bench/nvme-bench-run BUILD   (meson test -C BUILD --benchmark vm-bench-nvme -v)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
ROUNDS=${1:-4} RUNTIME=${2:-8} CAL=${3:-1} CEIL=${4:-2}
RAMP=2
VEN=0x1b36 DEV=0x0010
LINK=/dev/devbroker/block/dbknvme0
RAW=$DBK_VM_DIR/nvme-bench.json
PERF=${NVME_BENCH_PERF:-0}
BENCH_PERF_COMM=nvme	# bench_perf_stop(): the driver's own profile
[ "$PERF" = 1 ] && ! command -v perf > /dev/null && { echo "NVME_BENCH_PERF=1 needs perf (linux-perf)" >&2; exit 2; }
HZ=$(getconf CLK_TCK)
read -r -a CASES <<< "${NVME_BENCH_CASES:-randread-4k-qd1 randread-4k-qd32 read-128k-qd8 write-128k-qd8}"
for c in "${CASES[@]}"; do
	case "$c" in randread-4k-qd1|randread-4k-qd32|read-128k-qd8|write-128k-qd8) ;;
	*) echo "nvme-bench.sh: unknown case '$c'" >&2; exit 2 ;; esac
done
BENCH_NAME=nvme-bench
. bench/bench-lib.sh

fio_args() {	# fio_args CASE: its fio options
	case "$1" in
	randread-4k-qd1) echo "--rw=randread --bs=4k --iodepth=1 --norandommap --randrepeat=0" ;;
	randread-4k-qd32) echo "--rw=randread --bs=4k --iodepth=32 --norandommap --randrepeat=0" ;;
	read-128k-qd8) echo "--rw=read --bs=128k --iodepth=8" ;;
	write-128k-qd8) echo "--rw=write --bs=128k --iodepth=8" ;;
	esac
}

ctrls() {	# every QEMU NVMe controller's PCI address
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && basename "$d"
	done
}
kctrl() {	# kctrl BDF: the kernel's nvmeX of a controller
	local c
	for c in /sys/bus/pci/devices/$1/nvme/nvme*; do [ -e "$c" ] && { basename "$c"; return 0; }; done
	return 1
}
kdisk() {	# kdisk BDF: the kernel's namespace block device of a controller
	local b
	for b in /sys/bus/pci/devices/$1/nvme/nvme*/nvme*n1; do
		[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}
export -f kdisk

# --- the two controllers, both the kernel's first ---------------------------
modprobe nvme || fail "modprobe nvme"
BDFS=$(ctrls)
[ "$(wc -w <<<"$BDFS")" = 2 ] || fail "want two NVMe controllers $VEN:$DEV (bench/nvme-bench-run), found: $BDFS"
A= B=
for b in $BDFS; do
	[ -e "/sys/bus/pci/devices/$b/driver" ] || echo "$b" > /sys/bus/pci/drivers_probe
	wait_for 30 kdisk "$b" > /dev/null || fail "the kernel's nvme made no disk for $b"
	case "$(cat "/sys/bus/pci/devices/$b/nvme/$(kctrl "$b")/serial" | tr -d ' ')" in
	dbk0001) A=$b ;;
	dbk0002) B=$b ;;
	esac
done
[ -n "$A" ] && [ -n "$B" ] || fail "no controllers with serials dbk0001 and dbk0002"
DA=$(kdisk "$A") DB=$(kdisk "$B")
desc() {	# desc BDF: what must be the same on both controllers
	local c=/sys/bus/pci/devices/$1/nvme/$(kctrl "$1") d
	d=$(kdisk "$1"); d=${d#/dev/}
	echo "model=$(tr -s ' ' < "$c/model") fw=$(cat "$c/firmware_rev") size=$(cat "/sys/block/$d/size") lbs=$(cat "/sys/block/$d/queue/logical_block_size") hwq=$(ls "/sys/block/$d/mq" | wc -l) maxkb=$(cat "/sys/block/$d/queue/max_hw_sectors_kb")"
}
tap "$([ "$(desc "$A")" = "$(desc "$B")" ] && echo ok || echo 'not ok')" \
	"two identical controllers: A $A ($DA), B $B ($DB): $(desc "$A")"

# --- one measured run ---------------------------------------------------------
# A window's counters: /proc/stat's first line (ticks, all CPUs) and the
# disk's completed reads and writes, read with bash builtins (no fork), then
# every task's /proc/PID/stat (one cat): the driver's, fio's and the rest's
# ticks, by process.
sample() {	# sample DISK SNAPSHOT: sets S_BUSY S_IDLE S_ALL S_IOS S_T (ms) S_CTXT
	local c u n s idle iow irq sirq st r w k v
	read -r c u n s idle iow irq sirq st _ < /proc/stat
	# Context switches, guest-wide: the wakeups an I/O costs.
	while read -r k v _; do [ "$k" = ctxt ] && { S_CTXT=$v; break; }; done < /proc/stat
	read -r r _ _ _ w _ < "/sys/block/$1/stat"
	S_T=${EPOCHREALTIME/./}
	cat /proc/[0-9]*/stat > "$2" 2>/dev/null
	cat /proc/interrupts > "$2.irq"
	# Every thread's context switches: whose sleeps and wakeups they are.
	grep -H -E '^(Name|(non)?voluntary_ctxt_switches):' /proc/[0-9]*/task/*/status > "$2.cs" 2>/dev/null
	: > "$2.thr"; [ -z "$DRV_PID" ] || cat /proc/"$DRV_PID"/task/*/stat > "$2.thr" 2>/dev/null
	S_BUSY=$((u + n + s + irq + sirq)) S_IDLE=$((idle + iow)) S_ALL=$((u + n + s + idle + iow + irq + sirq + st))
	S_IOS=$((r + w)) S_T=$((S_T / 1000))
}
sleep_until() {	# sleep_until USEC: until EPOCHREALTIME (in microseconds) reaches it
	local now=${EPOCHREALTIME/./}
	[ "$1" -gt "$now" ] && sleep "$(printf '%d.%06d' $((($1 - now) / 1000000)) $((($1 - now) % 1000000)))"
	return 0
}
disk_ios() { local r w; read -r r _ _ _ w _ < "/sys/block/$1/stat"; echo $((r + w)); }

DRV_PID=
run() {	# run PHASE ROUND CASE SIDE DEVICE
	local phase=$1 round=$2 case=$3 side=$4 dev=$5 disk fpid io0 t0 t1 b0 a0 i0 w0 l0 x0 alive rc end r w
	disk=$(basename "$(readlink -f "$dev")")
	progress "$phase round $round/$(case $phase in cal) echo "$CAL" ;; ceiling) echo "$CEIL" ;; *) echo "$ROUNDS" ;; esac): $case on $side ($disk)"
	[ "$PERF" = 1 ] && bench_perf_start "$phase-$round-$case-$side"
	io0=$(disk_ios "$disk")
	t0=${EPOCHREALTIME/./}
	# shellcheck disable=SC2046
	fio --name="$case" --filename="$dev" --ioengine=libaio --direct=1 $(fio_args "$case") \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --time_based --output-format=json \
		> "$OUT/fio.json" 2> "$OUT/fio.err" &
	fpid=$!
	# The window opens 1 s after the disk's first I/O (fio set up, queues full).
	end=$((SECONDS + 30))
	while read -r r _ _ _ w _ < "/sys/block/$disk/stat" && [ $((r + w)) = "$io0" ] &&
		[ $SECONDS -lt $end ]; do sleep 0.05; done
	t1=${EPOCHREALTIME/./}
	# fio ends about RAMP + RUNTIME after its first I/O (seen late on a
	# busy host): the window closes 3 s before that, however long the
	# sampling and the sleeps took; a window that outlived fio's job
	# (its process gone from the last snapshot) is marked and left out.
	sleep_until $((t1 + 1000000))
	sample "$disk" "$OUT/snap0"; b0=$S_BUSY a0=$S_ALL i0=$S_IOS w0=$S_T l0=$S_IDLE x0=$S_CTXT
	sleep_until $((t1 + (RAMP + RUNTIME - 3) * 1000000))
	sample "$disk" "$OUT/snap1"
	kill -0 "$fpid" 2>/dev/null && alive=1 || alive=0
	wait "$fpid"; rc=$?
	bench_perf_stop
	[ "$rc" = 0 ] || { progress "fio exit $rc: $(tail -n 3 "$OUT/fio.err" | tr '\n' ' ')"; }
	python3 - "$OUT/fio.json" "$phase" "$round" "$case" "$side" "$disk" "$rc" "$alive" "$HZ" \
		$((S_BUSY - b0)) $((S_ALL - a0)) $((S_IOS - i0)) $((S_T - w0)) $(((t1 - t0) / 1000)) \
		"$OUT/snap0" "$OUT/snap1" "${DRV_PID:-0}" $((S_IDLE - l0)) "$(nproc)" $((S_CTXT - x0)) >> "$OUT/runs.jsonl" 2> "$OUT/summary" <<-'EOF'
	import json, re, sys
	a = sys.argv[1:]
	rec = dict(phase=a[1], round=int(a[2]), case=a[3], side=a[4], disk=a[5], fio_rc=int(a[6]),
	           window_ok=a[7] == "1", hz=int(a[8]), busy_ticks=int(a[9]), all_ticks=int(a[10]),
	           window_ios=int(a[11]), window_ms=int(a[12]), setup_ms=int(a[13]),
	           idle_ticks=int(a[17]), ncpu=int(a[18]), ctxt=int(a[19]))
	def snap(path):	# pid -> (comm, utime + stime)
	    out = {}
	    for line in open(path, errors="replace"):
	        i, j = line.find(" ("), line.rfind(") ")
	        if i < 0 or j < 0:
	            continue
	        f = line[j + 2:].split()
	        out[int(line[:i])] = (line[i + 2:j], int(f[11]) + int(f[12]))
	    return out
	s0, s1 = snap(a[14]), snap(a[15])
	# Every fio process of the window's start still there at its end.
	rec["window_ok"] = rec["window_ok"] and all(p in s1 for p, (c, _) in s0.items() if c == "fio")
	drv = int(a[16])
	def label(pid, comm):	# the driver's process by its pid, the rest by name without numbers
	    return "DRIVER(nvme)" if pid == drv else re.sub(r"/\d+(:\d+)?|\d+$", "", comm)
	by = {}
	rec["drv_ticks"] = rec["fio_ticks"] = 0
	for pid, (comm, t) in s1.items():
	    d = t - s0[pid][1] if pid in s0 else t
	    if d <= 0:
	        continue
	    if pid == drv:
	        rec["drv_ticks"] += d
	    elif comm == "fio":
	        rec["fio_ticks"] += d
	    name = label(pid, comm)
	    by[name] = by.get(name, 0) + d
	rec["top"] = sorted(by.items(), key=lambda kv: -kv[1])[:8]
	# Interrupts in the window by source (CAL/RES/TLB: IPIs), and the driver's threads.
	def irq(path):
	    d = {}
	    lines = open(path).read().splitlines()
	    ncpu = len(lines[0].split())
	    for l in lines[1:]:
	        f = l.split()
	        name = f[0].rstrip(":")
	        if name.isdigit() and len(f) > 1 + ncpu:
	            name = f[-1]	# the device's: nvme1q2, devbroker[0000:00:04.0]-1, ...
	        d[name] = d.get(name, 0) + sum(int(x) for x in f[1:1 + ncpu] if x.isdigit())
	    return d
	i0, i1 = irq(a[14] + ".irq"), irq(a[15] + ".irq")
	rec["irqs"] = {k: v - i0.get(k, 0) for k, v in i1.items() if v - i0.get(k, 0) > 0}
	t0, t1 = snap(a[14] + ".thr"), snap(a[15] + ".thr")
	rec["drv_thread_ticks"] = [t1[t][1] - t0.get(t, (0, 0))[1] for t in sorted(t1)]
	def cs(path):	# tid -> [pid, comm, voluntary, involuntary]
	    d = {}
	    for l in open(path, errors="replace"):
	        f, k, v = l.rstrip("\n").split(":", 2)
	        e = d.setdefault(int(f.split("/")[4]), [int(f.split("/")[2]), "", 0, 0])
	        if k == "Name":
	            e[1] = v.strip()
	        else:
	            e[2 if k.startswith("vol") else 3] = int(v)
	    return d
	c0, c1 = cs(a[14] + ".cs"), cs(a[15] + ".cs")
	by = {}
	for tid, (pid, comm, vol, inv) in c1.items():
	    b = c0.get(tid, [pid, comm, 0, 0])[2:]
	    name = label(pid, comm)
	    e = by.setdefault(name, [0, 0])
	    e[0] += vol - b[0]
	    e[1] += inv - b[1]
	rec["ctxt_by"] = sorted(([k] + v for k, v in by.items() if v[0] + v[1] > 0), key=lambda e: -(e[1] + e[2]))[:6]
	try:
	    j = json.load(open(a[0]))["jobs"][0]
	    d = j["write"] if j["write"]["total_ios"] > j["read"]["total_ios"] else j["read"]
	    pc = d["clat_ns"].get("percentile", {})
	    rec.update(iops=d["iops"], mbps=d["bw_bytes"] / 1e6, ios=d["total_ios"],
	               p50_us=pc.get("50.000000", 0) / 1e3, p99_us=pc.get("99.000000", 0) / 1e3,
	               mean_us=d["clat_ns"]["mean"] / 1e3, errors=j["error"],
	               fio_usr=j["usr_cpu"], fio_sys=j["sys_cpu"])
	except Exception as e:
	    rec.update(iops=0, mbps=0, ios=0, p50_us=0, p99_us=0, mean_us=0, errors=-1, parse_error=str(e))
	# Guest CPU: the window's wall time x CPUs - idle - iowait.  Under TCG
	# on a busy host the guest loses timer ticks, so /proc/stat's tick-sampled
	# user/system/irq fall short; idle (NO_HZ) and the tasks' utime+stime
	# (scaled to their measured runtime) are measured (bench/nvme-bench-report.py).
	w = rec["window_ios"] or 1
	us = 1e6 / rec["hz"]
	wall = rec["window_ms"] * 1000.0 * rec["ncpu"]
	busy = max(wall - rec["idle_ticks"] * us, 0.0)
	rec.update(cpu_us_per_io=busy / w, cpu_tick_us_per_io=rec["busy_ticks"] * us / w,
	           drv_us_per_io=rec["drv_ticks"] * us / w, fio_us_per_io=rec["fio_ticks"] * us / w,
	           busy_pct=100.0 * busy / max(wall, 1.0), ctxt_per_io=rec["ctxt"] / w)
	print(json.dumps(rec))
	r = rec
	print("%s: %.0f IOPS, %.1f MB/s, p50 %.0f us, p99 %.0f us, CPU %.0f us/IO (driver %.0f, fio %.0f), busy %.0f%%; window %d ms, %d I/Os; top ticks: %s" % (
	    r["side"], r["iops"], r["mbps"], r["p50_us"], r["p99_us"], r["cpu_us_per_io"],
	    r["drv_us_per_io"], r["fio_us_per_io"], r["busy_pct"], r["window_ms"], r["window_ios"],
	    " ".join("%s=%d" % kv for kv in r["top"][:5])), file=sys.stderr)
	print("  interrupts per I/O: %s; context switches per I/O: %.2f; driver threads' ticks: %s" % (", ".join(
	    "%s %.2f" % (k, v / w) for k, v in sorted(r["irqs"].items(), key=lambda kv: -kv[1])[:6]),
	    r["ctxt_per_io"], r["drv_thread_ticks"]), file=sys.stderr)
	print("  context switches per I/O (voluntary/involuntary): %s" % ", ".join(
	    "%s %.2f/%.2f" % (k, v / w, i / w) for k, v, i in r["ctxt_by"]), file=sys.stderr)
	EOF
	while read -r l; do progress "  $l"; done < "$OUT/summary"
}

round() {	# round PHASE R SIDE1 DEV1 SIDE2 DEV2: every case on both sides, alternating who goes first
	local phase=$1 r=$2 c
	for c in "${CASES[@]}"; do
		if [ $((r % 2)) = 1 ]; then
			run "$phase" "$r" "$c" "$3" "$4"; run "$phase" "$r" "$c" "$5" "$6"
		else
			run "$phase" "$r" "$c" "$5" "$6"; run "$phase" "$r" "$c" "$3" "$4"
		fi
	done
}

progress "$ROUNDS rounds (+ $CAL calibration, $CEIL of the frontend's ceiling), ${RUNTIME}s + ${RAMP}s ramp per fio run, $((${#CASES[@]} * 2 * (ROUNDS + CAL + CEIL))) runs; cases ${CASES[*]}; driver args '${NVME_BENCH_ARGS:-}'"
# --- calibration: the kernel's nvme on both controllers -----------------------
for r in $(seq "$CAL"); do round cal "$r" kernelA "$DA" kernelB "$DB"; done

# --- controller A to drivers/nvme (devbrokerd, the installed manifest) -------
broker_setup
sed -e "s|^Exec=.*|& ${NVME_BENCH_ARGS:-}|" \
	-e "${NVME_BENCH_QUEUES:+s|^BlockQueues=.*|BlockQueues=$NVME_BENCH_QUEUES|}" \
	"$DBK_MANIFESTS/nvme.conf" > "$BRK/sys/nvme.conf"
broker_start
SIZE=$(blockdev --getsize64 "$DA")
ctl bind "$A" > /dev/null 2>&1
wait_for 60 bash -c '[ -b "$0" ] && [ "$(blockdev --getsize64 "$0")" = "$1" ]' "$LINK" "$SIZE" ||
	{ tail -n 30 "$BROKER_LOG" | diag; fail "devbrokerctl bind $A: no $LINK of $SIZE bytes"; }
NBD=$(basename "$(readlink -f "$LINK")")
DRV_PID=$(dev_field "$A" pid)
tap ok "devbrokerctl bind $A: drivers/nvme (pid $DRV_PID) serves $LINK -> /dev/$NBD; the kernel keeps $B ($DB)"
grep -E 'serving namespace|queue pair' "$BROKER_LOG" | tail -n 3 | diag
for d in "$NBD" "${DB#/dev/}"; do
	q=/sys/block/$d/queue
	echo "/dev/$d: hw queues $(ls "/sys/block/$d/mq" | wc -l), nr_requests $(cat $q/nr_requests), scheduler '$(cat $q/scheduler)', max_sectors_kb $(cat $q/max_sectors_kb), rotational $(cat $q/rotational)"
done | diag

# --- the rounds: ours against the kernel's, interleaved ----------------------
for r in $(seq "$ROUNDS"); do round main "$r" ours "$LINK" kernel "$DB"; done
ALIVE=$(kill -0 "$DRV_PID" 2>/dev/null && [ "$(dev_field "$A" pid)" = "$DRV_PID" ] && echo yes || echo no)
OURS_PID=$DRV_PID
ctl unbind "$A" > /dev/null 2>&1
broker_stop
# The driver's own counters at its exit: commands, interrupts, polling.
grep -E 'queue [0-9]+: [0-9]+ commands' "$BROKER_LOG" | diag

# --- the frontend's ceiling: the same nbd path, no device behind it -----------
if [ "$CEIL" -gt 0 ]; then
	QUEUES=$(sed -n 's/^BlockQueues=\([0-9]*\).*/\1/p' "$DBK_MANIFESTS/nvme.conf")
	CD=/tmp/dbk-ceiling
	LINKC=/dev/devbroker/block/ceiling0
	mkdir -p "$CD" && mount -t tmpfs -o size=$((SIZE / 1048576 + 16))m dbk-ceiling "$CD" && chmod 0755 "$CD" ||
		fail "a tmpfs for the ceiling's disk"
	# Mounted before devbrokerd starts (the driver's mount namespace gets
	# it) and written in full: a hole reads cheaper than a page.
	dd if=/dev/urandom of="$CD/disk.img" bs=1M count=$((SIZE / 1048576)) status=none &&
		chmod 0666 "$CD/disk.img" || fail "the ceiling's disk image"
	rm -f "$BRK"/sys/*.conf
	printf '[Driver]\nName=ceiling\nExec=%s %s\nDynamicUser=no\nUser=4242\nAutoBind=no\n[Match]\nPCI=pci:v%08Xd%08X*\n[Frontend]\nBlock=ceiling%%i\nBlockQueues=%s\n' \
		"$DBK_HELPERS/dbk-ramdisk" "$CD" $((VEN)) $((DEV)) "${QUEUES:-1}" > "$BRK/sys/ceiling.conf"
	broker_start
	ctl bind "$A" > /dev/null 2>&1
	wait_for 60 bash -c '[ -b "$0" ] && [ "$(blockdev --getsize64 "$0")" = "$1" ]' "$LINKC" "$((SIZE / 1048576 * 1048576))" ||
		{ tail -n 30 "$BROKER_LOG" | diag; fail "devbrokerctl bind $A: no $LINKC (dbk-ramdisk)"; }
	DRV_PID=$(dev_field "$A" pid)
	tap ok "the frontend's ceiling: dbk-ramdisk (pid $DRV_PID, on $A's grant, never touching it) serves $LINKC -> $(readlink -f "$LINKC") from memory, ${QUEUES:-1} connection(s)"
	for r in $(seq "$CEIL"); do round ceiling "$r" ceiling "$LINKC" kernel "$DB"; done
	ctl unbind "$A" > /dev/null 2>&1
	broker_stop
	DRV_PID=
	umount "$CD"
fi

cp "$OUT/runs.jsonl" "$RAW"
tap "$([ "$ALIVE" = yes ] && echo ok || echo 'not ok')" "the driver ran through every round without a restart (pid $OURS_PID)"
errs=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (lambda r: r["fio_rc"] or r["errors"])(json.loads(l))))' "$RAW")
late=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (lambda r: not r["window_ok"] or not r["window_ios"])(json.loads(l))))' "$RAW")
tap "$([ "$errs" = 0 ] && echo ok || echo 'not ok')" "$(wc -l < "$RAW") fio runs, $errs with an error"
echo "# $late run(s) whose CPU window saw no I/O or outlived fio (a stall): their CPU figures are left out"
dmesg | grep -E 'nbd|nvme' | grep -vE 'detected capacity|pci function|queues|bogus' | tail -n 8 | diag
python3 "$DBK_SRC/bench/nvme-bench-report.py" "$RAW" | diag
sed 's/^/raw /' "$RAW" | diag
echo "# raw runs (JSON lines): $RAW (the host keeps it beside the console log)"
tap ok "nvme benchmark ran"
