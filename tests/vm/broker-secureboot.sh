#!/bin/bash
# A kernel that loads only signed modules (module.sig_enforce=1, as under
# Secure Boot) refuses an unsigned devbroker.ko with "Key was rejected by
# service"; devbrokerd then says that the module is not loaded and how to
# enrol the DKMS signing key, rather than failing obscurely.  TAP output.
# Boot: --edu 1 --append module.sig_enforce=1
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
[ "$(cat /sys/module/module/parameters/sig_enforce)" = Y ] || fail "boot with module.sig_enforce=1"
out=$(insmod "$KO" 2>&1)
DESC="the unsigned module is refused: ${out:-loaded}"
ok bash -c "! grep -q '^devbroker ' /proc/modules && grep -q 'Key was rejected by service' <<<'$out'"
broker_setup
edu_manifest "$BRK/sys/edu.conf"
DBK_NO_MODULE=1 broker_start
DESC="devbrokerd says the module is not loaded, that only signed modules load, and how to enrol the DKMS key"
ok wait_for 20 grep -q 'cannot bind to devbroker: .*this kernel loads only signed modules, as under Secure Boot.*mokutil --import /var/lib/dkms/mok.pub' "$BROKER_LOG"
DESC="devbrokerd keeps running; the device is not driven"
ok bash -c "kill -0 $BROKER_PID && [ \"\$(dev_field $(edu_bdfs | head -n1) state)\" != running ]"
broker_stop
echo "# devbrokerd log:"; grep 'cannot bind' "$BROKER_LOG" | head -n 2 | sed 's/^/#   /'
exit $FAILED
