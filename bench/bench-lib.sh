# The TAP, progress and CPU helpers of the side-by-side benchmarks
# (nvme-bench.sh, nvme-vfio-bench.sh, e1000e-bench.sh, usb-key-latency.sh,
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
# bench_perf_start NAME / bench_perf_stop: a guest-wide profile of one run
# (perf record -a -g on cpu-clock: TCG has no PMU), kept by symbol as
# $BENCH_OUT/perf-NAME.txt, and by thread and object as perf-NAME.dso.txt
# (errors in perf-NAME.err).  perf starts disabled
# and is enabled once it is set up (that takes seconds under TCG), so the
# profile covers the run, not perf's start.
bench_perf_start() {
	BENCH_PERF_NAME=$BENCH_OUT/perf-$1
	rm -f /tmp/perf.ctl /tmp/perf.ack; mkfifo /tmp/perf.ctl /tmp/perf.ack
	# Its stdout not ours: the harness reads ours to its end.
	# No build-id scan at its end (slow under TCG): the report is made here.
	perf record -q -a -g -B -e cpu-clock -D -1 --control fifo:/tmp/perf.ctl,/tmp/perf.ack \
		-o /tmp/perf.data > /dev/null 2> "$BENCH_PERF_NAME.err" &
	BENCH_PERF_PID=$!
	# A plain open for writing, which waits for perf to open its end: a
	# FIFO drops what was written once no one holds it open, so "enable"
	# written (read-write) before perf opened it would be lost.  Bounded,
	# for a perf that died first.
	if ! timeout 120 sh -c 'echo enable > /tmp/perf.ctl' || ! read -r -t 120 _ <> /tmp/perf.ack; then
		kill "$BENCH_PERF_PID" 2> /dev/null; BENCH_PERF_PID=
		fail "perf record did not start: $(head -c 300 "$BENCH_PERF_NAME.err")"
	fi
}
bench_perf_stop() {
	[ -n "${BENCH_PERF_PID:-}" ] || return 0
	kill -INT "$BENCH_PERF_PID" 2> /dev/null; wait "$BENCH_PERF_PID"
	BENCH_PERF_PID=
	perf report -i /tmp/perf.data --stdio --no-children --sort comm,dso,symbol \
		--percent-limit 0.3 -g none > "$BENCH_PERF_NAME.txt" 2>> "$BENCH_PERF_NAME.err"
	# By thread and object, whole: where the cut above leaves half the samples out.
	perf report -i /tmp/perf.data --stdio --no-children --sort pid,dso \
		-g none > "$BENCH_PERF_NAME.dso.txt" 2>> "$BENCH_PERF_NAME.err"
	# One program's own profile, deeper (BENCH_PERF_COMM=name): every
	# symbol, and the call chains into the kernel that its time goes to.
	if [ -n "${BENCH_PERF_COMM:-}" ]; then
		perf report -i /tmp/perf.data --stdio --no-children --comm "$BENCH_PERF_COMM" \
			--sort dso,symbol --percent-limit 0.05 -g none > "$BENCH_PERF_NAME.comm.txt" \
			2>> "$BENCH_PERF_NAME.err"
		perf report -i /tmp/perf.data --stdio --children --comm "$BENCH_PERF_COMM" \
			--sort symbol --percent-limit 2 -g caller,2,callee,function,percent \
			> "$BENCH_PERF_NAME.chains.txt" 2>> "$BENCH_PERF_NAME.err"
	fi
	rm -f /tmp/perf.data
}
