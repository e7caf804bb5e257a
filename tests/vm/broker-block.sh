#!/bin/bash
# devbrokerd's block frontend (Block=, nbd over socket pairs): a test
# driver (tests/helpers/dbk-ramdisk, a disk on a tmpfs file, served with
# libdev's dbk_block_*) on an edu device; /dev/nbdN connected and linked
# without udev; ext4 made, mounted, written; the driver SIGKILLed in the
# middle of the writes is restarted and its new connection swapped in
# (NBD_CMD_RECONFIGURE): the file system carries on; revoke disconnects;
# a driver answering garbage, or replying to requests never sent, gives its
# readers EIO and leaves nothing in D state; a driver hung on a read is
# killed and restarted, and the read completes; a driver lying in or
# silent through the handshake is a crash,
# logged, never a hang of the daemon, nor is a handshake helper the
# driver's user stopped; four queues, with the disk's identity the driver announces linked in
# /dev/disk/by-id as a sanitized name, never over another disk's link,
# removed with the disk even when the manifest goes first; orderly stops (StopTimeoutSec=): a
# driver ignoring SIGTERM is revoked and killed when its grace is up, the
# daemon serving meanwhile, and a revoke ends a grace at once; shutdown
# stops the driver in order.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
D=/tmp/dbk-blk
LINK=/dev/devbroker/block/ramdisk0
BYID=/dev/disk/by-id/devbroker-ramdisk0
MNT=/tmp/dbk-blk-mnt

# The ramdisk writes its image by path: an account of its own (a dynamic
# user's file systems are read-only).
ramdisk_manifest() {	# ramdisk_manifest QUEUES
	cat > "$BRK/sys/ramdisk.conf.new" <<EOT
[Driver]
Name=ramdisk
Exec=$DBK_HELPERS/dbk-ramdisk $D
DynamicUser=no
User=4242
Restart=on-failure
RestartBurst=2
${STOP:+StopTimeoutSec=$STOP}
[Match]
PCI=pci:v00001234d000011E8*
[Frontend]
Block=ramdisk%i
BlockQueues=$1
BlockTimeoutSec=10
BlockDeadConnSec=20
EOT
	mv "$BRK/sys/ramdisk.conf.new" "$BRK/sys/ramdisk.conf"
}
state() { dev_field "$bdf" state; }
dump_driver() {	# where the driver's threads are, for a failure's log
	local p
	p=$(dev_field "$bdf" pid)
	[ "$p" != None ] || return 0
	stack_report "$p"
	dmesg | tail -n 30 | sed 's/^/# /'
}
export -f state

# Tasks in D state, every 2 s, for a failure's log.
( while :; do
	p=$(dstate_list | awk '{print $2}')
	[ -z "$p" ] || { echo "# at $(date +%s):"; stack_report $p; }
	sleep 2
  done ) > /tmp/dbk-blk-dstate.log 2>&1 &
sampler=$!
broker_setup
rm -rf "$D" "$MNT"; mkdir -p "$D" "$MNT"; chmod 0755 "$D"
truncate -s 64M "$D/disk.img"; chmod 0666 "$D/disk.img"
echo normal > "$D/mode"; chmod 0644 "$D/mode"
ramdisk_manifest 1
broker_start
bdf=$(edu_bdfs | head -n1)
export bdf LINK BYID D

DESC="the driver's disk is connected: $LINK and $BYID link to the same /dev/nbdN, 64 MiB"
ok wait_for 40 bash -c '[ -b "$LINK" ] && [ "$(readlink "$LINK")" = "$(readlink "$BYID")" ] && [ "$(blockdev --getsize64 "$LINK")" = 67108864 ]'
nbd=$(basename "$(readlink "$LINK")")
echo "# $LINK -> $nbd"
DESC="devbrokerctl list and status show /dev/$nbd"
ok bash -c "ctl list | grep -q '/dev/$nbd' && ctl status $bdf | grep -q 'Block.*/dev/$nbd: $LINK, 67108864 bytes, block size 512, 1 queue'"
# PR_SET_IO_FLUSHER: PF_MEMALLOC_NOIO (0x80000) and PF_LOCAL_THROTTLE (0x100000)
# in the flags of /proc/PID/stat (PR_GET_IO_FLUSHER needs CAP_SYS_RESOURCE).
pid=$(dev_field "$bdf" pid)
flags=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f7)
DESC="the driver runs with PR_SET_IO_FLUSHER (flags $flags), as its account (4242)"
ok bash -c "[ \$(( $flags & 0x180000 )) = \$(( 0x180000 )) ] && grep -q '^Uid:.4242.4242.4242.4242\$' /proc/$pid/status"
DESC="mkfs.ext4 and mount through the link"
ok bash -c "mkfs.ext4 -q -F '$LINK' && mount '$LINK' '$MNT'"
DESC="files written, synced, read back after dropping the caches"
ok bash -c "for i in 1 2 3; do head -c 1M /dev/urandom > '$MNT/a\$i'; done; sync; sha1sum '$MNT'/a* > '$D/a.sums'; echo 3 > /proc/sys/vm/drop_caches; sha1sum -c --quiet '$D/a.sums'"

# SIGKILL in the middle of a stream of synced writes.
pid=$(dev_field "$bdf" pid)
( for i in $(seq 24); do
	dd if=/dev/urandom of="$MNT/b$i" bs=64k count=4 conv=fsync status=none || exit 1
  done ) > "$D/writer.out" 2>&1 &
writer=$!
sleep 1
kill -KILL "$pid"
DESC="SIGKILL mid-I/O: the driver is restarted and its connection swapped into /dev/$nbd (RECONFIGURE)"
ok wait_for 40 bash -c "p=\$(dev_field $bdf pid); [ \"\$p\" != None ] && [ \"\$p\" != $pid ] && grep -q 'block ramdisk0 (/dev/$nbd) reconnected to the restarted driver' '$BROKER_LOG'"
DESC="... the restarted driver's mount namespace has / but not $MNT (on its own disk)"
ok bash -c "p=\$(dev_field $bdf pid); grep -q '^[0-9]* [0-9]* [0-9]*:[0-9]* / / ' /proc/\$p/mountinfo && ! grep -q ' $MNT ' /proc/\$p/mountinfo"
wait_for 120 bash -c "! kill -0 $writer 2>/dev/null"
wait "$writer"
r=$?
DESC="the writer finished without an error ($r)"
ok [ "$r" = 0 ]
[ "$r" = 0 ] || { sed 's/^/# /' "$D/writer.out"; dump_driver; }
DESC="the file system carries on: every file reads back after dropping the caches, a new one too"
ok bash -c "sha1sum '$MNT'/b* > '$D/b.sums' && echo 3 > /proc/sys/vm/drop_caches && sha1sum -c --quiet '$D/a.sums' '$D/b.sums' && echo after > '$MNT/c' && sync && [ \"\$(cat '$MNT/c')\" = after ]"
DESC="umount, and e2fsck finds the file system clean"
ok bash -c "umount '$MNT' && e2fsck -fn '$LINK' > '$D/fsck.out' 2>&1 || { cat '$D/fsck.out'; false; }"

ctl revoke "$bdf" > /dev/null
DESC="revoke: /dev/$nbd disconnected (size 0), the links removed"
ok wait_for 30 bash -c "[ ! -e '$LINK' ] && [ ! -e '$BYID' ] && [ \"\$(cat /sys/block/$nbd/size)\" = 0 ]"
[ ! -e "$LINK" ] && [ "$(cat /sys/block/$nbd/size)" = 0 ] || { echo "# size $(cat /sys/block/$nbd/size)"; dump_driver; }

# Four queues (the manifest edited under the daemon), the same disk; the
# driver names it (dbk_block_set_id()) with a path in it: devbrokerd's
# by-id link keeps it a name.
ramdisk_manifest 4
sleep 2		# the inotify reload
echo "../../evil id" > "$D/id"; chmod 0644 "$D/id"
IDLINK=/dev/disk/by-id/devbroker-ramdisk+.._.._evil_id
OTHER=/dev/disk/by-id/devbroker-ramdisk+other
ctl bind "$bdf" > /dev/null
# nbd makes a hardware queue per connection, at most one per CPU.
hwq=$(( $(nproc) < 4 ? $(nproc) : 4 ))
DESC="BlockQueues=4: four connections, $hwq hardware queues"
ok wait_for 40 bash -c "[ -b '$LINK' ] && n=\$(basename \$(readlink '$LINK')) && [ \$(ls /sys/block/\$n/mq | wc -l) = $hwq ] && ctl status $bdf | grep -q 'block size 512, 4 queues'"
DESC="... the identity it announced, '../../evil id', linked as $IDLINK (a name, no path)"
ok bash -c "[ \"\$(readlink '$IDLINK')\" = \"\$(readlink '$LINK')\" ] && [ ! -e /dev/evil_id ] && [ ! -e '/dev/evil id' ] && [ \$(ls /dev/disk/by-id | grep -c evil) = 1 ]"
DESC="... the file system's data still there, written and read on every queue"
ok bash -c "mount '$LINK' '$MNT' && sha1sum -c --quiet '$D/a.sums' '$D/b.sums' && for i in 1 2 3 4 5 6 7 8; do head -c 256K /dev/urandom > '$MNT/q\$i' & done; wait; sync && sha1sum '$MNT'/q* > '$D/q.sums' && echo 3 > /proc/sys/vm/drop_caches && sha1sum -c --quiet '$D/q.sums' && umount '$MNT'"
pid=$(dev_field "$bdf" pid)
n4=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
# The restarted driver names the disk "other", a link another disk holds.
echo other > "$D/id"
ln -s ../../sdz "$OTHER"
kill -KILL "$pid"
DESC="... SIGKILLed with four queues: RECONFIGURE with four new connections, the files read back"
ok wait_for 40 bash -c "[ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $n4 ] && mount '$LINK' '$MNT' && echo 3 > /proc/sys/vm/drop_caches && sha1sum -c --quiet '$D/q.sums' '$D/a.sums' && umount '$MNT'"
DESC="... its new identity 'other': the old link removed, $OTHER (another disk's) left to it, logged"
ok bash -c "[ ! -L '$IDLINK' ] && [ \"\$(readlink '$OTHER')\" = ../../sdz ] && grep -q '$OTHER is another disk.s (../../sdz): left to it' '$BROKER_LOG'"
ctl revoke "$bdf" > /dev/null
wait_for 10 bash -c '[ ! -e "$LINK" ]'
DESC="... revoked: the other disk's link still there"
ok bash -c "[ \"\$(readlink '$OTHER')\" = ../../sdz ]"
rm -f "$OTHER"
# Its manifest removed while it serves (the entry forgets its driver's
# name at once, the disk is settled later): the identity's link goes too.
echo third > "$D/id"
THIRD=/dev/disk/by-id/devbroker-ramdisk+third
ramdisk_manifest 1
sleep 2
ctl bind "$bdf" > /dev/null
DESC="... bound again as 'third': $THIRD links to the disk"
ok wait_for 40 bash -c "[ -b '$LINK' ] && [ \"\$(readlink '$THIRD')\" = \"\$(readlink '$LINK')\" ]"
rm "$BRK/sys/ramdisk.conf"
DESC="... its manifest removed while it serves: the driver stopped, its links removed, the identity's too"
ok wait_for 40 bash -c "[ ! -e '$LINK' ] && [ ! -L '$BYID' ] && [ ! -L '$THIRD' ]"
ls -l /dev/disk/by-id | grep devbroker | sed 's/^/# /'
rm -f "$D/id"
ramdisk_manifest 1
sleep 2
# Back to where the test was: the device revoked.
wait_for 10 bash -c '[ -b "$LINK" ]' || ctl bind "$bdf" > /dev/null
wait_for 40 bash -c '[ -b "$LINK" ]'
ctl revoke "$bdf" > /dev/null
wait_for 10 bash -c '[ ! -e "$LINK" ]'

# Orderly stops: StopTimeoutSec=6, a driver that ignores SIGTERM (6 s:
# the checks within the grace must fit in it on a loaded host).
ms_now() { echo "$(( ${EPOCHREALTIME/./} / 1000 ))"; }
echo noterm > "$D/mode"
STOP=6 ramdisk_manifest 1
sleep 2
ctl bind "$bdf" > /dev/null
wait_for 40 bash -c '[ -b "$LINK" ]'
nbd=$(basename "$(readlink "$LINK")")
pid=$(dev_field "$bdf" pid)
t0=$(ms_now)
ctl --no-block unbind "$bdf" > /dev/null
# A waiting unbind beside it: what it saw when it returned, in the background.
rm -f "$DBK_VM_DIR/unbind.done"
( ctl unbind "$bdf" > /dev/null; rc=$?
  echo "$rc $(( $(ms_now) - t0 )) $([ -e /sys/bus/pci/devices/$bdf/driver ] && echo bound || echo unbound)" > "$DBK_VM_DIR/unbind.done" ) &
unbinder=$!
st=$(timeout 5 "$CTL" --json status "$bdf" | json "r['device']['stopping']")
DESC="unbind, the driver (pid $pid) ignoring SIGTERM: 'stopping' ($st) with its StopTimeoutSec=6, still serving, the daemon answering"
ok bash -c "[ '$st' = True ] && kill -0 $pid && [ -b '$LINK' ] && [ \"\$(basename \$(readlink /sys/bus/pci/devices/$bdf/driver))\" = devbroker ] && grep -q '$bdf: stopping: driver ramdisk (pid $pid): SIGTERM, 6 s to exit' '$BROKER_LOG'"
echo "# checked within the grace after $(( $(ms_now) - t0 )) ms"
wait_for 20 bash -c "! kill -0 $pid 2>/dev/null && [ ! -e '$LINK' ]"
dt=$(( $(ms_now) - t0 ))
DESC="... after 6 s ($dt ms): revoked and SIGKILLed, /dev/$nbd disconnected, only then unbound"
ok bash -c "[ $dt -ge 5900 ] && grep -q 'driver ramdisk (pid $pid) did not exit within StopTimeoutSec=6' '$BROKER_LOG' && grep -q 'driver ramdisk (pid $pid): signal 9' '$BROKER_LOG' && [ \"\$(cat /sys/block/$nbd/size)\" = 0 ] && grep -A3 'pid $pid) did not exit within' '$BROKER_LOG' | grep -q '$bdf: unbound'"
wait "$unbinder"
read -r urc udt ubound < "$DBK_VM_DIR/unbind.done" 2>/dev/null
DESC="devbrokerctl unbind returned only then (exit ${urc:-?} after ${udt:-?} ms), the device already given back (${ubound:-?})"
ok bash -c "[ '$urc' = 0 ] && [ '${udt:-0}' -ge 5900 ] && [ '$ubound' = unbound ]"
ctl bind "$bdf" > /dev/null
wait_for 40 bash -c '[ -b "$LINK" ]'
pid=$(dev_field "$bdf" pid)
# A waiting unbind, and a revoke within its grace: the revoke gives the device back, the unbind returns.
ctl --no-block unbind "$bdf" > /dev/null
ctl unbind "$bdf" > /dev/null &
unbinder=$!
sleep 0.5
t0=$(ms_now)
ctl revoke "$bdf" > /dev/null
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
dt=$(( $(ms_now) - t0 ))
DESC="revoke within an unbind's grace: the driver killed at once ($dt ms), the device unbound, revoked"
ok bash -c "[ $dt -lt 2000 ] && grep -q 'driver ramdisk (pid $pid): signal 9' '$BROKER_LOG' && ! grep -q 'pid $pid) did not exit within' '$BROKER_LOG' && [ \"\$(state)\" = revoked ] && [ ! -e /sys/bus/pci/devices/$bdf/driver ]"
wait_for 3 bash -c "! kill -0 $unbinder 2>/dev/null"
urc=$(kill -0 "$unbinder" 2>/dev/null && echo running || { wait "$unbinder"; echo $?; })
DESC="... and the waiting devbrokerctl unbind returned with it, successfully ($urc)"
ok test "$urc" = 0
ramdisk_manifest 1
sleep 2

# Replies the kernel cannot take: garbage in place of a reply, and a
# well-formed reply to a request it never sent (an unknown handle).  The
# kernel drops the connection, the driver ends with it, is restarted and
# does it again: its reader gets EIO, the driver is quarantined.
bad_replies() {	# bad_replies MODE WHAT START: the driver in MODE, started by `ctl START`
	local r t0
	echo "$1" > "$D/mode"
	ctl "$3" "$bdf" > /dev/null
	wait_for 40 bash -c '[ -b "$LINK" ]'
	nbd=$(basename "$(readlink "$LINK")")
	t0=$SECONDS
	timeout 100 dd if="$LINK" of=/dev/null bs=4k count=1 iflag=direct > "$D/dd.out" 2>&1
	r=$?
	DESC="a driver $2: the reader gets EIO ($r after $((SECONDS - t0)) s), no hang"
	ok bash -c "[ $r != 124 ] && [ $r != 0 ] && grep -q 'Input/output error' '$D/dd.out' || { cat '$D/dd.out'; false; }"
	DESC="... the driver was restarted, then quarantined, the disk disconnected and unlinked"
	ok wait_for 30 bash -c "[ \"\$(state)\" = quarantined ] && [ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$nbd/size)\" = 0 ]"
	DESC="... and no process is left in D state"
	ok wait_for 30 no_dstate
	dstate_list | sed 's/^/# D: /'
}
bad_replies garbage "answering garbage" bind
nunexp=$(dmesg | grep -c 'Unexpected reply')
bad_replies stranger "replying with an unknown handle" release
DESC="... the kernel said why (Unexpected reply)"
ok bash -c "[ \$(dmesg | grep -c 'Unexpected reply') -gt $nunexp ]"

# A driver that lies in the handshake.
echo lie > "$D/mode"
ctl release "$bdf" > /dev/null
DESC="a driver answering the handshake with junk: a clear log line, a crash, quarantined again, no disk"
ok wait_for 40 bash -c "[ \"\$(state)\" = quarantined ] && grep -q 'block ramdisk0: the NBD handshake with driver ramdisk failed: queue 0:' '$BROKER_LOG' && [ ! -e '$LINK' ]"

# A driver that never answers: the daemon does not wait for it.
echo silent > "$D/mode"
ctl release "$bdf" > /dev/null
t0=$SECONDS
DESC="a driver silent in the handshake: the daemon answers meanwhile"
ok bash -c "sleep 3; timeout 2 $CTL list > /dev/null && [ \"\$(state)\" = running ]"
DESC="... and after 15 s says the driver did not answer, kills it, quarantines it in the end"
ok wait_for 60 bash -c "[ \"\$(state)\" = quarantined ] && grep -q 'the driver did not answer in time' '$BROKER_LOG'"
echo "# silent driver quarantined after $((SECONDS - t0)) s"

# The handshake helper runs as the driver's user, who may SIGSTOP it: a
# stopped process does not die of its own alarm, the daemon's timer ends it.
ctl release "$bdf" > /dev/null
helper_of() {	# devbrokerd's child as the driver's uid that is not the driver
	local drv
	drv=$(dev_field "$bdf" pid)
	[ "$drv" != None ] || return 0
	ps -o pid=,uid= --ppid "$BROKER_PID" |
		awk -v drv="$drv" -v u="$(awk '/^Uid:/ {print $2}' "/proc/$drv/status" 2>/dev/null)" '$2 == u && $1 != drv {print $1}'
}
helper=
wait_for 10 bash -c "[ \"\$(state)\" = running ]"
for i in $(seq 50); do helper=$(helper_of); [ -n "$helper" ] && break; sleep 0.1; done
echo "# handshake helper: ${helper:-none}"
hu=$([ -n "$helper" ] && awk '/^Uid:/ {print $2}' "/proc/$helper/status")
echo "# its uid: ${hu:-none}"
[ -n "$hu" ] && setpriv --reuid="$hu" --regid="$hu" --clear-groups kill -STOP "$helper"
t0=$SECONDS
DESC="a handshake helper SIGSTOPped by the driver's user: the daemon kills it (25 s), the driver's start failed"
ok wait_for 60 bash -c "[ -n '$helper' ] && grep -q 'its helper (pid $helper) did not report within 25 s' '$BROKER_LOG' && ! kill -0 $helper 2>/dev/null && [ \"\$(dev_field $bdf last_exit)\" = 'block handshake failed' ]"
echo "# helper killed after $((SECONDS - t0)) s"
DESC="... and quarantined in the end"
ok wait_for 60 bash -c "[ \"\$(state)\" = quarantined ] && grep -q 'its helper (pid $helper) did not report' '$BROKER_LOG'"

# A driver hung in its I/O path: the kernel times the read out
# (BlockTimeoutSec=10) and drops its connection; devbrokerd sees the
# connection end while the driver runs on, kills it and restarts it; the
# kernel sends the read again to the new driver (within BlockDeadConnSec=20)
# and the reader never sees an error.
echo stall > "$D/mode"
ctl release "$bdf" > /dev/null
wait_for 40 bash -c '[ -b "$LINK" ]'
nbd=$(basename "$(readlink "$LINK")")
pid=$(dev_field "$bdf" pid)
echo normal > "$D/mode"		# read at each start: the restarted driver serves
nrc=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
t0=$SECONDS
timeout 100 dd if="$LINK" of="$D/stall.out" bs=4k count=1 skip=5 iflag=direct 2> "$D/dd.out"
r=$?
DESC="a driver hung on a read (pid $pid): the read completes after all ($r after $((SECONDS - t0)) s), with the disk's data"
ok bash -c "[ $r = 0 ] && cmp '$D/stall.out' <(dd if='$D/disk.img' bs=4k count=1 skip=5 status=none) || { cat '$D/dd.out'; false; }"
DESC="... devbrokerd saw the connection end, killed the driver still running, restarted it and reconnected /dev/$nbd"
ok bash -c "grep -q \"block ramdisk0 (/dev/$nbd): queue 0's connection ended .* driver ramdisk (pid $pid) still runs\" '$BROKER_LOG' && grep -q 'driver ramdisk (pid $pid): block connection dropped' '$BROKER_LOG' && [ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $nrc ] && [ \"\$(state)\" = running ] && [ \"\$(dev_field $bdf pid)\" != $pid ]"
DESC="... and no process is left in D state"
ok wait_for 30 no_dstate
dstate_list | sed 's/^/# D: /'

# devbrokerd killed with a disk connected: the next one disconnects it and
# connects its own driver's anew.
echo normal > "$D/mode"
ctl release "$bdf" > /dev/null	# running already (EBUSY)
wait_for 40 bash -c '[ -b "$LINK" ]'
old=$(basename "$(readlink "$LINK")")
oldpid=$(dev_field "$bdf" pid)
kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
broker_start
DESC="devbrokerd SIGKILLed and started again: the old driver stopped, /dev/$old disconnected, the link to a new connection"
ok wait_for 40 bash -c "grep -q 'disconnecting /dev/$old of the previous devbrokerd' '$BROKER_LOG' && ! kill -0 $oldpid 2>/dev/null && [ -b '$LINK' ] && n=\$(basename \$(readlink '$LINK')) && [ \"\$(blockdev --getsize64 '$LINK')\" = 67108864 ] && { [ \$n != $old ] || [ \"\$(dev_field $bdf state)\" = running ]; }"

# Shutdown with a disk connected: the driver is stopped in order.
nbd=$(basename "$(readlink "$LINK")")
pid=$(dev_field "$bdf" pid)
ndone=$(grep -c 'dbk-ramdisk: dbk_block_run: done' "$BROKER_LOG")
broker_stop
DESC="devbrokerd's shutdown disconnects /dev/$nbd and removes the links"
ok bash -c "[ ! -e '$LINK' ] && [ ! -e '$BYID' ] && [ \"\$(cat /sys/block/$nbd/size)\" = 0 ]"
DESC="... having sent the driver (pid $pid) SIGTERM: it stopped serving and exited 0 by itself"
ok bash -c "grep -q '$bdf: stopping: driver ramdisk (pid $pid): SIGTERM' '$BROKER_LOG' && [ \$(grep -c 'dbk-ramdisk: dbk_block_run: done' '$BROKER_LOG') -gt $ndone ] && grep -q 'driver ramdisk (pid $pid): exit 0' '$BROKER_LOG'"
DESC="no process left in D state"
ok no_dstate

kill "$sampler"
echo "1..$n"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG" | tail -n 80;
		       echo "# D state:"; tail -n 60 /tmp/dbk-blk-dstate.log; }
exit "$FAILED"
