#!/bin/bash
# The grant-fd fuzzer (tests/fuzz/dbk-fuzz.c) against edu, as a smoke: a
# short random run racing revocation and unbind, then the corpus
# (tests/fuzz/corpus) replayed.  edu_dma_guard is loaded: it keeps edu's DMA
# registers from ranges QEMU aborts on.  The VM's kernel log must stay
# clean (vm-run fails the group on any splat).
# Usage: kmod-fuzz.sh [OPS] [--campaign] [extra dbk-fuzz run options]
#   --campaign: with KCOV when the kernel has it, the corpus and PCs reached
#   written to $DBK_VM_DIR/fuzz (tools/campaign fuzz reads them).
. tests/vm/lib.sh
ops=${1:-10000}; shift
FZ=$DBK_BUILD/tests/fuzz/dbk-fuzz
POL=$DBK_BUILD/policies/dbk-policy
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
"$POL" load fuzzguard "$DBK_BUILD/policies/edu_dma_guard.bpf.o" --map 'config[0]=busy_ns=100000000' \
	>/dev/null || fail "load edu_dma_guard"
extra=() campaign=0
if [ "${1:-}" = --campaign ]; then
	shift
	campaign=1
	# The campaigns' closing checks (pins, vectors, splats, kmemleak, a fresh grant).
	CAMP_NAME=fuzz
	. tests/campaign/lib.sh
	camp_baseline
	mkdir -p -m 0777 "$DBK_VM_DIR/fuzz/corpus"
	extra=(--corpus "$DBK_VM_DIR/fuzz/corpus" --pcs "$DBK_VM_DIR/fuzz/pcs")
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	[ -e /sys/kernel/debug/kcov ] && extra+=(--kcov)
	echo "# fuzz-out: $DBK_VM_DIR/fuzz"
fi
rc=0
# A campaign's progress, one line a minute or so, to the VM's console.
if [ $campaign = 1 ]; then
	exec 9> >(awk 'NR % 60 == 0 { print "<5>campaign " $0; fflush() }' > /dev/kmsg)
else
	exec 9> /dev/null
fi
out=$("$FZ" run "$bdf" --ops "$ops" --threads 4 --seed "${DBK_FUZZ_SEED:-1}" --unbind "${extra[@]}" "$@" 2>&9)
st=$?
echo "# $out"
if [ $st = 0 ] && grep -q "worker exit 0" <<<"$out"; then
	echo "ok - fuzz: $ops operations racing revocation and unbind, worker exited cleanly"
else
	echo "not ok - fuzz: $out (exit $st)"; rc=1
fi
corpus=("$DBK_SRC"/tests/fuzz/corpus/*.ops)
if [ -e "${corpus[0]}" ]; then
	out=$("$FZ" replay "$bdf" "${corpus[@]}" 2>&1)
	st=$?
	if [ $st = 0 ]; then
		echo "ok - fuzz: the corpus replayed (${#corpus[@]} programs)"
	else
		echo "not ok - fuzz: corpus replay: $out (exit $st)"; rc=1
	fi
fi
"$POL" unload fuzzguard >/dev/null
[ -e "/dev/devbroker/$bdf" ] || dbk_bind "$bdf"
if [ $campaign = 1 ]; then
	camp_end "$ops operations racing revocation and unbind" "$bdf" || rc=1
fi
exit $rc
