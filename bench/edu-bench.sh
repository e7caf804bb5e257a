#!/bin/bash
# In one VM boot: the edu factorial round trip through /dev/edu0 (an
# ordinary program, CUSE, edu-driver, MSI), and the MSI-to-eventfd wake
# time next to a plain eventfd wake between two threads; prints ratios.
# Not a timed test: numbers under TCG are only comparable to each other.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
B=$DBK_BUILD/tests/helpers
N=${DBK_BENCH_N:-300}
dev_setup
dma=(--dma-quota 65536 --dma-bits 28)
iommu_on || dma+=(--unsafe-dma)

start_edu edu0 --msi "${dma[@]}" || fail "edu-driver did not start"
fact=$(as_user "$B/edu-bench" /dev/edu0 "$N") || fail "edu-bench: $fact"
stop TERM

launch irqbench --msi "${dma[@]}" -- "$B/irq-bench" "$N" || fail "irq-bench did not start"
wait $LPID; LRC=$?
[ "$LRC" = 0 ] || { cat "$LOG"; fail "irq-bench exited $LRC"; }
res=$(cat "$OUT")

echo "$fact"
echo "$res"
awk -v n="$N" '
	{ med[$1] = $2; mean[$1] = $3; min[$1] = $4 }
	END {
		printf "# %d rounds each; median / mean / min in microseconds (TCG guest)\n", n
		split("fact_rt_ns msi_wake_ns efd_wake_ns mmio_write_ns", k, " ")
		for (i = 1; i <= 4; i++)
			printf "# %-14s %9.1f %9.1f %9.1f\n", k[i], med[k[i]] / 1000, mean[k[i]] / 1000, min[k[i]] / 1000
		printf "# ratio msi_wake / efd_wake          (median): %.2f\n", med["msi_wake_ns"] / med["efd_wake_ns"]
		printf "# ratio (msi_wake - mmio_write) / efd_wake:     %.2f\n", (med["msi_wake_ns"] - med["mmio_write_ns"]) / med["efd_wake_ns"]
		printf "# ratio fact_rt / msi_wake           (median): %.2f\n", med["fact_rt_ns"] / med["msi_wake_ns"]
	}' <<<"$fact
$res"
echo "ok - benchmark ran"
