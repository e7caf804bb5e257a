#!/bin/bash
# MSI-X through libdev on QEMU's e1000e (8086:10d3), run unprivileged
# (e1000e-msix): each vector's eventfd fires for the interrupt cause mapped
# to it, and the MSI-X table and PBA pages cannot be mmap()ed.  (Named
# edu-* only because tests/vm/edu-*.sh are the driver-SDK tests.)
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
dev_setup 0x8086 0x10d3
opts=(--msix --max-vectors 5)
# MSI-X is a memory write by the device: without an IOMMU, devbroker.ko
# wants a DMA right for it.
iommu_on || opts+=(--dma-quota 4096 --unsafe-dma)
if ! launch msix "${opts[@]}" -- "$H/e1000e-msix" 5; then
	notok "dbk-launch e1000e-msix"; finish; exit 1
fi
wait $LPID; LRC=$?
cat "$OUT"
grep -q '^not ok' "$OUT" && FAILS=$((FAILS + 1))
check "e1000e-msix exits 0 (status $LRC)" [ "$LRC" = 0 ]
[ "$LRC" = 0 ] || diag < "$LOG"
finish
