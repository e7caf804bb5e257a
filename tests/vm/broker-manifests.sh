#!/bin/bash
# Driver packages come and go while devbrokerd runs: a manifest that
# appears in the manifest directory (as dpkg unpacks one: NAME.conf.dpkg-new,
# then a rename) is matched against the present devices within moments and
# its driver started; when it goes, its driver stops and the device goes
# back to the kernel; an invalid one is reported and changes nothing; a
# module that is not loaded gets a message saying what to do.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
bdf=$(edu_bdfs | head -n1)
[ -n "$bdf" ] || fail "no edu device"
pci_driver() { basename "$(readlink "/sys/bus/pci/devices/$bdf/driver" 2>/dev/null)" 2>/dev/null; }
export -f pci_driver; export bdf
# An earlier test's broker may have left it bound to devbroker.
[ "$(pci_driver)" = devbroker ] && dbk_unbind "$bdf"
broker_setup
edu_manifest "$BRK/edu.conf"	# outside the directory, for now
broker_start

DESC="no manifest matches the edu device ($bdf): unmatched, with no driver bound"
ok bash -c "[ \"\$(dev_field $bdf state)\" = unmatched ] && [ -z \"\$(pci_driver)\" ]"

cp "$BRK/edu.conf" "$BRK/sys/edu.conf.dpkg-new"
mv "$BRK/sys/edu.conf.dpkg-new" "$BRK/sys/edu.conf"
DESC="a manifest installed as dpkg does (edu.conf.dpkg-new, renamed): edu matched and running within 10 s, no SIGHUP"
ok wait_for 10 bash -c "[ \"\$(dev_field $bdf state)\" = running ] && [ -c /dev/edu0 ]"
DESC="the driver it started serves /dev/edu0"
ok bash -c "[ \"\$(fact /dev/edu0 6)\" = 720 ]"
pid=$(dev_field "$bdf" pid)

rm "$BRK/sys/edu.conf"
DESC="the manifest removed: the driver (pid $pid) stopped, the device unmatched and given back to the kernel (unbound from devbroker, no override)"
ok wait_for 10 bash -c "! kill -0 $pid 2>/dev/null && [ \"\$(dev_field $bdf state)\" = unmatched ] && [ \"\$(pci_driver)\" != devbroker ] && [ \"\$(cat /sys/bus/pci/devices/$bdf/driver_override)\" = '(null)' ] && [ ! -e /dev/edu0 ]"
DESC="the events say so: unmatched, unbound, exited"
ok bash -c "grep -q \"$bdf: unmatched: the manifest of edu is gone\" $BROKER_LOG && grep -q \"$bdf: unbound\" $BROKER_LOG && grep -q \"$bdf: exited: driver (its manifest removed) (pid $pid)\" $BROKER_LOG"

printf '[Driver]\nName=broken\nExec=relative/path\n' > "$BRK/sys/broken.conf"
DESC="an invalid manifest dropped in is reported (manifest skipped) and matches nothing"
ok wait_for 10 bash -c "grep -q 'manifest skipped: .*broken' $BROKER_LOG && [ \"\$(dev_field $bdf state)\" = unmatched ]"

cp "$BRK/edu.conf" "$BRK/etc/edu.conf"
DESC="the manifest again, in the administrator's directory (etc): the device is driven again"
ok wait_for 10 bash -c "[ \"\$(dev_field $bdf state)\" = running ] && [ \"\$(fact /dev/edu0 5)\" = 120 ]"
pid=$(dev_field "$bdf" pid)

# A typo in the administrator's copy: reported, and the running driver stays.
sed -i 's/^Vectors=1/Vectors=lots/' "$BRK/etc/edu.conf"
DESC="the running driver's manifest made invalid: reported (manifest skipped), the driver (pid $pid) keeps running"
ok wait_for 10 bash -c "grep -q 'manifest skipped: $BRK/etc/edu.conf' $BROKER_LOG && sleep 1 && [ \"\$(dev_field $bdf pid)\" = $pid ] && [ \"\$(fact /dev/edu0 3)\" = 6 ]"
cp "$BRK/edu.conf" "$BRK/etc/edu.conf"

# One package replaced by another in one go: the new driver starts only
# once the old one is reaped, never beside it.
sed 's/^Name=edu$/Name=edu2/' "$BRK/edu.conf" > "$BRK/sys/edu2.conf"
rm "$BRK/etc/edu.conf"
DESC="edu's manifest replaced by edu2's in one go: edu (pid $pid) stopped, then edu2 drives the device and serves /dev/edu0"
ok wait_for 15 bash -c "! kill -0 $pid 2>/dev/null && [ \"\$(dev_field $bdf driver)\" = edu2 ] && [ \"\$(dev_field $bdf state)\" = running ] && [ \"\$(fact /dev/edu0 4)\" = 24 ]"
DESC="only one driver process was ever alive for the device (devbrokerd's events in order: edu exited before edu2 started)"
ok bash -c "awk '/exited: driver \\(its manifest removed\\) \\(pid $pid\\)/ { e = NR } /started: edu2 / { s = NR } END { exit !(e && s && e < s) }' $BROKER_LOG"

# What the administrator revoked stays revoked while packages come and go.
ctl revoke "$bdf" >/dev/null
rm "$BRK/sys/edu2.conf"
cp "$BRK/edu.conf" "$BRK/sys/edu.conf"
DESC="revoked, its manifest gone and another installed: matched to edu but still revoked, nothing started"
ok wait_for 10 bash -c "grep -q '$bdf: matched: driver edu (revoked' $BROKER_LOG && [ \"\$(dev_field $bdf state)\" = revoked ] && [ \"\$(dev_field $bdf driver)\" = edu ]"
ctl bind "$bdf" >/dev/null
DESC="devbrokerctl bind starts it"
ok wait_for 10 bash -c "[ \"\$(dev_field $bdf state)\" = running ]"
broker_stop

# The module missing, as when Secure Boot rejects it: the log says why.
dbk_unload
: > "$BROKER_LOG.2"
DBK_NO_MODULE=1 BROKER_LOG=$BROKER_LOG.2 broker_start
DESC="without devbroker.ko the broker says it is not loaded and how to load it"
ok wait_for 20 grep -q "cannot bind to devbroker: .*(devbroker.ko is not loaded: modprobe devbroker)" "$BROKER_LOG.2"
dbk_load
DESC="the module loaded later (as DKMS's postinst does): the broker notices and the edu driver starts"
ok wait_for 20 bash -c "grep -q 'devbroker.ko loaded: starting the PCI drivers' $BROKER_LOG.2 && [ \"\$(dev_field $bdf state)\" = running ] && [ \"\$(fact /dev/edu0 4)\" = 24 ]"
broker_stop
echo "# devbrokerd log:"; sed 's/^/#   /' "$BROKER_LOG" | grep -vE 'added: pci [0-9a-f]{4}:[0-9a-f]{4} class [0-9a-f]{6}$' | tail -n 15
exit $FAILED
