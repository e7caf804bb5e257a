#!/bin/bash
# The review's findings that need policies (policy-test groups widen, rmw,
# guarded, unmap-race, unmap-loop, unmap-failopen), with edu_dma_guard
# and the test policy mischief (tests/policy/mischief.bpf.c), which tries
# to widen grants and to stretch race windows.  Programs on one hook run
# in the order they were attached: mischief is loaded before the guard
# (its EDIT shows the guard another value than the one written), then
# after it (its REWRITE changes an approved value).
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
MIS=$DBK_BUILD/tests/policy/mischief.bpf.o
pol load mischief "$MIS" | sed 's/^/# /'
pt widen "$A"
pt rmw "$A"
pol load guard "$OBJ/edu_dma_guard.bpf.o" --map 'config[0]=busy_ns=150000000' | sed 's/^/# /'
pt guarded "$A" before
pt unmap-race "$A"
pt unmap-loop "$A" "${DBK_UNMAP_ROUNDS:-200}"
pol unload mischief | sed 's/^/# /'
pol load mischief "$MIS" | sed 's/^/# /'
pt guarded "$A" after
pol_clean
pt unmap-failopen "$A"
pol_clean
exit $RC
