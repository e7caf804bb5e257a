#!/bin/bash
# dbk-policy is all or nothing: a policy the verifier rejects, and one whose
# second program cannot attach, leave nothing attached or pinned; exit
# codes 0/1/2.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
pt verifier "$A"
pol_clean
exit $RC
