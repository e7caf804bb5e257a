#!/bin/bash
# A kernel that loads only signed modules (module.sig_enforce=1, as under
# Secure Boot) refuses an unsigned devbroker.ko with "Key was rejected by
# service"; devbrokerd then says that the module is not loaded and how to
# enrol the DKMS signing key, rather than failing obscurely.  TAP output.
# A matched device with a kernel driver (e1000e) keeps it.
# Boot: --edu 1 --e1000e --append module.sig_enforce=1
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
[ "$(cat /sys/module/module/parameters/sig_enforce)" = Y ] || fail "boot with module.sig_enforce=1"
out=$(insmod "$KO" 2>&1)
DESC="the unsigned module is refused: ${out:-loaded}"
ok bash -c "! grep -q '^devbroker ' /proc/modules && grep -q 'Key was rejected by service' <<<'$out'"
# A device with a kernel driver, matched by a manifest: without the module
# it must keep that driver, not be left with none.
modprobe e1000e
nic=$(lspci -Dn -d 8086:10d3 | awk '{ print $1; exit }')
[ -n "$nic" ] || fail "no e1000e in the bed"
wait_for 10 test -e "/sys/bus/pci/drivers/e1000e/$nic" || fail "e1000e did not take $nic"
broker_setup
edu_manifest "$BRK/sys/edu.conf"
cat > "$BRK/sys/nic.conf" <<EOT
[Driver]
Name=nic
Exec=/bin/sleep 1000
User=nobody
[Match]
PCI=pci:v00008086d000010D3*
[Rights]
BARs=0
EOT
DBK_NO_MODULE=1 broker_start
DESC="devbrokerd says the module is not loaded, that only signed modules load, and how to enrol the DKMS key"
ok wait_for 20 grep -q 'cannot bind to devbroker: .*this kernel loads only signed modules, as under Secure Boot.*mokutil --import /var/lib/dkms/mok.pub' "$BROKER_LOG"
DESC="devbrokerd keeps running; the device is not driven"
ok bash -c "kill -0 $BROKER_PID && [ \"\$(dev_field $(edu_bdfs | head -n1) state)\" != running ]"
DESC="the matched e1000e NIC ($nic) keeps its kernel driver, with no driver_override left behind"
ok bash -c "grep -q \"$nic: cannot bind to devbroker\" $BROKER_LOG && [ -e /sys/bus/pci/drivers/e1000e/$nic ] && [ \"\$(cat /sys/bus/pci/devices/$nic/driver_override)\" = '(null)' ]"
broker_stop
echo "# devbrokerd log:"; grep 'cannot bind' "$BROKER_LOG" | head -n 2 | sed 's/^/#   /'
exit $FAILED
