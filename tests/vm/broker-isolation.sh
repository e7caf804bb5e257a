#!/bin/bash
# Drivers cannot reach into each other: each runs as a uid of its own
# (DynamicUser=), is not dumpable (libdev), and another process of any
# uid, the other driver's, nobody's or even its own, can neither take its
# grant fd (pidfd_getfd) nor ptrace it nor read its memory.  The uid is
# kept across a restart, released (with whatever process still has it)
# when no restart follows, and not handed out again at once.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
# Yama's ptrace_scope=1 would refuse the attacks below to any process that
# is not the driver's ancestor, whatever devbrokerd does: Debian's kernel
# boots with 0 (its patch disables Yama's restriction by default), the
# case to defend.  Set 0 for the test, so that it can fail.
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo none)
echo "# kernel.yama.ptrace_scope at boot: $scope; set to 0 for this test"
[ "$scope" = none ] || echo 0 > /proc/sys/kernel/yama/ptrace_scope
broker_setup
# edu_manifest writes User=nobody, as every manifest had to before
# DynamicUser=: such a manifest gets a dynamic user all the same.
edu_manifest "$BRK/sys/edu.conf"
broker_start
mapfile -t edus < <(edu_bdfs)
DESC="two edu drivers run, /dev/edu0 and /dev/edu1 work"
ok wait_for 30 bash -c "[ \"\$(dev_field ${edus[0]} state)\" = running ] && [ \"\$(dev_field ${edus[1]} state)\" = running ] && [ \"\$(fact /dev/edu0 5)\" = 120 ] && [ \"\$(fact /dev/edu1 5)\" = 120 ]"
pid0=$(dev_field "${edus[0]}" pid)
pid1=$(dev_field "${edus[1]}" pid)
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }
uid0=$(uid_of "$pid0")
uid1=$(uid_of "$pid1")
nobody=$(id -u nobody)
echo "# driver 0: pid $pid0 uid $uid0; driver 1: pid $pid1 uid $uid1; nobody is $nobody"
DESC="the two drivers run as two distinct uids, neither nobody's nor root's"
ok bash -c "[ -n '$uid0' ] && [ -n '$uid1' ] && [ '$uid0' != '$uid1' ] && [ '$uid0' != '$nobody' ] && [ '$uid1' != '$nobody' ] && [ '$uid0' != 0 ] && [ '$uid1' != 0 ]"
DESC="their uids name no user and no group in the user database; gid = uid, no supplementary group"
ok bash -c "! getent passwd $uid0 && ! getent passwd $uid1 && ! getent group $uid0 && ! getent group $uid1 &&
	grep -q \"^Gid:.$uid0.$uid0.$uid0.$uid0\$\" /proc/$pid0/status && grep -qE '^Groups:[[:space:]]*\$' /proc/$pid0/status"
DESC="devbrokerctl status shows each driver's uid"
ok bash -c "[ \"\$(dev_field ${edus[0]} uid)\" = '$uid0' ] && [ \"\$(dev_field ${edus[1]} uid)\" = '$uid1' ]"
DESC="driver 0 is not dumpable: its /proc/PID/mem belongs to root"
ok bash -c "[ \"\$(stat -c %u /proc/$pid0/mem)\" = 0 ]"
DESC="driver 0 holds its grant at fd 3 (what the thief is after)"
ok bash -c "readlink /proc/$pid0/fd/3 | grep -q devbroker"
# Its uid goes to another driver one day: in its mount namespace, as its
# uid, no file can be made anywhere but in its own /dev (/dev/shm).
as_drv0() { nsenter -t "$pid0" -m setpriv --reuid="$uid0" --regid="$uid0" --clear-groups "$@"; }
DESC="driver 0's file systems are read-only to it: no file in /tmp or /var/tmp (EROFS), one in its /dev/shm"
ok bash -c "$(declare -f as_drv0); pid0=$pid0 uid0=$uid0
	! as_drv0 touch /tmp/dbk-left 2> /tmp/dbk-left.err && grep -q 'Read-only file system' /tmp/dbk-left.err &&
	! as_drv0 touch /var/tmp/dbk-left 2> /dev/null && as_drv0 touch /dev/shm/dbk-left &&
	[ ! -e /tmp/dbk-left ] && [ ! -e /var/tmp/dbk-left ] && [ ! -e /dev/shm/dbk-left ]"

# thief UID PID: fd-thief as UID (its gid the same number, no groups).
thief() {
	local out rc
	out=$(setpriv --reuid="$1" --regid="$1" --clear-groups "$DBK_HELPERS/fd-thief" "$2" 3 2>&1)
	rc=$?
	sed 's/^/# /' <<<"$out"
	return $rc
}
for who in "the other driver's uid:$uid1" "nobody:$nobody" "driver 0's own uid:$uid0"; do
	DESC="as ${who%%:*} (${who##*:}): pidfd_getfd of driver 0's grant fd, PTRACE_ATTACH, /proc/PID/mem and process_vm_readv are all refused"
	ok thief "${who##*:}" "$pid0"
done
DESC="and the same on driver 1, as driver 0's uid"
ok thief "$uid0" "$pid1"

# A process of driver 0's uid that outlives it (made here by root, as a
# leftover would be): the release kills it, so the uid is free for real.
setpriv --reuid="$uid0" --regid="$uid0" --clear-groups sleep 1000 &
left=$!
# Only once it is that uid: a release swept before setpriv switched would miss it.
wait_for 10 bash -c "grep -q '^Uid:.$uid0.$uid0' /proc/$left/status && [ \"\$(readlink /proc/$left/exe)\" = \"\$(readlink -f \$(command -v sleep))\" ]" ||
	echo "# the leftover (pid $left) never ran sleep as uid $uid0"
ctl unbind "${edus[0]}" > /dev/null
DESC="unbind: driver 0 is gone, its device given back"
ok wait_for 20 bash -c "[ \"\$(dev_field ${edus[0]} pid)\" = None ] && [ \"\$(dev_field ${edus[0]} state)\" = revoked ]"
DESC="uid $uid0 released: the process left with it was killed, none of that uid remains"
ok wait_for 10 bash -c "[ ! -e /proc/$left ] || grep -q '^State:.Z' /proc/$left/status"
kill -KILL "$left" 2>/dev/null	# still there without the sweep: not waited for forever
wait "$left" 2>/dev/null
DESC="no process of uid $uid0 remains"
ok bash -c "! ps -eo uid= | grep -qx ' *$uid0'"
ctl bind "${edus[0]}" > /dev/null
DESC="bound again: driver 0 runs"
ok wait_for 20 bash -c "[ \"\$(dev_field ${edus[0]} state)\" = running ] && [ \"\$(fact /dev/edu0 6)\" = 720 ]"
pid0b=$(dev_field "${edus[0]}" pid)
uid0b=$(uid_of "$pid0b")
echo "# driver 0 again: pid $pid0b uid $uid0b"
DESC="with a new uid: not the one just released, not driver 1's"
ok bash -c "[ -n '$uid0b' ] && [ '$uid0b' != '$uid0' ] && [ '$uid0b' != '$uid1' ]"

kill -KILL "$pid1"
DESC="driver 1 SIGKILLed: restarted"
ok wait_for 20 bash -c "p=\$(dev_field ${edus[1]} pid); [ \"\$p\" != None ] && [ \"\$p\" != $pid1 ] && [ \"\$(fact /dev/edu1 4)\" = 24 ]"
pid1b=$(dev_field "${edus[1]}" pid)
DESC="a restart keeps the uid: the new driver 1 is uid $uid1 again"
ok bash -c "[ \"\$(awk '/^Uid:/ {print \$2}' /proc/$pid1b/status)\" = '$uid1' ]"

broker_stop
DESC="devbrokerd stopped: no process of any driver's uid is left"
ok wait_for 10 bash -c "! ps -eo uid= | grep -qxE ' *($uid0b|$uid1)'"
[ "$scope" = none ] || echo "$scope" > /proc/sys/kernel/yama/ptrace_scope
echo "1..$n"
exit $FAILED
