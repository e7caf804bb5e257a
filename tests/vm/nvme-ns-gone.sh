#!/bin/bash
# A namespace that vanishes under drivers/nvme (issue 14): QEMU's NVMe
# subsystem with two controllers sharing namespace 1 (vm-run
# --nvme-subsys).  The driver serves it from the first controller (ours,
# under devbrokerd); the kernel's nvme keeps the second, from which
# nvme-cli's detach-ns (Namespace Attachment, §5.19) takes the namespace
# away from ours, as another host of a shared subsystem would.
#
# Under a writer, the driver must hear of it (a Namespace Attribute
# Changed notice, §5.2, then the Changed Namespace List, §5.14.1.4), fail
# what follows with EIO, shut the controller down and exit with
# DBK_HANDOVER_EXIT_GONE (<devbroker/handover.h>); devbrokerd must not
# restart it, and must disconnect the disk: the writer fails with EIO,
# nothing stays in D state, no kernel splat.  `devbrokerctl bind` while
# the namespace is away: the driver finds none to serve and exits the same
# way, once (no restart loop).  Attached again, bound again: the disk is
# back, holds what the kernel's controller reads of the same namespace
# (nothing lost), and takes a verified fio run.  Unbound: the kernel's nvme
# has the controller back.
# usage: tests/vm/nvme-ns-gone.sh   (vm-nvme-ns-gone)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/nvme-lib.sh
VEN=0x1b36 DEV=0x0010
LINK=/dev/devbroker/block/dbknvme0
# The contract, from its one header.
GONE=$(sed -n 's/^#define DBK_HANDOVER_EXIT_GONE[[:space:]]*\([0-9]*\).*/\1/p' libdev/include/devbroker/handover.h)
[ -n "$GONE" ] || fail "no DBK_HANDOVER_EXIT_GONE in <devbroker/handover.h>"
command -v fio > /dev/null || skip "# SKIP fio is not installed"
command -v nvme > /dev/null || skip "# SKIP nvme-cli is not installed (tools/install-deps)"

BDFS=()
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && BDFS+=("$(basename "$d")")
done
[ "${#BDFS[@]}" = 2 ] || fail "want two NVMe controllers $VEN:$DEV (vm-run --nvme-subsys), found ${#BDFS[@]}"
BDF=${BDFS[0]} OTHER=${BDFS[1]}	# nvme0, nvme1: in the order vm-run adds them
export BDF

modprobe nvme || fail "modprobe nvme"
kctrl() { local c; for c in /sys/bus/pci/devices/$OTHER/nvme/nvme*; do [ -e "$c" ] && basename "$c"; done; }
# The shared namespace's block device: the only one, ours being devbroker's.
# (nvmeXn1; not nvmeXcYn1, a hidden path of the multipath head nvmeXn1).
kdisk() { local d; d=$(ls /sys/block | grep -m1 -E '^nvme[0-9]+n1$') && echo "/dev/$d"; }
wait_for 20 bash -c "[ -n \"\$(ls /sys/bus/pci/devices/$OTHER/nvme 2>/dev/null)\" ]"
KC=$(kctrl)
check "the kernel's nvme has the second controller ($OTHER: ${KC:-none})" [ -n "$KC" ]

nvme_broker_bind
SIZE=$(blockdev --getsize64 "$LINK")
CNTLID=$(grep -o 'controller ID [0-9]*' "$BROKER_LOG" | tail -n 1 | awk '{print $3}')
check "the driver's controller ID (${CNTLID:-?}) is not the kernel's ($(cat "/sys/class/nvme/$KC/cntlid"))" \
	[ -n "$CNTLID" -a "$CNTLID" != "$(cat "/sys/class/nvme/$KC/cntlid")" ]
wait_for 20 kdisk > /dev/null
KDISK=$(kdisk)
# One namespace, two controllers: what ours writes, the kernel's reads.
# The first MiB, which the writer below leaves alone: written (and
# flushed) before the namespace goes, it must be there when it comes back.
head -c 1M /dev/urandom > /tmp/pat
dd if=/tmp/pat of="$LINK" bs=1M oflag=direct conv=fsync status=none
check "1 MiB written through /dev/$NBD reads back the same through the kernel's ${KDISK:-?}" \
	bash -c "[ -n '$KDISK' ] && cmp /tmp/pat <(dd if='$KDISK' bs=1M count=1 iflag=direct status=none)"

# Detached under a writer.
pid=$(dev_field "$BDF" pid)
nshut=$(grep -c 'CSTS.SHST=2' "$BROKER_LOG")
MIDIO_OPTS=--offset=1M midio_start write
t0=$(ms_now)
nvme detach-ns "/dev/$KC" --namespace-id=1 --controllers="$CNTLID" > /tmp/detach.out 2>&1
nrc=$?
check "nvme detach-ns /dev/$KC -n 1 -c $CNTLID: exit $nrc, $(tr '\n' ' ' < /tmp/detach.out)" [ "$nrc" = 0 ]
check "the driver hears of it: namespace 1 no longer active on its controller" \
	wait_for 30 grep -q 'namespace 1 is no longer active on this controller' "$BROKER_LOG"
check "... it exits $GONE (gone) by itself, after shutting the controller down (CSTS.SHST=2)" \
	wait_for 30 bash -c "grep -q 'driver nvme (pid $pid): exit $GONE (gone)' '$BROKER_LOG' && [ \$(grep -c 'CSTS.SHST=2' '$BROKER_LOG') -gt $nshut ]"
echo "# detach to the driver's exit: $(( $(ms_now) - t0 )) ms"
grep -E "namespace 1|gone|$BDF: (exited|stopping)" "$BROKER_LOG" | tail -n 6 | diag
check "... /dev/$NBD disconnected, the link gone" \
	wait_for 30 bash -c "[ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ]"
writer_eio() { midio_ended && [ "$MIDIO_RC" != 0 ]; }	# here: it has our $MIDIO to wait for
check "... the writer failed with EIO" writer_eio
echo "# writer: status ${MIDIO_RC:-?}: $(grep -m1 -E 'error|err=' /tmp/midio.out)"
check "... nothing in D state within 60 s" wait_for 60 no_dstate
dstate_list | diag
sleep 5
check "... not restarted: idle 5 s later, no driver, $BDF still devbroker's" \
	bash -c "[ \"\$(dev_field $BDF state)\" = idle ] && [ \"\$(dev_field $BDF pid)\" = None ] && [ \"\$(drv_of $BDF)\" = devbroker ]"

# Bound while the namespace is away: nothing to serve, the same exit, once.
nstart=$(grep -c "$BDF: started" "$BROKER_LOG")
ngone=$(grep -c "exit $GONE (gone)" "$BROKER_LOG")
ctl bind "$BDF" > /dev/null 2>&1
check "devbrokerctl bind with the namespace away: the driver finds none to serve, exits $GONE" \
	wait_for 60 bash -c "grep -q 'no namespace to serve: none is active on the controller' '$BROKER_LOG' && [ \$(grep -c 'exit $GONE (gone)' '$BROKER_LOG') -gt $ngone ]"
sleep 5
check "... once: one start, idle after it, no link" \
	bash -c "[ \$(grep -c '$BDF: started' '$BROKER_LOG') = $((nstart + 1)) ] && [ \"\$(dev_field $BDF state)\" = idle ] && [ ! -e '$LINK' ]"

# Attached again: the disk is back, with what the namespace holds.
nvme attach-ns "/dev/$KC" --namespace-id=1 --controllers="$CNTLID" > /tmp/attach.out 2>&1
nrc=$?
check "nvme attach-ns /dev/$KC -n 1 -c $CNTLID: exit $nrc, $(tr '\n' ' ' < /tmp/attach.out)" [ "$nrc" = 0 ]
ctl bind "$BDF" > /dev/null 2>&1
check "devbrokerctl bind: $LINK back with $SIZE bytes" \
	wait_for 60 bash -c '[ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK")" = '"$SIZE"' ]'
NBD=$(basename "$(readlink "$LINK")")
check "nothing lost: the MiB written before the detach reads back through /dev/$NBD" \
	bash -c "cmp /tmp/pat <(dd if='$LINK' bs=1M count=1 iflag=direct status=none)"
check "... and /dev/$NBD reads what the kernel's $KDISK reads, all $SIZE bytes" \
	bash -c "cmp <(dd if='$LINK' bs=1M iflag=direct status=none) <(dd if='$KDISK' bs=1M iflag=direct status=none)"
fio --name=again --filename="$LINK" --ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-128k \
	--iodepth=16 --size=8M --verify=crc32c --do_verify=1 > /tmp/fio.out 2>&1
frc=$?
check "... and reusable: fio randwrite 8M verify=crc32c, exit $frc" [ "$frc" = 0 ]
[ "$frc" = 0 ] || tail -n 20 /tmp/fio.out | diag

check "nvme_firewall refused nothing of the driver's" bash -c "! grep -q 'denied on $BDF' '$BROKER_LOG'"
ctl unbind "$BDF" > /dev/null 2>&1
check "devbrokerctl unbind: the link goes, the kernel's nvme has $BDF back" \
	wait_for 60 bash -c "[ ! -e '$LINK' ] && [ \"\$(drv_of $BDF)\" = nvme ]"
broker_stop
check "no BUG/WARNING/Oops/Call Trace in the guest's kernel log" no_splat
splat | diag
[ "$FAILS" = 0 ] || { echo "# devbrokerd log:"; tail -n 40 "$BROKER_LOG" | diag; }
echo "# $FAILS failure(s)"
[ "$FAILS" = 0 ]
