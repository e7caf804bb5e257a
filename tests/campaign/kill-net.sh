#!/bin/bash
# Campaign kill, e1000e: SIGKILL of drivers/e1000e under devbrokerd at
# random moments (0..800 ms after each restart is seen running: during its
# NIC reset and bring-up, or mid-traffic) while tests/campaign/net-churn.py
# streams TCP and sends UDP datagrams through dbk0 to the kernel's e1000e
# in a network namespace, every byte checked.  devbrokerd keeps dbk0 (its
# TAP persists) and restarts the driver each time.  At the end: no byte
# differed from what was sent, dbk0 is the same interface (ifindex,
# address, MAC), traffic passes, and camp_end's checks.
# Usage: kill-net.sh KILLS   (vm-run with two e1000e on one hub: tests/vm/meson.build's e1000e_pair)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/e1000e-lib.sh
CAMP_NAME=kill-net
. tests/campaign/lib.sh
. tests/campaign/pci-lib.sh
kills=${1:-50}
net_camp_bed
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
ctl bind "$OURS" > /dev/null 2>&1
net_up || fail "$IF never came up on $OURS: $(tail -n 5 "$BROKER_LOG")"
# What the module's revocation can reset the NIC with (none: it settles only).
echo "# $CAMP_NAME: $OURS reset_method: $(cat /sys/bus/pci/devices/$OURS/reset_method 2>/dev/null || echo none)"
ifindex=$(cat /sys/class/net/$IF/ifindex) mac=$(cat /sys/class/net/$IF/address)
echo "# $CAMP_NAME: ours $OURS ($IF, ifindex $ifindex, $mac), the kernel's $THEIRS in $NS"
net_load_start
wait_for 60 bash -c "[ \$(cat /sys/class/net/$IF/statistics/tx_bytes) -gt $((1 << 20)) ]"
# Each kill: were frames moving through dbk0 in the 100 ms before?
midtx=0
moving() {
	local a b
	a=$(cat /sys/class/net/$IF/statistics/tx_packets 2>/dev/null)
	sleep 0.1
	b=$(cat /sys/class/net/$IF/statistics/tx_packets 2>/dev/null)
	[ "${b:-0}" -gt "${a:-0}" ] && midtx=$((midtx + 1))
	return 0
}
camp_kill_loop "$OURS" e1000e "$kills" 800 moving; klrc=$?
echo "# $CAMP_NAME: $KILLS_DONE kills, $midtx with frames moving through $IF"
wait_for 60 running "$OURS" && wait_for 60 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ]'
# Let the stream resume through the last restart before stopping the load.
b0=$(cat /sys/class/net/$IF/statistics/tx_bytes)
wait_for 60 bash -c "[ \$(cat /sys/class/net/$IF/statistics/tx_bytes) -gt $((b0 + (1 << 20))) ]" &&
	echo "ok - $CAMP_NAME: the load's traffic flows again after the last restart" ||
	camp_not_ok "no traffic through $IF after the last restart"
net_load_end
restarts=$(($(camp_starts "$OURS" e1000e) - 1))
anew=$(grep -c 'a new queue for the restarted driver' "$BROKER_LOG")
echo "# $CAMP_NAME: devbrokerd: $restarts restarts, $anew interfaces made anew"
[ "$restarts" -ge "$KILLS_DONE" ] && echo "ok - $CAMP_NAME: $restarts restarts for $KILLS_DONE kills" ||
	camp_not_ok "$restarts restarts for $KILLS_DONE kills"
[ "$(cat /sys/class/net/$IF/ifindex 2>/dev/null)" = "$ifindex" ] && ip -4 addr show dev $IF | grep -q 'inet 10.88.0.1/24' &&
	[ "$(cat /sys/class/net/$IF/address)" = "$mac" ] &&
	echo "ok - $CAMP_NAME: $IF kept throughout: ifindex $ifindex, 10.88.0.1/24, $mac" ||
	camp_not_ok "$IF changed: ifindex $(cat /sys/class/net/$IF/ifindex 2>/dev/null) (was $ifindex), $(ip -4 -o addr show dev $IF 2>/dev/null | awk '{print $4}'), $(cat /sys/class/net/$IF/address 2>/dev/null)"
loss=$(busybox ping -q -c 50 -i 0.05 -W 5 10.88.0.2 2>&1 | grep -o '[0-9]*% packet loss')
[ "$loss" = "0% packet loss" ] && echo "ok - $CAMP_NAME: 50 pings through the last driver, none lost" ||
	camp_not_ok "50 pings through the last driver: ${loss:-no answer}"
wait_for 60 no_dstate && echo "ok - $CAMP_NAME: nothing in D state" ||
	{ camp_not_ok "in D state:"; dstate_report; }
broker_stop
CAMP_BROKER_PID=
[ "$klrc" = 0 ] || camp_not_ok "the kill loop stopped early"
camp_end "$KILLS_DONE kills of drivers/e1000e mid-traffic ($midtx with frames moving, $RELEASES quarantines released); $restarts restarts; $NET_SUMMARY" "$OURS"
