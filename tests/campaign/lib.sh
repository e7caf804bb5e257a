# Shared by the campaigns (tests/campaign/*.sh, run in the VM by tools/campaign).
# Source after tests/vm/lib.sh.  camp_baseline before, camp_end after: the
# checks every campaign ends with, and its summary line.
#   - no splat in the kernel log (KASAN, lockdep, WARNING, BUG, Oops, Call
#     Trace) and, on a kernel with kmemleak, no leak after two scans;
#   - pinned pages (FOLL_PIN acquired - released) and devbroker interrupt
#     vectors back to the baseline;
#   - no process in D state;
#   - devbrokerd alive, when the campaign ran one (CAMP_BROKER_PID);
#   - every device still usable by a fresh grant (dbk-fuzz probe).
CAMP_NAME=${CAMP_NAME:-campaign}
camp_t0=$SECONDS

camp_pins() { awk '/^nr_foll_pin_acquired/{a=$2} /^nr_foll_pin_released/{r=$2} END{print a-r}' /proc/vmstat; }
camp_vectors() { grep -c 'devbroker\[' /proc/interrupts; }
# Also to the kernel log, which the VM's console shows as it goes (the TAP comes at the end).
camp_progress() {
	local line="$CAMP_NAME: $* ($((SECONDS - camp_t0)) s)"
	echo "# $line"
	echo "<5>campaign $line" > /dev/kmsg
}

# blk_report: blk-mq's view of every nbd disk with requests it has not
# completed (debugfs: the requests each hardware queue holds, and those
# waiting to be dispatched or requeued), as TAP comments.
blk_report() {
	local d f
	for d in /sys/kernel/debug/block/nbd*; do
		[ -d "$d" ] || continue
		[ "$(cat "/sys/block/${d##*/}/inflight" 2>/dev/null | tr -s ' ' | sed 's/^ //')" = "0 0" ] && continue
		echo "#   ${d##*/}: in flight (reads writes) $(cat "/sys/block/${d##*/}/inflight"), size $(cat "/sys/block/${d##*/}/size")"
		for f in "$d"/requeue_list "$d"/state "$d"/hctx*/busy "$d"/hctx*/dispatch "$d"/hctx*/state "$d"/hctx*/tags; do
			[ -s "$f" ] && sed "s|^|#     ${f#$d/}: |" "$f" 2>/dev/null | head -n 20
		done
	done
}
# dstate_report: what is in D state, with its kernel stacks and the disks'
# queues; the blocked tasks to the kernel log too (sysrq w, which root may
# trigger whatever kernel.sysrq says).
dstate_report() {
	dstate_list | sed 's/^/#   /'
	stack_report $(dstate_list | awk '{print $2}')
	blk_report
	echo w > /proc/sysrq-trigger 2>/dev/null
}
# A failed check, as TAP and, at once, in the kernel log (the console shows
# it while the VM runs; the TAP comes at the end).
camp_not_ok() { echo "not ok - $CAMP_NAME: $*"; echo "<4>campaign $CAMP_NAME: not ok: $*" > /dev/kmsg; }

camp_baseline() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	# Every sysrq from the serial console (Debian allows no task dumps):
	# a campaign that stalls can then be asked for its blocked tasks (w).
	echo 1 > /proc/sys/kernel/sysrq
	CAMP_PINS0=$(camp_pins)
	CAMP_VECS0=$(camp_vectors)
	dmesg -c > /dev/null
}

# camp_end "WHAT WAS DONE" BDF...: the checks, then the summary line; returns 1 on any failure.
camp_end() {
	local what=$1 rc=0 splats leaks=na pins vecs b out
	shift
	splats=$(dmesg | grep -cE 'BUG:|WARNING:|KASAN|Oops|general protection|Call Trace|possible circular|inconsistent lock|sleeping function')
	if [ -e /sys/kernel/debug/kmemleak ]; then
		echo scan > /sys/kernel/debug/kmemleak; sleep 5; echo scan > /sys/kernel/debug/kmemleak
		leaks=$(grep -c "unreferenced object" /sys/kernel/debug/kmemleak)
		[ "$leaks" = 0 ] || { head -60 /sys/kernel/debug/kmemleak | sed 's/^/# /'; rc=1; }
	fi
	[ "$splats" = 0 ] || { dmesg | grep -E -A20 'BUG:|WARNING:|KASAN|Call Trace' | head -60 | sed 's/^/# /'; rc=1; }
	# Nothing left in D state (a moment for those on their way out).
	if ! wait_for 10 no_dstate; then
		echo "# in D state:"; dstate_report; rc=1
	fi
	pins=$(camp_pins); vecs=$(camp_vectors)
	[ "$pins" = "$CAMP_PINS0" ] || rc=1
	[ "$vecs" = "$CAMP_VECS0" ] || rc=1
	if [ -n "${CAMP_BROKER_PID:-}" ] && ! kill -0 "$CAMP_BROKER_PID" 2>/dev/null; then
		echo "# devbrokerd died"; rc=1
	fi
	for b in "$@"; do
		[ -e "/sys/bus/pci/drivers/devbroker/$b" ] || dbk_bind "$b"
		for i in $(seq 50); do [ -e "/dev/devbroker/$b" ] && break; sleep 0.1; done
		out=$("$DBK_BUILD/tests/fuzz/dbk-fuzz" probe "$b" 2>&1) || { echo "# probe $b: $out"; rc=1; }
	done
	out="$CAMP_NAME: $what; $((SECONDS - camp_t0)) s; splats $splats, leaks $leaks; pinned pages"
	out="$out $pins (baseline $CAMP_PINS0), vectors $vecs (baseline $CAMP_VECS0): $([ $rc = 0 ] && echo PASS || echo FAIL)"
	echo "# $out"; echo "$out" >&2
	if [ $rc = 0 ]; then echo "ok - $CAMP_NAME: $what"; else echo "not ok - $CAMP_NAME: $what"; fi
	return $rc
}
