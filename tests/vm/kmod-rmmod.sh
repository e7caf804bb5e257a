#!/bin/bash
# rmmod while an unprivileged driver holds a grant (mappings, an
# interrupt): delete_module() fails and changes nothing: the driver keeps
# its grant.  The documented way to unload revokes first (here
# DBK_DEVICE_REVOKE, as devbrokerctl revoke does): the driver's next access
# gets ENODEV, it exits, and rmmod succeeds.  rmmod with devices bound but
# no grant just works (kmod-load.sh).
. tests/vm/lib.sh
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
out=$DBK_VM_DIR/hold-rmmod.out
"$DBK_BUILD/tests/kmod/uapi-test" "$bdf" hold > "$out" 2>&1 &
holder=$!
for i in $(seq 100); do grep -q holding "$out" && break; sleep 0.1; done
grep -q holding "$out" || fail "holder did not start"
# busybox rmmod makes the delete_module() call (kmod's rmmod refuses in
# userspace when /sys/module/*/refcnt is not 0).
if busybox rmmod devbroker 2>/dev/null; then fail "delete_module succeeded while a grant fd was open"; fi
sleep 1
kill -0 "$holder" 2>/dev/null || fail "a refused rmmod revoked the grant: $(cat "$out")"
"$DBK_BUILD/tests/kmod/uapi-test" "$bdf" revoke-now || fail "DBK_DEVICE_REVOKE"
for i in $(seq 100); do kill -0 "$holder" 2>/dev/null || break; sleep 0.01; done
kill -0 "$holder" 2>/dev/null && fail "driver still running 1 s after the revocation"
wait "$holder" || fail "holder: $(cat "$out")"
cat "$out"
rmmod devbroker || fail "rmmod after the revocation"
! grep -q '^devbroker ' /proc/modules || fail "still loaded"
[ ! -e "/sys/bus/pci/devices/$bdf/driver" ] || fail "device still bound"
