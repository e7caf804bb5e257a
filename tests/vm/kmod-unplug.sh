#!/bin/bash
# Hot-unplug (QMP device_del, from the host helper) while an unprivileged
# driver holds a grant with mappings and an interrupt: the kernel log stays
# clean, the driver's next access fails, and once it exits the module unloads.
. tests/vm/lib.sh
dbk_load
bdf=$(edu_bdfs | head -n1)
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
"$DBK_BUILD/tests/kmod/uapi-test" "$bdf" hold > "$DBK_VM_DIR/hold.out" 2>&1 &
holder=$!
for i in $(seq 100); do grep -q holding "$DBK_VM_DIR/hold.out" && break; sleep 0.1; done
grep -q holding "$DBK_VM_DIR/hold.out" || fail "holder did not start: $(cat "$DBK_VM_DIR/hold.out")"
touch "$DBK_VM_DIR/unplug"		# the host helper now sends device_del
for i in $(seq 150); do [ -e "/sys/bus/pci/devices/$bdf" ] || break; sleep 0.1; done
[ ! -e "/sys/bus/pci/devices/$bdf" ] || fail "device still present after device_del"
[ ! -e "/dev/devbroker/$bdf" ] || fail "node still present"
wait "$holder"; st=$?
cat "$DBK_VM_DIR/hold.out"
[ "$st" = 0 ] || fail "holder exit status $st"
rmmod devbroker || fail "rmmod after unplug"
echo "unplugged under a live grant; module unloaded"
