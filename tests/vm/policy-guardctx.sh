#!/bin/bash
# The guard sees the call as the module holds it (review R5-1): the test
# policy mischief, attached beside edu_dma_guard, writes its own ctx (wider
# DMA windows, a destination write shown as a count, another device's key),
# and a guarded grant's driver aims DMA at device B's buffer and unmaps a
# buffer a transfer reads.  Before the fix each landed.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
need_two
MIS=$DBK_BUILD/tests/policy/mischief.bpf.o
pol load mischief "$MIS" | sed 's/^/# /'
pol load guard "$OBJ/edu_dma_guard.bpf.o" --map 'config[0]=busy_ns=150000000' | sed 's/^/# /'
pt guard-ctx "$A" "$B"
pol_clean
exit $RC
