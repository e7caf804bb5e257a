#!/bin/bash
# A DMA_MAP whose iommu_map() fails part way leaves nothing of itself in
# the IOMMU (review of 00e2078, which maps a buffer's contiguous runs in
# one call each: intel-iommu reports nothing of a call that failed after
# writing PTEs, so they stayed, over pages the module then unpinned).
# tests/kmod/dbk-failpt.ko fails one IOMMU page-table allocation of the
# unprivileged tests/helpers/dma-partial while it is armed.  q35 +
# intel-iommu, one edu.  TAP output.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
iommu_on || skip "no IOMMU"
dev_setup
# B must be one physically contiguous run: a transparent huge page.
echo madvise > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
insmod "$DBK_BUILD/tests/kmod/dbk-failpt.ko" || fail "insmod dbk-failpt.ko"
P=/sys/module/dbk_failpt/parameters
D=$(mktemp -d); chmod 0755 "$D"
launch partial --msi --dma-quota $((8 << 20)) --dma-bits 32 -- "$H/dma-partial" "$D" ||
	{ rmmod dbk_failpt; fail "dma-partial did not start"; }
for _ in $(seq 600); do grep -q '^# ready' "$OUT" && break; sleep 0.1; done
echo "$CPID" > $P/pid
echo 1 > $P/armed
touch "$D/armed"
for _ in $(seq 600); do grep -q '^# disarm' "$OUT" && break; sleep 0.1; done
echo 0 > $P/armed
failed=$(cat $P/failed)
touch "$D/disarmed"
wait $LPID; LRC=$?
cat "$OUT"
FAILS=$((FAILS + $(grep -c '^not ok' "$OUT")))
diag < "$LOG"
rmmod dbk_failpt
check "dbk-failpt failed one page-table allocation of the map ($failed)" test "$failed" = 1
check "dma-partial exits 0 ($LRC)" test "$LRC" = 0
dmesg | grep -iE 'already set|DMAR.*fault' | tail -n 5 | diag
finish
