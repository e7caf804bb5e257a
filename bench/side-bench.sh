#!/bin/bash
# Issue 16's side by side, in one boot (q35 + intel-iommu, three edu
# devices): the first edu bound to devbroker, the second to vfio-pci, the
# third to uio_pci_generic, so that every case runs through each backend
# in interleaved rounds (round 1: A, B, C; round 2: B, C, A; ...) without
# rebinding between them.  The three are the same QEMU device model on the
# same bus; each backend keeps its own for the whole boot.
# Each run of bench/side-bench has a time limit; progress (case, round)
# goes live to the serial line.  The raw figures (JSON lines) go to
# $DBK_VM_DIR/side-bench/runs.jsonl, the guest's facts to meta.json there;
# bench/side-bench-run turns them into bench/results/<date>-<host>.json.
# Numbers only: no point fails on a timing.
# usage: side-bench.sh [ROUNDS [SCALE [CASES...]]]   (SCALE: samples x SCALE)
. tests/vm/lib.sh
BENCH_NAME=side-bench
. bench/bench-lib.sh
ROUNDS=${1:-5} SCALE=${2:-1}
shift 2 2>/dev/null || shift $#
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(mmio_read mmio_write pread msi_raise msi_wake intx dma setup revoke)
SB=$DBK_HELPERS/side-bench
P=$DBK_BUILD/policies
MISCHIEF=$DBK_BUILD/tests/policy/mischief.bpf.o

[ -n "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ] || skip "no IOMMU: vfio-pci's type1 needs one (vm-run --iommu)"
mapfile -t BDFS < <(edu_bdfs)
[ ${#BDFS[@]} -ge 3 ] || fail "three edu devices needed (vm-run --edu 3), found ${#BDFS[@]}"
DBK=${BDFS[0]} VF=${BDFS[1]} UIO=${BDFS[2]}

dbk_load
dbk_bind "$DBK" || fail "bind $DBK to devbroker"
vfio_bind "$VF" || fail "bind $VF to vfio-pci"
modprobe uio_pci_generic || fail "no uio_pci_generic"
d=/sys/bus/pci/devices/$UIO
[ -e "$d/driver" ] && echo "$UIO" > "$d/driver/unbind"
echo uio_pci_generic > "$d/driver_override"
echo "$UIO" > /sys/bus/pci/drivers_probe
UIO_NO=$(ls "$d/uio" 2>/dev/null | sed -n 's/^uio//p' | head -n1)
[ -n "$UIO_NO" ] || fail "$UIO: no uio node under uio_pci_generic"
for _ in $(seq 100); do [ -e "/dev/devbroker/$DBK" ] && break; sleep 0.1; done
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
TRACE=0; [ -w /sys/kernel/tracing/trace_clock ] && grep -q mono /sys/kernel/tracing/trace_clock && TRACE=1
POLICIES=0
[ -x "$P/dbk-policy" ] && [ -f "$P/default.bpf.o" ] && [ -f "$P/edu_firewall.bpf.o" ] && POLICIES=1
echo "# devbroker: $DBK, vfio-pci: $VF (group $(iommu_group "$VF")), uio_pci_generic: $UIO (uio$UIO_NO)"
echo "# rounds $ROUNDS, cases ${CASES[*]}, tracefs floor $TRACE, policies $POLICIES"

# The guest's side of the report's header.
python3 - "$OUT/meta.json" "$ROUNDS" "$SCALE" "$TRACE" "$POLICIES" "$DBK" "$VF" "$UIO" <<'EOF'
import json, os, platform, sys
out, rounds, scale, trace, pol, dbk, vf, uio = sys.argv[1:]
mem = [l for l in open("/proc/meminfo") if l.startswith("MemTotal")][0].split()[1]
json.dump({"guest_kernel": platform.release(), "guest_cpus": os.cpu_count(),
           "guest_mem_kib": int(mem), "rounds": int(rounds), "scale": int(scale),
           "trace_floor": trace == "1", "policies": pol == "1",
           "bdf": {"dbk": dbk, "vfio": vf, "uio": uio},
           "cmdline": open("/proc/cmdline").read().strip()}, open(out, "w"), indent=1)
EOF

# Samples per run (x SCALE) and each run's time limit in seconds.
declare -A NS=([mmio_read]=40 [mmio_write]=40 [pread]=40 [msi_raise]=300 [msi_wake]=300
	       [intx]=300 [dma]=10 [setup]=5 [revoke]=2)
declare -A LIMIT=([mmio_read]=120 [mmio_write]=120 [pread]=120 [msi_raise]=180 [msi_wake]=240
		  [intx]=240 [dma]=300 [setup]=120 [revoke]=120)
ERRS=0
# run CASE LABEL BACKEND BDF [side-bench options]
run() {
	local c=$1 label=$2 be=$3 bdf=$4 rc t0=$SECONDS
	shift 4
	progress "round $r/$ROUNDS: $c $label"
	timeout -k 5 "${LIMIT[$c]}" "$SB" "$be" "$c" "$bdf" "$r" $((NS[$c] * SCALE)) --label "$label" "$@" \
		>> "$OUT/runs.jsonl" 2> "$OUT/err"
	rc=$?
	if [ $rc != 0 ]; then
		ERRS=$((ERRS + 1))
		progress "round $r: $c $label FAILED (status $rc$([ $rc = 124 ] && echo ", over its ${LIMIT[$c]} s limit"))"
		sed "s/^/# $c $label: /" "$OUT/err" | tee -a "$OUT/errors"
		printf '{"fig": "error", "case": "%s", "backend": "%s", "round": %d, "status": %d}\n' \
			"$c" "$label" "$r" "$rc" >> "$OUT/runs.jsonl"
	fi
	echo "$c $label $r $((SECONDS - t0))" >> "$OUT/durations"
}
policy() { "$P/dbk-policy" "$@" > /dev/null 2>> "$OUT/errors"; }

# rot K CMD...: the commands (one word each: a function name) in turn,
# rotated by K.  Each round starts the next backend first (round 1: A, B,
# C; round 2: B, C, A; ...): still interleaved, and no backend always runs
# first after another case (a fixed A, B order put all of one side's
# samples in the same position).
rot() {
	local k=$1; shift
	local a=("$@") i
	for i in $(seq 0 $((${#a[@]} - 1))); do "${a[$(((i + k) % ${#a[@]}))]}"; done
}
# The case's runs, one function per backend (the variable c is the case).
b_dbk() { run "$c" dbk dbk "$DBK" ${xopt[@]+"${xopt[@]}"}; }
b_vfio() { run "$c" vfio vfio "$VF" ${xopt[@]+"${xopt[@]}"}; }
b_uio() { run "$c" uio uio "$UIO" --uio "$UIO_NO"; }
# The access hook on every mediated access: the default policy (a grant
# hook only: no program on that path) and edu's firewall (one per access).
b_dbk_default() {
	policy load bdef "$P/default.bpf.o" && run "$c" dbk-default dbk "$DBK"
	policy unload bdef
}
# The hook's own cost: a test policy (tests/policy/mischief.bpf.c) whose
# access program only compares the grant's cookie with its tricks' and
# returns (our grant's cookie is 0): one program run, next to no work.
b_dbk_hook() {
	policy load bhook "$MISCHIEF" && run "$c" dbk-hook dbk "$DBK"
	policy unload bhook
}
b_dbk_fw() {
	policy load bfw "$P/edu_firewall.bpf.o" && run "$c" dbk-edu_firewall dbk "$DBK"
	policy unload bfw
}

for r in $(seq "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		xopt=()
		case $c in
		mmio_read|mmio_write|intx)
			rot $((r - 1)) b_dbk b_vfio b_uio ;;
		pread)
			if [ $POLICIES = 1 ] && [ -f "$MISCHIEF" ]; then
				rot $((r - 1)) b_dbk b_dbk_default b_dbk_hook b_dbk_fw b_vfio
			elif [ $POLICIES = 1 ]; then
				rot $((r - 1)) b_dbk b_dbk_default b_dbk_fw b_vfio
			else
				rot $((r - 1)) b_dbk b_vfio
			fi ;;
		msi_raise|msi_wake)
			# On the vector's CPU, then on the other one (an IPI
			# wakes the driver): the figures of the second end
			# in _cross.
			xopt=(--trace $TRACE --pin same)
			rot $((r - 1)) b_dbk b_vfio
			xopt=(--trace $TRACE --pin cross)
			rot $((r - 1)) b_dbk b_vfio ;;
		*)
			rot $((r - 1)) b_dbk b_vfio ;;
		esac
	done
done
progress "done: $(wc -l < "$OUT/runs.jsonl") figures, $ERRS failed run(s)"

tap ok "$(wc -l < "$OUT/runs.jsonl") figures in $ROUNDS interleaved round(s) of ${#CASES[@]} case(s)"
tap "$([ $ERRS = 0 ] && echo ok || echo 'not ok')" "every run ended in its time limit without an error ($ERRS did not)"
dmesg | grep -iE 'vfio|DMAR|devbroker' | grep -vE 'grant (created|revoked)' | tail -n 12 | diag
echo "# raw figures: $OUT/runs.jsonl (bench/side-bench-run reads them beside the console log)"

