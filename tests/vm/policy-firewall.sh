#!/bin/bash
# edu_firewall: every register x width x direction of edu's BAR0 (a real
# pread/pwrite each) without the policy (the module's own rules: all
# aligned accesses pass), with it (the allow-list, EPERM outside), and
# after dbk-policy unload (the defaults are back).
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
pt firewall "$A" off
pol load fw "$OBJ/edu_firewall.bpf.o" | sed 's/^/# /'
pt firewall "$A" on
pol unload fw | sed 's/^/# /'
pt firewall "$A" off
exit $RC
