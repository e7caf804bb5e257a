# shellcheck shell=bash disable=SC2154,SC2034
# The host's half of the side-by-side benchmarks (side-bench-run,
# nvme-bench-run, e1000e-bench-run): one boot through tests/vm-group with the
# host's load average before and after, and where the result sets go.
# Source with src (the source tree) and build (the build directory) set;
# BENCH_* are the caller's.

# bench_results [NAME]: the result set's path,
# bench/results/<date>-<host>[-NAME].json (BENCH_RESULTS_DIR: another
# directory than bench/results)
bench_results() {
	echo "${BENCH_RESULTS_DIR:-$src/bench/results}/$(date -u +%Y-%m-%d)-$(hostname -s)${1:+-$1}.json"
}

# bench_render WHO RESULTS [--nvme F] [--e1000e F]: docs/performance.md from
# the side-by-side result set RESULTS (bench/render-performance.py); WHO
# names the caller in the progress line; sets BENCH_RC to 1 on a failure
bench_render() {
	local who=$1 res=$2
	shift 2
	if python3 "$src/bench/render-performance.py" "$res" "$src/docs" "$@"; then
		echo "# $who: rendered $src/docs/performance.md from $res $*"
	else
		echo "# $who: bench/render-performance.py failed"; BENCH_RC=1
	fi
}

# bench_vm GROUP [VM-RUN-OPTIONS...] -- TEST...: tests/vm-group's boot, its
# TAP on stdout; sets BENCH_RC (its status), BENCH_LOAD0 and BENCH_LOAD1 (the
# host's load averages before and after, "1m 5m 15m") and BENCH_RUN (the
# boot's run directory on the host, where the console log is kept)
bench_vm() {
	local log
	BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	log=$(mktemp)
	DBK_VERBOSE=1 "$src/tests/vm-group" "$build" "$@" | tee "$log"
	BENCH_RC=${PIPESTATUS[0]}
	BENCH_LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	# The run directory: vm-run names it in its last words (tests/vm-group).
	BENCH_RUN=$(sed -n 's|^# vm-run: console log: \(.*\)/console\.log (.*|\1|p' "$log" | tail -n 1)
	rm -f "$log"
}

# bench_driver_result NAME RAW [REPORT-OPTIONS...]: a driver benchmark's raw
# runs (JSON lines) into its result set $(bench_results NAME)
# (bench/driver-bench-report.py); sets BENCH_RC to 1 on a failure
bench_driver_result() {
	local name=$1 raw=$2 res
	shift 2
	res=$(bench_results "$name")
	if [ -z "$BENCH_RUN" ] || [ ! -s "$raw" ]; then
		echo "# $name-bench-run: no raw figures (${raw:-no run directory})"
		BENCH_RC=1
		return
	fi
	mkdir -p "$(dirname "$res")" || { BENCH_RC=1; return; }
	if python3 "$src/bench/driver-bench-report.py" --bench "$name" --runs "$raw" \
		--console "$BENCH_RUN/console.log" --load-before "$BENCH_LOAD0" --load-after "$BENCH_LOAD1" \
		--out "$res" "$@"; then
		echo "# $name-bench-run: result set $res (host load $BENCH_LOAD0 before, $BENCH_LOAD1 after)"
	else
		echo "# $name-bench-run: bench/driver-bench-report.py failed (raw runs $raw, host load $BENCH_LOAD0 before, $BENCH_LOAD1 after)"
		BENCH_RC=1
	fi
}
