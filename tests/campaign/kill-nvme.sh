#!/bin/bash
# Campaign kill, NVMe: SIGKILL of drivers/nvme under devbrokerd at random
# moments (0..1000 ms after each restart is seen running: during its
# controller bring-up, its RECONFIGURE hand-over, or mid-I/O) while
# tests/campaign/disk-churn.py writes, fsyncs and reads the nbd disk it
# serves (/dev/devbroker/block/dbknvme0), fio keeping requests in flight
# beside it (half the kills wait for some).  devbrokerd restarts it and
# reconnects the disk each time; the kernel's nbd holds and resends what
# was in flight.  At the end: nothing acknowledged lost, the disk serves,
# and camp_end's checks.  Usage: kill-nvme.sh KILLS   (vm-run --nvme)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=kill-nvme
. tests/campaign/lib.sh
. tests/campaign/pci-lib.sh
kills=${1:-50}
nvme_camp_bed
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
ctl bind "$BDF" > /dev/null 2>&1
wait_for 90 disk_up || fail "devbrokerctl bind $BDF: no disk at $LINK: $(tail -n 5 "$BROKER_LOG")"
NBD=$(basename "$(readlink -f "$LINK")")
echo "# $CAMP_NAME: $BDF serves $LINK -> /dev/$NBD ($(blockdev --getsize64 "$LINK") bytes)"
churn_start
# The churn's first writes, before the first kill.
wait_for 60 bash -c "[ \$(awk '{print \$1 + \$5}' /sys/block/$NBD/stat) -ge 64 ]"
# Each kill: half of them wait (up to 2 s) for requests in flight on the
# disk; the others fall where they fall.  Counted: the kills that met I/O
# in flight (/sys/block/nbdN/inflight).
midio=0
inflight() {
	local n r w
	n=$(basename "$(readlink -f "$LINK" 2>/dev/null)" 2>/dev/null)
	[ -e "/sys/block/${n:-none}/inflight" ] || return 0
	if [ $((RANDOM % 2)) = 0 ]; then
		wait_for 2 bash -c "read -r r w < /sys/block/$n/inflight && [ \$((r + w)) -gt 0 ]"
	fi
	read -r r w < "/sys/block/$n/inflight" 2>/dev/null || return 0
	[ $((r + w)) -gt 0 ] && midio=$((midio + 1))
	return 0
}
camp_kill_loop "$BDF" nvme "$kills" 1000 inflight; klrc=$?
echo "# $CAMP_NAME: $KILLS_DONE kills, $midio with I/O in flight on the disk"
# The last restart reconnected the disk, which serves again.
check_served() {
	wait_for 90 bash -c 'running $0 && [ -b "$LINK" ]' "$BDF" && wait_for 90 disk_up
}
check_served && echo "ok - $CAMP_NAME: the driver was restarted after every kill and serves $LINK again" ||
	camp_not_ok "the disk is not served after the kills: $(tail -n 5 "$BROKER_LOG" | tr '\n' '|')"
churn_end
restarts=$(($(camp_starts "$BDF" nvme) - 1))
reconn=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
anew=$(grep -cE 'connecting anew|a new one connected' "$BROKER_LOG")
echo "# $CAMP_NAME: devbrokerd: $restarts restarts, $reconn disk reconnections (RECONFIGURE), $anew reconnected anew"
dmesg | grep -E 'nbd[0-9]+:' | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/# dmesg: /'
wait_for 60 no_dstate && echo "ok - $CAMP_NAME: nothing in D state after the load" ||
	{ camp_not_ok "in D state after the load:"; dstate_report; }
[ "$restarts" -ge "$KILLS_DONE" ] && echo "ok - $CAMP_NAME: $restarts restarts for $KILLS_DONE kills" ||
	camp_not_ok "$restarts restarts for $KILLS_DONE kills"
broker_stop
CAMP_BROKER_PID=
[ "$klrc" = 0 ] || camp_not_ok "the kill loop stopped early"
camp_end "$KILLS_DONE kills of drivers/nvme mid-I/O ($midio with I/O in flight, $RELEASES quarantines released); $restarts restarts; disk churn: $CHURN_SUMMARY" "$BDF"
