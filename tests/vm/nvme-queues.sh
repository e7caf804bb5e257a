#!/bin/bash
# drivers/nvme on a controller that grants fewer I/O queue pairs than the
# driver asks for (vm-run --nvme-opts max_ioqpairs=1: Set Features, Number
# of Queues, §5.21.1.7, answers one), under devbrokerd with the installed
# manifest (BlockQueues=2: devbrokerd connects /dev/nbdN with two
# connections before the driver has seen the controller).
# The driver must free the queue it cannot create and serve both
# connections on the one it has (drivers/nvme/serve.c: connection i on
# queue i % n), first at bind and again after a SIGKILL, when devbrokerd
# hands the restarted driver two new connections (NBD_CMD_RECONFIGURE)
# and the controller, reset between grants, again grants one.  Each time,
# fio writes and verifies from both vCPUs at once, each pinned to the CPU
# of one hardware queue of nbd's, so that each connection carries its own
# share of the requests.
# usage: tests/vm/nvme-queues.sh   (vm-nvme-queues)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/nvme-lib.sh
VEN=0x1b36 DEV=0x0010
LINK=/dev/devbroker/block/dbknvme0
command -v fio > /dev/null || skip "# SKIP fio is not installed"
[ "$(nproc)" -ge 2 ] || skip "# SKIP one vCPU: nbd would make one hardware queue of the two connections"

BDF=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && BDF=$(basename "$d")
done
[ -n "$BDF" ] || fail "no NVMe controller $VEN:$DEV (vm-run --nvme)"
grep -qx 'BlockQueues=2' "$DBK_MANIFESTS/nvme.conf" || fail "the installed manifest no longer asks BlockQueues=2"

# fio from both vCPUs at once: job i pinned to the CPUs of nbd's hardware
# queue i (so on connection i: nbd sends hardware queue i's requests on
# its socket i), each on its own half of the 16 MiB disk, random writes
# of 4k..128k at depth 8, every block verified (crc32c).  Each job must
# have written its 8 MiB and read it back with no error.
both_connections() {	# both_connections WHAT
	local nbd cpus args=() q frc res
	nbd=$(basename "$(readlink "$LINK")")
	for q in 0 1; do
		cpus=$(cat "/sys/block/$nbd/mq/$q/cpu_list" 2>/dev/null | tr -d ' ')
		[ -n "$cpus" ] || { notok "$1: /dev/$nbd has hardware queue $q"; return; }
		args+=(--name="conn$q" --cpus_allowed="$cpus" --offset=$((q * 8))M)
	done
	fio --filename="$LINK" --ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-128k \
		--iodepth=8 --size=8M --verify=crc32c --do_verify=1 --output-format=json \
		"${args[@]}" > /tmp/fio.json 2> /tmp/fio.err
	frc=$?
	# Per job: errors, MiB written, MiB read back.
	res=$(python3 -c '
import json
print(" ".join("%d/%d/%d/%d" % (j["error"], j.get("total_err", 0), j["write"]["io_bytes"] >> 20,
                                j["read"]["io_bytes"] >> 20) for j in json.load(open("/tmp/fio.json"))["jobs"]))' 2>/dev/null)
	check "$1: fio from each of nbd's hardware queues' CPUs at once ($(cat /sys/block/$nbd/mq/0/cpu_list) and $(cat /sys/block/$nbd/mq/1/cpu_list)), randwrite 4k-128k verify=crc32c: exit $frc; per job errors/errors/MiB written/MiB verified: ${res:-?}" \
		[ "$frc" = 0 -a "${res:-x}" = "0/0/8/8 0/0/8/8" ]
	[ "$frc" = 0 ] || diag < /tmp/fio.err
}
# The driver's own words on the queues, the n-th time it said them.
queues_logged() {	# queues_logged N
	[ "$(grep -c 'the controller grants 1 I/O queue pairs of the 2 asked; using 1' "$BROKER_LOG")" -ge "$1" ] &&
		[ "$(grep -c 'serving namespace 1: .* 2 connection(s) on 1 I/O queue pair(s)' "$BROKER_LOG")" -ge "$1" ]
}

modprobe nvme || fail "modprobe nvme"
nvme_broker_bind
check "the controller grants 1 I/O queue pair of the 2 asked: the driver serves 2 connections on 1" \
	wait_for 10 queues_logged 1
grep -E 'grants|serving namespace' "$BROKER_LOG" | diag
check "/dev/$NBD has two hardware queues (one per connection)" \
	[ "$(ls "/sys/block/$NBD/mq" | wc -l)" = 2 ]
both_connections "at bind"

pid=$(dev_field "$BDF" pid)
nrec=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
kill -KILL "$pid"
check "SIGKILL: the driver restarted, /dev/$NBD reconfigured with two new connections" \
	wait_for 60 bash -c "p=\$(dev_field $BDF pid); [ \"\$p\" != None ] && [ \"\$p\" != $pid ] && [ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $nrec ]"
check "... and again 1 I/O queue pair for the 2 connections" wait_for 10 queues_logged 2
both_connections "after the restart"

check "nvme_firewall refused nothing of the driver's" bash -c "! grep -q 'denied on $BDF' '$BROKER_LOG'"
ctl unbind "$BDF" > /dev/null 2>&1
check "devbrokerctl unbind: the link goes" wait_for 60 bash -c '[ ! -e "$LINK" ]'
broker_stop
check "no BUG/WARNING/Oops/Call Trace in the guest's kernel log" \
	bash -c "! dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace'"
[ "$FAILS" = 0 ] || { echo "# devbrokerd log:"; tail -n 40 "$BROKER_LOG" | diag; }
echo "# $FAILS failure(s)"
[ "$FAILS" = 0 ]
