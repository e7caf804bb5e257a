#!/bin/bash
# devbrokerd finds two edu devices, starts two sandboxed drivers, a user
# program uses both; SIGKILL restarts; a client blocked on a dead driver
# gets an error; revocation of a stopped driver; hot-unplug.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
broker_setup
EDU_POLICY=edu_firewall edu_manifest "$BRK/sys/edu.conf"
broker_start
mapfile -t edus < <(edu_bdfs)
DESC="two edu devices driven automatically: /dev/edu0 and /dev/edu1 appear (0666)"
ok wait_for 20 bash -c '[ -c /dev/edu0 ] && [ -c /dev/edu1 ] && [ "$(stat -c %a /dev/edu0)" = 666 ] && [ "$(stat -c %a /dev/edu1)" = 666 ]'
DESC="the manifest's Policy=edu_firewall was loaded and attached by devbrokerd"
ok bash -c "[ -e /sys/fs/bpf/devbroker/edu_firewall ] && $CTL policy list | grep -q 'edu_firewall on dbk_policy_access'"
DESC="devbrokerctl --json list: both running the edu driver"
ok bash -c "[ \"\$(ctl --json list | json \"sorted((d['id'], d['driver'], d['state']) for d in r['devices'] if d['driver'])\")\" = \"[('${edus[0]}', 'edu', 'running'), ('${edus[1]}', 'edu', 'running')]\" ]"
DESC="a user program (uid 1000) computes 10! on /dev/edu0 and 12! on /dev/edu1"
ok bash -c '[ "$(fact /dev/edu0 10)" = 3628800 ] && [ "$(fact /dev/edu1 12)" = 479001600 ]'
pid0=$(dev_field "${edus[0]}" pid)
DESC="the driver runs as a dynamic user of its own with no capabilities, no_new_privs and seccomp"
ok bash -c "dynamic_uid $pid0 && grep -q '^CapEff:.0000000000000000' /proc/$pid0/status && grep -q '^NoNewPrivs:.1' /proc/$pid0/status && grep -q '^Seccomp:.2' /proc/$pid0/status"

kill -KILL "$pid0"
DESC="SIGKILL of the driver: restarted with a new pid, /dev/edu0 works again"
ok wait_for 10 bash -c "p=\$(ctl --json status ${edus[0]} | json \"r['device']['pid']\"); [ \"\$p\" != None ] && [ \"\$p\" != $pid0 ] && [ \"\$(fact /dev/edu0 5)\" = 120 ]"
DESC="the restart is counted"
ok bash -c "[ \"\$(dev_field ${edus[0]} restarts)\" -ge 1 ]"

# A client blocked in read while its driver is SIGKILLed gets an error within 1 s.
pid0=$(dev_field "${edus[0]}" pid)
rm -f "$DBK_VM_DIR/opened" "$DBK_VM_DIR/client.out"
as_user python3 -c "
import os, time
fd = os.open('/dev/edu0', os.O_RDWR)
open('$DBK_VM_DIR/opened', 'w').close()
time.sleep(1)
try:
    os.read(fd, 64)
    r = 'returned'
except OSError as e:
    r = 'error %d' % e.errno
open('$DBK_VM_DIR/client.out', 'w').write('%s %.3f\n' % (r, time.time()))
" &
client=$!
wait_for 5 test -e "$DBK_VM_DIR/opened"
kill -STOP "$pid0"
sleep 1.5		# the client is now blocked in read on a stopped server
t0=$(date +%s.%N)
kill -KILL "$pid0"
wait_for 3 test -s "$DBK_VM_DIR/client.out"
kill -KILL "$client" 2>/dev/null; wait "$client" 2>/dev/null
read -r what err tend < "$DBK_VM_DIR/client.out"
DESC="a client blocked in read when its driver is SIGKILLed gets an error ($what $err) within 1 s"
ok bash -c "[ '$what' = error ] && python3 -c 'import sys; sys.exit(0 if $tend - $t0 < 1.0 else 1)'"
DESC="no client left in D state"
ok bash -c '! ps -eo stat,comm | grep -q "^D.*python3"'
wait_for 10 bash -c "[ \"\$(fact /dev/edu0 3)\" = 6 ]"

# Revocation of a driver stuck in SIGSTOP.
pid1=$(dev_field "${edus[1]}" pid)
kill -STOP "$pid1"
t0=$(date +%s%N)
ctl revoke "${edus[1]}" > /dev/null
DESC="devbrokerctl revoke of a SIGSTOPped driver: revoked, driver gone, within 1 s"
ok wait_for 1 bash -c "! kill -0 $pid1 2>/dev/null && [ \"\$(dev_field ${edus[1]} state)\" = revoked ]"
echo "# revoke took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
DESC="after revoke the driver is not restarted and /dev/edu1 is gone"
ok bash -c "sleep 1; [ \"\$(dev_field ${edus[1]} pid)\" = None ] && [ ! -e /dev/edu1 ]"
ctl bind "${edus[1]}" > /dev/null
DESC="devbrokerctl bind starts it again"
ok wait_for 10 bash -c "[ \"\$(fact /dev/edu1 4)\" = 24 ]"

# Hot-unplug of a bound device while its driver runs.
pid1=$(dev_field "${edus[1]}" pid)
touch "$DBK_VM_DIR/unplug"	# the host helper sends device_del edu1
DESC="hot-unplug: the device leaves devbrokerctl list"
ok wait_for 15 bash -c "! ctl --json list | json \"[d['id'] for d in r['devices']]\" | grep -q '${edus[1]}'"
DESC="hot-unplug: its driver is reaped (no zombie) and the other device still works"
ok bash -c "! kill -0 $pid1 2>/dev/null && ! ps -eo stat | grep -q '^Z' && [ \"\$(fact /dev/edu0 6)\" = 720 ]"
# The broker itself dies: a new one stops the orphaned drivers cleanly
# (revoking their grants) and starts fresh ones; nothing is left running twice.
old=$(dev_field "${edus[0]}" pid)
kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
DESC="after devbrokerd is SIGKILLed its driver keeps running (not killed with it)"
ok kill -0 "$old"
broker_start
DESC="a new devbrokerd stops the previous instance's driver and starts its own"
ok wait_for 15 bash -c "! kill -0 $old 2>/dev/null && p=\$(dev_field ${edus[0]} pid) && [ \"\$p\" != None ] && [ \"\$p\" != $old ]"
DESC="exactly one edu driver per device afterwards, and /dev/edu0 works"
ok wait_for 10 bash -c "[ \$(pgrep -xc edu-driver) = 1 ] && [ \"\$(fact /dev/edu0 8)\" = 40320 ]"
DESC="a non-member of group devbroker is refused (exit 5)"
ok bash -c 'as_user '"$CTL"' list >/dev/null 2>&1; [ $? = 5 ]'
broker_stop
DESC="devbrokerd stops its drivers on SIGTERM"
ok bash -c "! pgrep -x edu-driver >/dev/null"
echo "# devbrokerd log:"; sed 's/^/#   /' "$BROKER_LOG" | tail -n 40
exit $FAILED
