#!/bin/bash
# In one VM boot: the edu factorial round trip through /dev/edu0 (an
# ordinary program, CUSE, edu-driver, MSI), unpinned and with the client
# and the driver pinned to the vCPU that takes the MSI; then the reference
# numbers of irq-bench (the device driven directly, eventfd wakes between
# threads or processes, on one vCPU or across two).
# Not a timed test: numbers under TCG are only comparable to each other,
# and they depend on how busy the host is (see "IPIs per round" below).
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
B=$DBK_HELPERS
N=${DBK_BENCH_N:-300}
dev_setup
dma=(--dma-quota 65536 --dma-bits 28)
iommu_on || dma+=(--unsafe-dma)

# Inter-processor interrupts so far, all CPUs: function calls (remote
# wakeups of an idle CPU) and reschedules.
ipis() { awk '/^ *(CAL|RES):/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }

start_edu edu0 --msi "${dma[@]}" || fail "edu-driver did not start"
irq=$(awk -v tag="devbroker[$BDF]" 'index($0, tag) { sub(":", "", $1); print $1; exit }' /proc/interrupts)
msi_cpu=$(cut -d, -f1 "/proc/irq/$irq/effective_affinity_list" 2>/dev/null | cut -d- -f1)
msi_cpu=${msi_cpu:-0}

i0=$(ipis)
fact=$(as_user "$B/edu-bench" /dev/edu0 "$N") || fail "edu-bench: $fact"
i1=$(ipis)
taskset -p -c "$msi_cpu" "$CPID" >/dev/null || fail "pinning the driver"
pinned=$(taskset -c "$msi_cpu" setpriv --reuid=$USER_UID --regid=$USER_UID --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$B/edu-bench" /dev/edu0 "$N") ||
	fail "edu-bench (pinned): $pinned"
i2=$(ipis)
stop TERM
pinned=$(sed 's/^fact_/factpin_/' <<<"$pinned")

launch irqbench --msi "${dma[@]}" -- "$B/irq-bench" "$N" || fail "irq-bench did not start"
wait $LPID; LRC=$?
[ "$LRC" = 0 ] || { cat "$LOG"; fail "irq-bench exited $LRC"; }
res=$(cat "$OUT")

echo "$fact"
echo "$pinned"
echo "$res"
awk -v n="$N" -v ncpu="$(nproc)" -v msi="$msi_cpu" \
    -v ipi_free=$(( (i1 - i0) * 10 / (N + 5) )) -v ipi_pin=$(( (i2 - i1) * 10 / (N + 5) )) '
	{ k[++nk] = $1; med[$1] = $2; mean[$1] = $3; min[$1] = $4; p90[$1] = $5; max[$1] = $6 }
	END {
		printf "# %d rounds each, %d vCPUs; microseconds (TCG guest)\n", n, ncpu
		printf "# %-20s %9s %9s %9s %9s %9s\n", "", "median", "mean", "min", "p90", "max"
		for (i = 1; i <= nk; i++)
			printf "# %-20s %9.1f %9.1f %9.1f %9.1f %9.1f\n", k[i], med[k[i]] / 1000,
			       mean[k[i]] / 1000, min[k[i]] / 1000, p90[k[i]] / 1000, max[k[i]] / 1000
		printf "# IPIs per round trip: %.1f unpinned, %.1f with client and driver on vCPU %d (the MSI'\''s)\n",
		       ipi_free / 10, ipi_pin / 10, msi
		printf "# ratio fact_rt / msi_fact                (median): %.2f\n", med["fact_rt_ns"] / med["msi_fact_ns"]
		printf "# ratio fact_rt / factpin_rt              (median): %.2f\n", med["fact_rt_ns"] / med["factpin_rt_ns"]
		if (med["efd_proc_cross_ns"])
			printf "# ratio efd_proc_cross / efd_thr_same     (median): %.2f\n",
			       med["efd_proc_cross_ns"] / med["efd_thr_same_ns"]
	}' <<<"$fact
$pinned
$res"
echo "ok - benchmark ran"
