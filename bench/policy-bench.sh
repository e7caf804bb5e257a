#!/bin/bash
# One boot: a mediated register read with no policy, with the default
# policy and with the edu firewall, and a null syscall, as ratios.  TAP.
. tests/vm/lib.sh
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind"
sleep 0.3
B=$DBK_BUILD
run() { "$B/tests/policy/policy-bench" "$bdf" "$1"; }
none=$(run none) || fail "bench"
"$B/policies/dbk-policy" load default "$B/policies/default.bpf.o" > /dev/null || fail "load default"
def=$(run default); "$B/policies/dbk-policy" unload default > /dev/null
"$B/policies/dbk-policy" load fw "$B/policies/edu_firewall.bpf.o" > /dev/null || fail "load firewall"
fw=$(run firewall); "$B/policies/dbk-policy" unload fw > /dev/null
echo "$none" "$def" "$fw" | awk '{
	printf "# mediated read, ns: no policy %d, default %d, firewall %d; getppid %d\n", $2, $5, $8, $3
	printf "# ratios to no policy: default %.2fx, firewall %.2fx; no policy / getppid %.2fx\n", $5/$2, $8/$2, $2/$3
}'
echo "ok 1 - policy benchmark ran"
