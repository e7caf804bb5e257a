#!/bin/bash
# drivers/nvme on a devbroker grant against the same driver on vfio-pci,
# side by side in one VM boot (q35 + intel-iommu, TCG): two identical QEMU
# NVMe controllers (bench/nvme-bench-run vfio makes them), one granted
# through devbroker (tests/helpers/dbk-launch: BAR0 mmap()ed, MSI-X, DMA in
# the grant's IOMMU domain), the other bound to vfio-pci (libdev's VFIO
# backend, type1), swapped from round to round: dbk0001 is devbroker's in
# odd rounds, vfio-pci's in even ones, so that a difference between the two
# controllers (the kernel's nvme against itself on two such controllers
# differed by 5 to 20% in bench/nvme-bench.sh's calibration) cancels out.
# Per round each side runs `nvme --bench SECONDS`: the driver's own I/O loop on one queue pair, no frontend in the way (4 KiB
# reads at depth 1 and 16, 128 KiB reads at depth 8), unprivileged (uid
# 4242, no capabilities), the side going first alternating.  What differs
# is only the backend under the same binary: the doorbells' and the
# registers' mappings, the interrupts' eventfds, the DMA mappings.  The raw
# runs (JSON lines: IOPS, MB/s, the driver's CPU per I/O) go to
# $DBK_VM_DIR/nvme-vfio-bench/runs.jsonl.  Numbers only: it never fails on
# a ratio.  TAP.
# The driver and both controllers' vectors run on one vCPU (CPU, default
# 0: /proc/irq/default_smp_affinity before the vectors are allocated, and
# taskset): unpinned, where the kernel put each backend's vectors decided
# whether a QD1 completion woke the driver on its own vCPU or across, which
# under TCG is worth a factor of 1.5 (seen: QD1 runs of both backends
# split into 5,100-5,500 and 7,200-9,000 IOPS).
# NVME_VFIO_BENCH_CASE=NAME runs one case only (nvme --bench-case);
# NVME_VFIO_BENCH_PERF=1 also profiles the whole guest through each run
# (perf record -a -g, the cpu-clock event: TCG has no PMU) and keeps each
# run's report, by symbol, as $DBK_VM_DIR/nvme-vfio-bench/perf-ROUND-SIDE.txt:
# where the two backends' time goes apart.
# usage: bench/nvme-vfio-bench.sh [ROUNDS [SECONDS [CPU|none]]]
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
ROUNDS=${1:-4} SECS=${2:-3} CPU=${3:-0}
BENCH_NAME=nvme-vfio-bench
. bench/bench-lib.sh
NVME_DRIVER=$(manifest_driver nvme)
CASEOPT=() NCASES=3
[ -n "${NVME_VFIO_BENCH_CASE:-}" ] && CASEOPT=(--bench-case "$NVME_VFIO_BENCH_CASE") NCASES=1
PERF=${NVME_VFIO_BENCH_PERF:-0}
[ "$PERF" = 1 ] && ! command -v perf > /dev/null && fail "NVME_VFIO_BENCH_PERF=1 needs perf (linux-perf)"
iommu_on || fail "no IOMMU: vfio-pci's type1 needs one (vm-run --iommu)"
modprobe nvme; modprobe vfio-pci || fail "no vfio-pci"

ctrl_bdf() {	# ctrl_bdf SERIAL: the PCI address of the controller the kernel's nvme names so
	local s
	for s in /sys/bus/pci/devices/*/nvme/nvme*/serial; do
		[ "$(tr -d ' ' < "$s")" = "$1" ] && { basename "$(dirname "$(dirname "$(dirname "$s")")")"; return 0; }
	done
	return 1
}
wait_for 30 ctrl_bdf dbk0002 > /dev/null || fail "no controller dbk0002 (bench/nvme-bench-run vfio)"
A=$(ctrl_bdf dbk0001) || fail "no controller dbk0001"
B=$(ctrl_bdf dbk0002)
dbk_load
DBK='' VFIO=''
place() {	# place ROUND: devbroker's controller DBK and vfio-pci's VFIO for the round
	local d=$A v=$B
	[ $(($1 % 2)) = 1 ] || { d=$B; v=$A; }
	[ "$d" = "$DBK" ] && return 0
	[ -z "$VFIO" ] || vfio_unbind "$VFIO" || fail "cannot unbind $VFIO from vfio-pci"
	[ -z "$DBK" ] || dbk_unbind "$DBK" || fail "cannot unbind $DBK from devbroker"
	dbk_bind "$d" || fail "cannot bind $d to devbroker"
	wait_for 10 test -e "/dev/devbroker/$d" || fail "no /dev/devbroker/$d"
	vfio_bind "$v" || fail "cannot bind $v to vfio-pci"
	chown $DRV_UID:$DRV_UID "/dev/vfio/$(iommu_group "$v")"
	DBK=$d VFIO=$v
}
PIN=()
if [ "$CPU" != none ]; then
	printf '%x\n' $((1 << CPU)) > /proc/irq/default_smp_affinity || fail "cannot steer new vectors to CPU $CPU"
	PIN=(taskset -c "$CPU")
fi
place 1
tap ok "dbk0001 $A, dbk0002 $B: on devbroker and vfio-pci in odd rounds, swapped in even ones; the driver $NVME_DRIVER; on CPU $CPU"

run() {	# run ROUND SIDE
	local round=$1 side=$2 rc=0 out=$BENCH_OUT/run.out err=$BENCH_OUT/run.err ctrl
	place "$round"
	ctrl=$VFIO; [ "$side" = dbk ] && ctrl=$DBK
	progress "round $round/$ROUNDS: $side ($ctrl)"
	[ "$PERF" = 1 ] && bench_perf_start "$round-$side"
	if [ "$side" = dbk ]; then
		BDF=$DBK
		if launch "b$round" --bars 1 --mmap 1 --msix --max-vectors 2 --dma-quota $((32 << 20)) -- \
			timeout $((SECS * 3 + 120)) "${PIN[@]}" "$NVME_DRIVER" --bench "$SECS" "${CASEOPT[@]}" --queues 1; then
			wait "$LPID" || rc=$?
		else
			rc=125
			kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null
		fi
		cp "/tmp/launch-b$round.out" "$out"; cp "/tmp/launch-b$round.err" "$err"
	else
		timeout $((SECS * 3 + 120)) prlimit --memlock=$((64 << 20)) \
			setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
			--bounding-set=-all --no-new-privs -- \
			"${PIN[@]}" "$NVME_DRIVER" --vfio "$VFIO" --bench "$SECS" "${CASEOPT[@]}" --queues 1 > "$out" 2> "$err" || rc=$?
	fi
	bench_perf_stop
	python3 - "$out" "$round" "$side" "$rc" "$ctrl" >> "$BENCH_OUT/runs.jsonl" 2>> "$BENCH_OUT/summary" <<-'PYEOF'
	import json, sys
	path, rnd, side, rc, ctrl = sys.argv[1:]
	got = 0
	for line in open(path, errors="replace"):
	    if not line.startswith("{"):
	        continue
	    r = json.loads(line)
	    r.update(round=int(rnd), side=side, rc=int(rc), ctrl=ctrl, value=r["iops"])
	    print(json.dumps(r))
	    print("%s %s: %.0f IOPS, %.1f MB/s, driver CPU %.1f us per I/O (%d interrupts, %d polled)" % (
	        r["case"], side, r["iops"], r["mbps"], r["drv_us_per_io"], r["irqs"], r["polled"]),
	        file=sys.stderr)
	    got += 1
	if not got:
	    print(json.dumps(dict(round=int(rnd), side=side, rc=int(rc) or 1, case="none",
	                          error="no figures (status %s)" % rc)))
	    print("%s: no figures (status %s)" % (side, rc), file=sys.stderr)
	PYEOF
	[ "$rc" = 0 ] || { progress "  $side failed (status $rc)"; tail -n 10 "$err" | diag; }
	progress "  $(tail -n 1 "$BENCH_OUT/summary")"
}

progress "$ROUNDS rounds, $SECS s per case"
bench_interleave dbk vfio
bench_errors $((2 * NCASES * ROUNDS))
python3 - "$BENCH_OUT/runs.jsonl" <<'PYEOF' | diag
import json, statistics as st, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print("medians        devbroker IOPS   vfio IOPS   ratio   CPU us/IO dbk  vfio")
for case in ("read-4k-qd1", "read-4k-qd16", "read-128k-qd8"):
    def med(side, key):
        v = [r[key] for r in runs if r.get("case") == case and r["side"] == side and key in r
             and not r["rc"]]
        return st.median(v) if v else float("nan")
    a, b = med("dbk", "iops"), med("vfio", "iops")
    print("  %-13s %12.0f %11.0f %7.2f   %8.1f %6.1f" % (case, a, b, a / b if b else float("nan"),
          med("dbk", "drv_us_per_io"), med("vfio", "drv_us_per_io")))
PYEOF
sed 's/^/raw /' "$BENCH_OUT/runs.jsonl" | diag
vfio_unbind "$VFIO"; dbk_unbind "$DBK"
tap ok "nvme-vfio benchmark ran"
