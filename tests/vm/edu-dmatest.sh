#!/bin/bash
# DMA isolation with libdev (edu-dmatest, unprivileged): with an IOMMU, a
# DMA the driver aims at an IOVA it does not have mapped does not reach
# memory, the guest kernel logs a DMAR fault, and dbk_dma_map_mem() maps
# and unmaps the driver's own memory; without one, the positive control.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
dev_setup
opts=(--msi --dma-quota 65536 --dma-bits 28)
iommu_on || opts+=(--unsafe-dma)
faults_before=$(dmesg | grep -ci 'DMAR.*fault\|DMA.*fault')
if ! launch dmatest "${opts[@]}" -- "$H/edu-dmatest"; then
	notok "dbk-launch edu-dmatest"; finish; exit 1
fi
wait $LPID; LRC=$?
cat "$OUT"
grep -q '^not ok' "$OUT" && FAILS=$((FAILS + 1))
check "edu-dmatest exits 0 (status $LRC)" [ "$LRC" = 0 ]
[ "$LRC" = 0 ] || diag < "$LOG"
if iommu_on; then
	faults=$(( $(dmesg | grep -ci 'DMAR.*fault\|DMA.*fault') - faults_before ))
	check "the guest kernel logged DMAR faults for the stray DMA ($faults lines)" [ "$faults" -ge 1 ]
	dmesg | grep -i 'DMAR' | tail -n 6 | diag
fi
finish
