#!/bin/bash
# Two devices, two policies: edu_firewall keyed to device A only and
# config_guard allowing a config write on A only; each holds for its own
# device only.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
need_two
pt twodev "$A" "$B"
pol_clean
exit $RC
