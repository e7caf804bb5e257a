# Shared by tests/vm/policy-*.sh; not a test.  Source it after lib.sh:
# loads devbroker, binds every edu device (A and B), and provides pt (run
# a policy-test group), pol (dbk-policy) and a clean slate of policies.
PT=$DBK_BUILD/tests/policy/policy-test
POL=$DBK_BUILD/policies/dbk-policy
OBJ=$DBK_BUILD/policies
RC=0

dbk_load
mapfile -t EDU < <(edu_bdfs)
[ ${#EDU[@]} -ge 1 ] || fail "no edu device"
for b in "${EDU[@]}"; do
	dbk_bind "$b" || fail "bind $b"
	for _ in $(seq 50); do [ -e "/dev/devbroker/$b" ] && break; sleep 0.1; done
done
A=${EDU[0]}
B=${EDU[1]:-}

pol() { "$POL" "$@"; }
# No policy left from an earlier test of this boot.
pol_clean() {
	local n
	for n in $(pol list | grep -v '^ '); do pol unload "$n" >/dev/null; done
}
# pt GROUP ARGS...: one policy-test group; its TAP points pass through.
pt() { "$PT" "$@" || RC=1; }
need_two() { [ -n "$B" ] || skip "needs two edu devices (--edu 2)"; }
pol_clean
