#!/bin/bash
# An rmmod attempt (a delete_module() call) while an unprivileged driver holds a grant (mappings, an
# interrupt) revokes it: rmmod itself fails (the driver still holds the
# fd), the driver's next access gets ENODEV within 1 s, it exits, and the
# next rmmod succeeds.  rmmod with devices bound but no grant just works
# (kmod-load.sh).
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
# kmod's rmmod refuses in userspace (it reads /sys/module/*/refcnt) and
# never reaches the kernel; busybox rmmod makes the delete_module() call.
if rmmod devbroker 2>/dev/null; then fail "rmmod succeeded while a grant fd was open"; fi
kill -0 "$holder" 2>/dev/null || fail "kmod's rmmod (no syscall) should not have revoked"
# Root of a user namespace is nobody here: its attempt must not revoke.
[ "$(setpriv --reuid 1000 --regid 1000 --clear-groups unshare -Ur id -u)" = 0 ] ||
	fail "unprivileged user namespaces are off: this check would prove nothing"
setpriv --reuid 1000 --regid 1000 --clear-groups unshare -Ur busybox rmmod devbroker 2>/dev/null
sleep 1
kill -0 "$holder" 2>/dev/null || fail "an unprivileged user's rmmod in a user namespace revoked the grant"
t0=$(date +%s%N)
if busybox rmmod devbroker 2>/dev/null; then fail "delete_module succeeded while a grant fd was open"; fi
for i in $(seq 100); do kill -0 "$holder" 2>/dev/null || break; sleep 0.01; done
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -0 "$holder" 2>/dev/null && fail "driver still running ${dt} ms after the rmmod attempt"
wait "$holder" || fail "holder: $(cat "$out")"
cat "$out"
echo "the rmmod attempt revoked the grant; the driver saw it after ${dt} ms"
[ "$dt" -lt 1000 ] || fail "took ${dt} ms"
rmmod devbroker || fail "second rmmod"
! grep -q '^devbroker ' /proc/modules || fail "still loaded"
[ ! -e "/sys/bus/pci/devices/$bdf/driver" ] || fail "device still bound"
