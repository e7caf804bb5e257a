#!/bin/bash
# Campaign unplug, e1000e: hot-unplug and replug (QMP device_del/device_add,
# through tests/vm/qmp-agent) of our e1000e NIC (nic0) under devbrokerd,
# while tests/campaign/net-churn.py streams TCP and sends UDP datagrams
# through dbk0 to the kernel's NIC in a network namespace.  Each cycle,
# at a random moment of the load: the NIC leaves the bus and devbrokerd's
# list, the driver is gone (SIGKILL, or exit 3 having seen the
# revocation), dbk0 goes (no restart follows an unplug), nothing in D
# state; plugged in again (the kernel's e1000e probes it first: a
# hot-added PCI device is attached whatever drivers_autoprobe says,
# pci_bus_add_device() calling device_attach()), `devbrokerctl bind`
# (AutoBind=no) takes it from e1000e: a new dbk0, configured, carrier, a
# ping through.  Every byte the receiver got is what was sent.
# Usage: unplug-net.sh CYCLES   (as kill-net.sh, plus --qmp SOCK; pc machine)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/e1000e-lib.sh
CAMP_NAME=unplug-net
. tests/campaign/lib.sh
. tests/campaign/pci-lib.sh
cycles=${1:-10}
net_camp_bed
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
ctl bind "$OURS" > /dev/null 2>&1
net_up || fail "$IF never came up on $OURS: $(tail -n 5 "$BROKER_LOG")"
# What the module's revocation can reset the NIC with (none: it settles only).
echo "# $CAMP_NAME: $OURS reset_method: $(cat /sys/bus/pci/devices/$OURS/reset_method 2>/dev/null || echo none)"
net_load_start
wait_for 60 bash -c "[ \$(cat /sys/class/net/$IF/statistics/tx_bytes) -gt $((1 << 20)) ]"
listed() { ctl --json list 2>/dev/null | json "[d['id'] for d in r['devices']]" | grep -q "'$1'"; }
mine="[d['id'] for d in r['devices'] if d['driver'] == 'e1000e' and d['id'] != '$THEIRS']"
export -f listed
export THEIRS
done_cycles=0 dmax=0
for c in $(seq "$cycles"); do
	sleep "0.$((RANDOM % 1000))"	# somewhere in the middle of the load
	pid=$(dev_field "$OURS" pid)
	gone=0
	for try in 1 2 3; do	# a request just after a hot-add may be missed (unplug.sh)
		qmp device_del '{"id": "nic0"}' >/dev/null 2>&1
		wait_for 20 bash -c "[ ! -e /sys/bus/pci/devices/$OURS ]" && { gone=1; break; }
	done
	[ $gone = 1 ] || { camp_not_ok "cycle $c: $OURS stayed after 3 requests"; break; }
	wait_for 60 bash -c "! listed $OURS && ! kill -0 $pid 2>/dev/null && grep -qE 'exited: driver e1000e \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG'" ||
		{ camp_not_ok "cycle $c: the driver (pid $pid) did not end with its NIC (SIGKILL or exit 3), or devbrokerd still lists $OURS: $(grep "pid $pid" "$BROKER_LOG" | tail -n 2 | tr '\n' '|')"; break; }
	wait_for 30 bash -c '! ip link show $IF > /dev/null 2>&1' ||
		{ camp_not_ok "cycle $c: $IF stayed after the unplug"; break; }
	t0=$SECONDS
	wait_for 60 no_dstate ||
		{ camp_not_ok "cycle $c: in D state 60 s after the unplug:"; dstate_report; break; }
	[ $((SECONDS - t0)) -gt "$dmax" ] && dmax=$((SECONDS - t0))
	# Plugged in again: the kernel's e1000e takes it first (see above).
	added=0
	for try in $(seq 60); do	# QEMU finishes a device_del after the guest lets go
		out=$(qmp device_add '{"driver": "e1000e", "netdev": "hp0", "id": "nic0", "mac": "52:54:00:12:34:01"}' 2>&1) &&
			! grep -q '"error"' <<<"$out" && { added=1; break; }
		sleep 0.5
	done
	[ $added = 1 ] || { camp_not_ok "cycle $c: device_add: $out"; break; }
	if ! wait_for 60 bash -c "ctl --json list | json \"$mine\" | grep -q \"'\""; then
		camp_not_ok "cycle $c: devbrokerd does not list the replugged NIC"; break
	fi
	OURS=$(ctl --json list | json "$mine[0]")
	ctl bind "$OURS" > /dev/null 2>&1
	net_up || { camp_not_ok "cycle $c: the replugged NIC ($OURS) serves no $IF with carrier and ping: $(tail -n 3 "$BROKER_LOG" | tr '\n' '|')"; break; }
	done_cycles=$c
	[ $((c % 5)) = 0 ] && camp_progress "$c cycles; pinned pages $(camp_pins), vectors $(camp_vectors)"
done
echo "# $CAMP_NAME: D state cleared at most $dmax s after an unplug"
[ "$done_cycles" = "$cycles" ] && echo "ok - $CAMP_NAME: $cycles cycles: the driver ended with its NIC, $IF went, nothing in D state; replugged, bound, a new $IF passes traffic" ||
	camp_not_ok "$done_cycles of $cycles cycles completed"
# The load's traffic through the last NIC before it stops.
b0=$(cat /sys/class/net/$IF/statistics/tx_bytes 2>/dev/null || echo 0)
wait_for 60 bash -c "[ \$(cat /sys/class/net/$IF/statistics/tx_bytes) -gt $((b0 + (1 << 20))) ]" &&
	echo "ok - $CAMP_NAME: the load's traffic flows through the last replugged NIC" ||
	camp_not_ok "no load traffic through the last replugged NIC"
net_load_end
! grep -q 'did not exit after the unplug' "$BROKER_LOG" &&
	echo "ok - $CAMP_NAME: no driver had to be killed after an unplug's grace" ||
	camp_not_ok "$(grep 'did not exit after the unplug' "$BROKER_LOG" | head -n 1)"
broker_stop
CAMP_BROKER_PID=
camp_end "$done_cycles of $cycles unplug/replug cycles of the e1000e NIC under traffic ($NET_SUMMARY)" "$OURS"
