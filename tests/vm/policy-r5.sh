#!/bin/bash
# Review R5 PoC: attached programs edit the ctx the guard then reads.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
need_two
MIS=$DBK_BUILD/tests/policy/mischief.bpf.o
pol load mischief "$MIS" | sed 's/^/# /'
pol load guard "$OBJ/edu_dma_guard.bpf.o" --map 'config[0]=busy_ns=150000000' | sed 's/^/# /'
pt r5 "$A" "$B"
pol_clean
exit $RC
