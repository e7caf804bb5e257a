#!/bin/bash
# edu_dma_guard without an IOMMU: the canary (device A's guarded driver
# cannot DMA into device B's buffer; B's bytes are checked, and A's own
# transfer is byte-exact; a control run without the guard shows the same
# aim does reach B), the DMA matrix, the defaults without the guard,
# and fail-closed after dbk-policy unload.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
need_two
pt noguard "$A"
pt canary-control "$A" "$B"
pol load guard "$OBJ/edu_dma_guard.bpf.o" --map 'config[0]=busy_ns=300000000' | sed 's/^/# /'
pt canary "$A" "$B"
pt dma "$A"
pt unmap "$A" "$B"
pol unload guard | sed 's/^/# /'
pt noguard "$A"
pt failclosed "$A"
pol_clean
exit $RC
