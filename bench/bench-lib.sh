# The TAP and progress helpers of the side-by-side benchmarks
# (nvme-bench.sh, e1000e-bench.sh).  Source after tests/vm/lib.sh, with
# BENCH_NAME set: the raw runs go to OUT=$DBK_VM_DIR/$BENCH_NAME/runs.jsonl
# (emptied here).
OUT=$DBK_VM_DIR/$BENCH_NAME
mkdir -p "$OUT"
: > "$OUT/runs.jsonl"
N=0
tap() { N=$((N + 1)); echo "$1 $N - $2"; }
diag() { sed 's/^/# /'; }
# Progress, live: straight to the serial line the VM's output goes to
# (tools/vm-init), as TAP comments; guest-run shows our stdout only at the end.
progress() {
	local l="# $BENCH_NAME $(date +%T): $*"
	{ echo "$l" > /dev/ttyS1; } 2>/dev/null
	echo "$l" >> "$OUT/progress"
}
