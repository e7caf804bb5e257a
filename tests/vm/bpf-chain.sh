#!/bin/bash
# The clang -> bpftool skeleton chain produced a program that loads into
# the target kernel, attaches to devbroker.ko and counts what it should.
. tests/vm/lib.sh
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
out=$("$DBK_BUILD/policies/grant-audit" "$DBK_BUILD/tests/kmod/uapi-test" "$bdf" device) ||
	fail "grant-audit: $out"
echo "$out" | tail -n1
# The device group creates exactly one grant and closes it (one revocation).
echo "$out" | grep -qx 'grants created 1 revoked 1' || fail "wrong counts"
