#!/bin/bash
# DMA without an IOMMU and without the unsafe flag: the edu manifest names
# the edu_dma_guard policy and trusts it as its DMA guard (DMAGuard=, which
# limits.conf's AllowDMAGuards= allows by default); devbrokerd loads it
# before the grant and asks the module for a guarded grant
# (DBK_GRANT_F_DMA_GUARDED), the module then lets it master the bus, and a
# user's DMA round trip through /dev/edu0 is byte-exact.  Without the
# administrator's consent (AllowDMAGuards= empty), without DMAGuard= (the
# policy loaded but not trusted), or without the policy, the same manifest
# gets no grant.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
broker_setup
printf '[Limits]\nAllowUnsafeDMA=no\n' > "$BRK/limits.conf"
EDU_POLICY=edu_dma_guard EDU_DMA_GUARD=edu_dma_guard edu_manifest "$BRK/sys/edu.conf"
sed -i 's/^UnsafeDMA=yes/UnsafeDMA=no/' "$BRK/sys/edu.conf"
grep -q '^UnsafeDMA=no' "$BRK/sys/edu.conf" || fail "manifest"
[ -e /sys/kernel/iommu_groups/0 ] && fail "this test needs a machine without an IOMMU"
broker_start
bdf=$(edu_bdfs | head -n1)
DESC="no IOMMU, no unsafe flag: with the guard loaded by devbrokerd the driver starts"
ok wait_for 20 bash -c "[ -c /dev/edu0 ] && [ \"\$(dev_field $bdf state)\" = running ]"
DESC="status: unsafe_dma no, dma_guard edu_dma_guard"
ok bash -c "dev_field $bdf rights | grep -q \"'unsafe_dma': False\" && dev_field $bdf rights | grep -q \"'dma_guard': 'edu_dma_guard'\""
head -c 2048 /dev/urandom > /tmp/in
DESC="a user's 2 KiB DMA round trip through /dev/edu0 under the guard is byte-exact"
ok bash -c "as_user $DBK_HELPERS/edu-client dma /dev/edu0 /tmp/in /tmp/out && cmp -s /tmp/in /tmp/out"
DESC="factorials still work"
ok bash -c "[ \"\$(fact /dev/edu0 9)\" = 362880 ]"
broker_stop
# The administrator trusts no policy as a guard: the request is cut, the module is not asked.
printf '[Limits]\nAllowUnsafeDMA=no\nAllowDMAGuards=\n' > "$BRK/limits.conf"
: > "$BROKER_LOG.2"
BROKER_LOG=$BROKER_LOG.2 broker_start
DESC="AllowDMAGuards= empty: the guard request is cut and the grant refused (EPERM)"
ok wait_for 20 bash -c "grep -q 'dma_guard edu_dma_guard -> none' $BROKER_LOG.2 && grep -q 'creating the grant for edu: Operation not permitted' $BROKER_LOG.2"
broker_stop
# The policy loaded and claiming the grant, but the manifest does not ask for a guard (review 3, F2).
printf '[Limits]\nAllowUnsafeDMA=no\n' > "$BRK/limits.conf"
sed -i '/^DMAGuard=/d' "$BRK/sys/edu.conf"
: > "$BROKER_LOG.3"
BROKER_LOG=$BROKER_LOG.3 broker_start
DESC="Policy=edu_dma_guard without DMAGuard=: its guard is not heeded, no grant (EPERM)"
ok wait_for 20 bash -c "grep -q 'creating the grant for edu: Operation not permitted' $BROKER_LOG.3"
broker_stop
ctl policy unload edu_dma_guard > /dev/null
sed -i '/^Policy=/d' "$BRK/sys/edu.conf"
: > "$BROKER_LOG.4"
BROKER_LOG=$BROKER_LOG.4 broker_start
DESC="without the guard the same manifest gets no grant (no IOMMU, no unsafe flag): EPERM"
ok wait_for 20 bash -c "grep -q 'creating the grant for edu: Operation not permitted' $BROKER_LOG.4"
broker_stop
echo "# devbrokerd log:"; sed 's/^/#   /' "$BROKER_LOG" | grep -vE 'added: [0-9a-f]{4}:[0-9a-f]{4} class [0-9a-f]{6}$' | tail -n 12
exit $FAILED
