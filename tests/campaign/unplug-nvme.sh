#!/bin/bash
# Campaign unplug, NVMe: hot-unplug and replug (QMP device_del/device_add,
# through tests/vm/qmp-agent) of QEMU's NVMe controller served by
# drivers/nvme under devbrokerd, while tests/campaign/disk-churn.py
# writes, fsyncs and reads its nbd disk.  Each cycle, unplugged at a random
# moment of the load: the controller leaves the bus and devbrokerd's list,
# the driver is gone (SIGKILL, or exit 3 having seen the revocation),
# /dev/nbdN is disconnected and the link gone, the churn's I/O fails
# cleanly (nothing in D state); replugged: `devbrokerctl bind` (AutoBind=no)
# and the disk is served again.  The namespace's image outlives the
# device, so at the end nothing acknowledged may be missing from it.
# Usage: unplug-nvme.sh CYCLES   (vm-run --nvme --qmp SOCK --host tests/vm/qmp-agent; pc machine)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=unplug-nvme
. tests/campaign/lib.sh
. tests/campaign/pci-lib.sh
cycles=${1:-10}
nvme_camp_bed
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
ctl bind "$BDF" > /dev/null 2>&1
wait_for 90 disk_up || fail "devbrokerctl bind $BDF: no disk at $LINK: $(tail -n 5 "$BROKER_LOG")"
churn_start expect	# every cycle takes the disk away
NBD=$(basename "$(readlink -f "$LINK")")
wait_for 60 bash -c "[ \$(awk '{print \$1 + \$5}' /sys/block/$NBD/stat) -ge 64 ]"
listed() { ctl --json list 2>/dev/null | json "[d['id'] for d in r['devices']]" | grep -q "'$1'"; }
export -f listed
drive=nvm done_cycles=0 dmax=0
for c in $(seq "$cycles"); do
	sleep "0.$((RANDOM % 1000))"	# somewhere in the middle of the load
	pid=$(dev_field "$BDF" pid)
	NBD=$(basename "$(readlink -f "$LINK")")
	# The guest may miss an eject request just after a hot-add (unplug.sh): ask again.
	gone=0
	for try in 1 2 3; do
		qmp device_del '{"id": "nvme0"}' >/dev/null 2>&1
		wait_for 20 bash -c "[ ! -e /sys/bus/pci/devices/$BDF ]" && { gone=1; break; }
	done
	[ $gone = 1 ] || { camp_not_ok "cycle $c: $BDF stayed after 3 requests"; break; }
	wait_for 60 bash -c "! listed $BDF && ! kill -0 $pid 2>/dev/null && grep -qE 'exited: driver nvme \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG'" ||
		{ camp_not_ok "cycle $c: the driver (pid $pid) did not end with its device (SIGKILL or exit 3), or devbrokerd still lists $BDF: $(grep "pid $pid" "$BROKER_LOG" | tail -n 2 | tr '\n' '|')"; break; }
	wait_for 60 bash -c "[ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ]" ||
		{ camp_not_ok "cycle $c: /dev/$NBD was not disconnected (size $(cat /sys/block/$NBD/size)), or $LINK stayed: $(ls -l "$LINK" 2>&1)"; break; }
	t0=$SECONDS
	wait_for 60 no_dstate ||
		{ camp_not_ok "cycle $c: in D state 60 s after the unplug:"; dstate_report; break; }
	[ $((SECONDS - t0)) -gt "$dmax" ] && dmax=$((SECONDS - t0))
	# QEMU may still hold the id a moment; the drive's node may have gone
	# with the device (-drive's auto-delete) or stay, still attached: then
	# the image again through a node of its own, without image locking
	# (the old device does no more I/O), as unplug-usb.sh does.
	added=0
	for try in $(seq 60); do
		out=$(qmp device_add "{\"driver\": \"nvme\", \"id\": \"nvme0\", \"serial\": \"dbk0001\", \"drive\": \"$drive\"}" 2>&1) &&
			! grep -q '"error"' <<<"$out" && { added=1; break; }
		if [[ $out == *"Permission conflict"* || $out == *"not found"* || $out == *"find value"* || $out == *"in use"* || $out == *"attached"* ]]; then
			drive=nvm-$c
			qmp blockdev-add "{\"driver\": \"raw\", \"node-name\": \"$drive\", \"file\": {\"driver\": \"file\", \"filename\": \"$DBK_VM_DIR/nvme.img\", \"locking\": \"off\"}}" >/dev/null 2>&1
		fi
		sleep 0.5
	done
	[ $added = 1 ] || { camp_not_ok "cycle $c: device_add: $out"; break; }
	wait_for 60 nvme_bdf > /dev/null || { camp_not_ok "cycle $c: the controller did not come back on the bus"; break; }
	BDF=$(nvme_bdf)
	wait_for 60 listed "$BDF" || { camp_not_ok "cycle $c: devbrokerd does not list the replugged $BDF"; break; }
	ctl bind "$BDF" > /dev/null 2>&1
	wait_for 90 disk_up ||
		{ camp_not_ok "cycle $c: the replugged controller ($BDF) does not serve $LINK: $(tail -n 3 "$BROKER_LOG" | tr '\n' '|')"; break; }
	done_cycles=$c
	[ $((c % 5)) = 0 ] && camp_progress "$c cycles; pinned pages $(camp_pins), vectors $(camp_vectors)"
done
echo "# $CAMP_NAME: drive node now '$drive'; D state cleared at most $dmax s after an unplug"
[ "$done_cycles" = "$cycles" ] && echo "ok - $CAMP_NAME: $cycles cycles: the driver ended with its device, /dev/nbdN disconnected, nothing left in D state; replugged, bound and served again" ||
	camp_not_ok "$done_cycles of $cycles cycles completed"
churn_end
# A revoked grant's queues read as zeros: never taken for completions.
n=$(grep -c 'which is not outstanding' "$BROKER_LOG")
[ "$n" = 0 ] && echo "ok - $CAMP_NAME: no revoked queue's zeros taken for completions" ||
	camp_not_ok "$n completions of CIDs not outstanding logged: $(grep -m1 'which is not outstanding' "$BROKER_LOG")"
! grep -q 'did not exit after the unplug' "$BROKER_LOG" &&
	echo "ok - $CAMP_NAME: no driver had to be killed after an unplug's grace" ||
	camp_not_ok "$(grep 'did not exit after the unplug' "$BROKER_LOG" | head -n 1)"
broker_stop
CAMP_BROKER_PID=
camp_end "$done_cycles of $cycles unplug/replug cycles of the NVMe controller under the disk churn ($CHURN_SUMMARY)" $(nvme_bdf)
