# The TAP, progress and CPU helpers of the side-by-side benchmarks
# (nvme-bench.sh, e1000e-bench.sh, usb-key-latency.sh,
# usb-storage-throughput.sh).  Source after tests/vm/lib.sh, with
# BENCH_NAME set: the raw runs go to BENCH_OUT=$DBK_VM_DIR/$BENCH_NAME/runs.jsonl
# (emptied here; OUT too, for the caller, unless a library of its own moves
# it: tests/vm/edu-lib.sh's launch() does).
BENCH_OUT=$DBK_VM_DIR/$BENCH_NAME
OUT=$BENCH_OUT
mkdir -p "$BENCH_OUT"
: > "$BENCH_OUT/runs.jsonl"
N=0
tap() { N=$((N + 1)); echo "$1 $N - $2"; }
diag() { sed 's/^/# /'; }
# Progress, live: straight to the serial line the VM's output goes to
# (tools/vm-init), as TAP comments; guest-run shows our stdout only at the end.
progress() {
	local l="# $BENCH_NAME $(date +%T): $*"
	{ echo "$l" > /dev/ttyS1; } 2>/dev/null
	echo "$l" >> "$BENCH_OUT/progress"
}
# bench_cpu: the idle clock ticks so far, all CPUs (/proc/stat's first
# line: idle + iowait), taken at both ends of a window.
bench_cpu() {
	local idle iow
	read -r _ _ _ _ idle iow _ < /proc/stat
	echo "$((idle + iow))"
}
# bench_cpu_ms IDLE0 IDLE1 WALL_MS: the guest's CPU time over a window, in
# ms: its wall time x CPUs - its idle time (tick-sampled, so never below 0).
bench_cpu_ms() {
	awk -v i0="$1" -v i1="$2" -v ms="$3" -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { v = ms * n - (i1 - i0) * 1000 / hz; printf "%.3f\n", v < 0 ? 0 : v }'
}
# bench_interleave A B: ROUNDS rounds of the caller's run ROUND SIDE, each
# round both sides back to back (they share the host's load of the
# moment), A first in odd rounds and B first in even ones.
bench_interleave() {
	local r
	for r in $(seq "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then run "$r" "$1"; run "$r" "$2"
		else run "$r" "$2"; run "$r" "$1"; fi
	done
}
# bench_errors EXPECTED: a TAP point, not ok if any raw run failed (a
# status, an error, or no figure) or fewer than EXPECTED runs were recorded.
bench_errors() {
	local errs n
	errs=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (lambda r: r.get("rc") or "error" in r or "value" not in r)(json.loads(l))))' "$BENCH_OUT/runs.jsonl")
	n=$(wc -l < "$BENCH_OUT/runs.jsonl")
	tap "$([ "$errs" = 0 ] && [ "$n" -ge "$1" ] && echo ok || echo 'not ok')" "$n runs of $1, $errs with an error"
}
