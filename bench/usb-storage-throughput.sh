#!/bin/bash
# Sequential throughput of QEMU's usb-storage stick (xHCI, TCG), the same
# device in one boot, in interleaved rounds: through the kernel's
# usb-storage ("kernel": /dev/sdX) and through drivers/usb-storage under
# devbrokerd as a FUSE file ("fuse": the manifest's default) and as a disk
# on the block frontend ("block": Block=, the kernel's nbd).  Cases: read
# and write with each side's default data per command (1 MiB for this
# SuperSpeed stick, both), and read-120k and write-120k with 120 KiB
# (Linux's limit below SuperSpeed).  dd with O_DIRECT (no page cache on
# either side), $MB MiB per run; MB/s (10^6 bytes/s) and the guest's CPU
# time per MB (/proc/stat: the window's wall time x CPUs - idle, the
# driver's process included).  Each round runs every side once, its four
# cases in a row, the kernel first in odd rounds and last in even ones, the
# FUSE file always before the disk (the host may be shared: a round's runs
# share its load).  The raw runs (JSON lines) go to
# $DBK_VM_DIR/usb-storage-bench/runs.jsonl: bench/usb-bench-run makes the
# result set of them.  Numbers only: it never fails on a ratio.  TAP.
# usage: bench/usb-storage-throughput.sh [ROUNDS [MB]]
# Boot: --xhci (bench/usb-bench-run storage)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
ROUNDS=${1:-5} MB=${2:-16}	# MB: no more than the stick holds (bench/usb-bench-run: 64)
BENCH_NAME=usb-storage-bench
. bench/bench-lib.sh
for m in xhci_pci usb_storage sd_mod fuse; do modprobe "$m"; done

stick_disk() {	# the kernel's /dev/sdX of the stick (08/06/50)
	local d b
	for d in /sys/bus/usb/devices/*:*; do
		case "$(cat "$d/modalias" 2>/dev/null)" in *ic08isc06ip50*) ;; *) continue ;; esac
		for b in "$d"/host*/target*/*/block/*; do
			[ -b "/dev/$(basename "$b")" ] && echo "/dev/$(basename "$b")" && return 0
		done
	done
	return 1
}

one() {	# one ROUND SIDE CASE FILE: a dd run, a JSON line in runs.jsonl
	local round=$1 side=$2 case=$3 f=$4 out c0 c1 t0 t1 rc=0
	c0=$(bench_cpu); t0=${EPOCHREALTIME/./}
	if [ "${case%-*}" = read ]; then
		out=$(dd if="$f" of=/dev/null bs=1M count="$MB" iflag=direct 2>&1) || rc=$?
	else
		out=$(dd if=/dev/zero of="$f" bs=1M count="$MB" oflag=direct conv=fsync,notrunc 2>&1) || rc=$?
	fi
	t1=${EPOCHREALTIME/./}; c1=$(bench_cpu)
	python3 - "$round" "$side" "$case" "$rc" "$(( (t1 - t0) / 1000 ))" \
		"$(bench_cpu_ms "$c0" "$c1" $(( (t1 - t0) / 1000 )))" "$out" >> "$OUT/runs.jsonl" 2>> "$OUT/summary" <<-'PYEOF'
	import json, re, sys
	rnd, side, case, rc, ms, cpu_ms, out = sys.argv[1:]
	rec = dict(round=int(rnd), case=case, side=side, rc=int(rc), wall_ms=int(ms), cpu_ms=float(cpu_ms))
	# dd: "16777216 bytes (17 MB, 16 MiB) copied, 1.23 s, 13.6 MB/s"
	m = re.search(r"^(\d+) bytes .* copied, ([0-9.]+) s,", out, re.M)
	if m and int(rc) == 0 and float(m.group(2)) > 0:
	    mb = int(m.group(1)) / 1e6
	    rec["mbps"] = rec["value"] = mb / float(m.group(2))
	    rec["cpu_us_per_mb"] = rec["cpu_ms"] * 1000.0 / mb
	else:
	    rec["error"] = out[-300:]
	print(json.dumps(rec))
	print("%s %s: %s MB/s, CPU %.0f ms" % (case, side, "%.2f" % rec["mbps"] if "mbps" in rec
	      else rec["error"], rec["cpu_ms"]), file=sys.stderr)
	PYEOF
	progress "  $(tail -n 1 "$OUT/summary")"
}

kernel_side() {	# kernel_side ROUND: the kernel's usb-storage, its default then 120 KiB
	local sd q
	progress "round $1/$ROUNDS: kernel"
	wait_for 20 stick_disk >/dev/null || fail "the kernel did not get the stick back"
	sd=$(stick_disk); q=/sys/block/${sd#/dev/}/queue/max_sectors_kb
	one "$1" kernel read "$sd"; one "$1" kernel write "$sd"
	echo 120 > "$q"
	one "$1" kernel read-120k "$sd"; one "$1" kernel write-120k "$sd"
	echo "$KMAX" > "$q"
}

DISK=/run/devbroker/usb-storage/DBK0STICK/disk
BLK=/dev/devbroker/block/usb-DBK0STICK
ours_side() {	# ours_side ROUND: drivers/usb-storage, a FUSE file then a disk
	local side opt f
	for side in fuse block; do
		progress "round $1/$ROUNDS: $side"
		for opt in "" "--max-kib 120"; do
			# The installed manifest and driver (tests/vm/guest-install.sh).
			sed -e "s|^Exec=.*|Exec=$(manifest_exec usb-storage) $opt|" \
				-e "s|^AutoBind=no|AutoBind=yes|" \
				-e "$([ $side = block ] && echo 's|^FUSEMount=.*|Block=usb-%s|')" \
				"$DBK_MANIFESTS/usb-storage.conf" > "$BRK/sys/usb-storage.conf"
			broker_start
			f=$DISK; [ $side = block ] && f=$BLK
			wait_for 60 test -e "$f" || { tail -n 30 "$BROKER_LOG" | diag; fail "no $f"; }
			if [ -z "$opt" ]; then
				one "$1" "$side" read "$f"; one "$1" "$side" write "$f"
			else
				one "$1" "$side" read-120k "$f"; one "$1" "$side" write-120k "$f"
			fi
			broker_stop
			wait_for 20 stick_disk >/dev/null
		done
	done
}

wait_for 20 stick_disk >/dev/null || fail "the kernel made no disk for the stick"
KMAX=$(cat "/sys/block/$(basename "$(stick_disk)")/queue/max_sectors_kb")
broker_setup
progress "$ROUNDS rounds, $MB MiB per dd run; the kernel's max_sectors_kb $KMAX"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then kernel_side "$r"; ours_side "$r"
	else ours_side "$r"; kernel_side "$r"; fi
done
FMAX=$(grep -o 'up to [0-9]* blocks per command' "$BROKER_LOG" | head -n1 | awk '{ print $3 / 2 }')
echo "# data per command: the kernel's default $KMAX KiB, the driver's ${FMAX:-?} KiB"
bench_errors $((12 * ROUNDS))
python3 - "$OUT/runs.jsonl" <<'PYEOF' | diag
import json, statistics as st, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def med(case, side, key="mbps"):
    v = [r[key] for r in runs if r["case"] == case and r["side"] == side and r.get(key) is not None]
    return st.median(v) if v else float("nan")
def ratio(case, a, b):	# the median of the rounds' own ratios: each round's runs shared its load
    v = []
    for rnd in sorted({r["round"] for r in runs}):
        x = [r.get("mbps") for r in runs if (r["round"], r["case"], r["side"]) == (rnd, case, a)]
        y = [r.get("mbps") for r in runs if (r["round"], r["case"], r["side"]) == (rnd, case, b)]
        if x and y and x[0] and y[0]:
            v.append(x[0] / y[0])
    return st.median(v) if v else float("nan")
print("MB/s: medians over the rounds; fuse/k, block/k: medians of the rounds' own ratios")
print("                   kernel     fuse    block   fuse/k  block/k   CPU us/MB kernel fuse block")
for case in ("read", "write", "read-120k", "write-120k"):
    print("  %-12s %8.1f %8.1f %8.1f %7.2fx %7.2fx   %6.0f %6.0f %6.0f" % (
        case, med(case, "kernel"), med(case, "fuse"), med(case, "block"),
        ratio(case, "fuse", "kernel"), ratio(case, "block", "kernel"),
        med(case, "kernel", "cpu_us_per_mb"), med(case, "fuse", "cpu_us_per_mb"),
        med(case, "block", "cpu_us_per_mb")))
PYEOF
sed 's/^/raw /' "$OUT/runs.jsonl" | diag
tap ok "usb-storage benchmark ran"
