#!/bin/bash
# drivers/nvme serving its namespace as a disk (block frontend: NBD over
# socket pairs) under devbrokerd with the installed manifest, on QEMU's
# NVMe controller (vm-run --nvme-img: the host's image, which
# tests/vm/nvme-block-run checks after the VM).
#
# The kernel's nvme driver has the controller first; `devbrokerctl bind`
# (AutoBind=no) gives it to the driver; /dev/devbroker/block/dbknvme0 links
# to a /dev/nbdN of the namespace's size; fio writes and verifies the raw
# disk (beside the kernel's nvme's numbers: 4k..128k, sequential and random,
# depth 1 to 32), a trimmed range reads back as zeroes, then again with the driver
# SIGKILLed twice in the middle (4 crashes in all here: RestartBurst=5
# would quarantine the fifth); ext4 is made, the host's tree copied in, unmounted, mounted again
# and verified; the driver is SIGKILLed under a writer: restarted, its
# connections swapped in (RECONFIGURE), the writer finishes or fails with
# EIO, nothing stays in D state; three controller resets (SIGUSR1) under
# fio: what each ends is sent again, no error; SIGTERM shuts the controller down (CC.SHN);
# `devbrokerctl unbind` gives the controller back to the kernel's nvme,
# which mounts the file system and finds the tree.
# Faults mid-I/O (issue 14), each ending with the clients' I/O completed or
# failed with EIO, nothing in D state, no kernel splat, and (but the last)
# the controller reusable by a fresh `devbrokerctl bind`: an orderly stop
# (unbind: SIGTERM, the driver drains and shuts the controller down within
# its StopTimeoutSec=, CSTS.SHST=2, exit 0, only then back to the kernel),
# `devbrokerctl revoke` (at once: no SIGTERM, SIGKILL), and at the very end
# hot-unplug (QMP device_del; vm-nvme-block-iommu's controller sits behind
# a PCIe root port, q35's hotplug slot) under a reader.
# usage: tests/vm/nvme-block.sh TREE   (TREE: files to copy, and TREE.sums)
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/nvme-lib.sh
TREE=${1:?usage: nvme-block.sh TREE}
VEN=0x1b36 DEV=0x0010
LINK=/dev/devbroker/block/dbknvme0
MNT=/tmp/dbk-nvme-mnt
kdisk() {	# the kernel's namespace block device, once it appears
	local b
	for b in /sys/bus/pci/devices/$BDF/nvme/nvme*/nvme*n1; do
		[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}
# devbrokerctl bind again: a fresh driver serves the disk, fio verifies 16M on it.
rebind_reuse() {	# rebind_reuse WHAT
	local frc
	ctl bind "$BDF" > /dev/null 2>&1
	check "$1: devbrokerctl bind: a fresh driver, $LINK back with $SIZE bytes" \
		wait_for 60 bash -c '[ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK")" = '"$SIZE"' ]'
	NBD=$(basename "$(readlink "$LINK")")
	fio_verify "$LINK" --size=16M; frc=$?
	check "$1: ... the disk is reusable: fio randwrite 16M verify=crc32c on /dev/$NBD, exit $frc" [ "$frc" = 0 ]
	[ "$frc" = 0 ] || diag < /tmp/fio.err
}
export -f kdisk
export MNT

BDF=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && BDF=$(basename "$d")
done
[ -n "$BDF" ] || fail "no NVMe controller $VEN:$DEV (vm-run --nvme)"
export BDF
check "the installed manifest asks for a disk: Block=dbknvme%i, BlockQueues=2" \
	grep -qx 'Block=dbknvme%i' "$DBK_MANIFESTS/nvme.conf"

# The kernel's nvme first: the namespace's size as it sees it.
modprobe nvme || fail "modprobe nvme"
[ -e "/sys/bus/pci/devices/$BDF/driver" ] || echo "$BDF" > /sys/bus/pci/drivers_probe
wait_for 20 kdisk > /dev/null
KDISK=$(kdisk)
SIZE=$(blockdev --getsize64 "$KDISK" 2>/dev/null)
check "the kernel's nvme binds $BDF: ${KDISK:-no disk}, ${SIZE:-?} bytes" [ -n "$SIZE" ]

# The same fio job on the kernel's nvme first, for comparison (numbers only).
fio_verify() {	# fio_verify DISK [FIO-OPTIONS...]
	local disk=$1; shift
	fio --name=nvme-verify --filename="$disk" --ioengine=libaio --direct=1 --rw=randwrite \
		--bsrange=4k-128k --iodepth=16 --size=64M --verify=crc32c --do_verify=1 \
		--output-format=json "$@" > /tmp/fio.json 2> /tmp/fio.err
}
fio_numbers() {
	python3 -c '
import json; j = json.load(open("/tmp/fio.json"))["jobs"][0]
w, r = j["write"], j["read"]
print("fio write %.0f IOPS %.1f MiB/s (clat mean %.0f us), verify read %.0f IOPS %.1f MiB/s, errors %d" % (
    w["iops"], w["bw"] / 1024, w["clat_ns"]["mean"] / 1000, r["iops"], r["bw"] / 1024, j["error"]))' 2>/dev/null
}
if command -v fio > /dev/null && [ -n "$KDISK" ]; then
	fio_verify "$KDISK"
	echo "# the kernel's nvme: $(fio_numbers)"
fi

# devbrokerd with the installed manifest (MaxDMA 16M; unsafe DMA allowed,
# which changes nothing behind an IOMMU: the grant's domain confines it).
echo "# IOMMU: $([ -n "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ] && echo on || echo off)"
broker_setup
cp "$DBK_MANIFESTS/nvme.conf" "$BRK/sys/"
broker_start
sleep 1
check "devbrokerd leaves the controller to the kernel's nvme (AutoBind=no)" [ "$(drv_of "$BDF")" = nvme ]
t0=$(ms_now)
ctl bind "$BDF" > /dev/null 2>&1
check "devbrokerctl bind: $LINK appears, a /dev/nbdN of $SIZE bytes" \
	wait_for 60 bash -c '[ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK")" = '"$SIZE"' ]'
echo "# bind to disk: $(( $(ms_now) - t0 )) ms"
NBD=$(basename "$(readlink "$LINK")")
grep -E 'nvme|dbknvme' "$BROKER_LOG" | grep -E 'serving|queue pair|block' | tail -n 4 | diag
# The disk's identity from Identify Controller (vm-run: serial=dbk0001),
# linked as udev links the kernel's nvme namespaces (nvme-MODEL_SERIAL_NSID).
BYID=/dev/disk/by-id/devbroker-nvme+QEMU_NVMe_Ctrl_dbk0001_1
check "$BYID links to /dev/$NBD (the drive's model, serial and NSID), beside devbroker-dbknvme0" \
	bash -c "[ \"\$(readlink $BYID)\" = ../../$NBD ] && [ \"\$(readlink /dev/disk/by-id/devbroker-dbknvme0)\" = ../../$NBD ]"
ls -l /dev/disk/by-id/ | grep devbroker | diag
check "the driver serves the namespace on 2 connections, 2 I/O queue pairs, with FUA, trim, write zeroes" \
	grep -q "serving namespace 1: $SIZE bytes in blocks of 512, 2 connection(s) on 2 I/O queue pair(s), .*FUA, trim, write zeroes" "$BROKER_LOG"
check "/dev/$NBD: two hardware queues, max_sectors_kb 128 (the driver's max transfer)" \
	bash -c "[ \$(ls /sys/block/$NBD/mq | wc -l) = 2 ] && [ \$(cat /sys/block/$NBD/queue/max_sectors_kb) = 128 ]"
pid=$(dev_field "$BDF" pid)
# devbrokerd's PR_SET_IO_FLUSHER: PF_MEMALLOC_NOIO (0x80000) and
# PF_LOCAL_THROTTLE (0x100000) in /proc/PID/stat's flags, inherited by
# every thread (the connection threads allocate, in submit(), and reap).
flags=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f7)
check "the driver runs as a dynamic user of its own with PR_SET_IO_FLUSHER (flags $flags)" \
	bash -c "[ \$(( $flags & 0x180000 )) = \$(( 0x180000 )) ] && dynamic_uid $pid"
# The manifest's register firewall (Policy=nvme_firewall) holds the grant:
# the registers page mediated, the doorbells mapped; nothing of the
# driver's refused is checked before the hot-unplug, after every fault.
check "the driver runs under its register firewall: nvme_firewall loaded, registers through pread/pwrite, doorbells through mmap()" \
	bash -c "ctl policy list | grep -q 'nvme_firewall on dbk_policy_access' && grep -q 'registers through pread/pwrite, doorbells through mmap()' '$BROKER_LOG'"

# fio on the raw disk: random writes of 4k..128k, every block verified (crc32c).
if command -v fio > /dev/null; then
	t0=$(ms_now)
	fio_verify "$LINK"
	frc=$?
	fio_errs=$(python3 -c 'import json; j=json.load(open("/tmp/fio.json"))["jobs"][0]; print(j["error"], j.get("total_err", 0))' 2>/dev/null)
	check "fio randwrite 4k-128k, iodepth 16, 64M, verify=crc32c: exit $frc, errors ${fio_errs:-?}" \
		[ "$frc" = 0 -a "${fio_errs:-x}" = "0 0" ]
	echo "# ours: $(fio_numbers)"
	echo "# fio took $(( $(ms_now) - t0 )) ms"
	[ "$frc" = 0 ] || diag < /tmp/fio.err
	# The same verification at the other ends of the range: sequential
	# writes at depth 1 (4 KiB and 128 KiB), random ones at depth 32.
	for v in "write 4k 1" "write 128k 1" "randwrite 4k 1" "write 128k 32" \
		"randwrite 4k 32" "randwrite 128k 32"; do
		set -- $v
		fio_verify "$LINK" --rw="$1" --bsrange="$2-$2" --iodepth="$3" --size=8M
		frc=$?
		fio_errs=$(python3 -c 'import json; j=json.load(open("/tmp/fio.json"))["jobs"][0]; print(j["error"], j.get("total_err", 0))' 2>/dev/null)
		check "fio $1 $2, iodepth $3, 8M, verify=crc32c: exit $frc, errors ${fio_errs:-?}" \
			[ "$frc" = 0 -a "${fio_errs:-x}" = "0 0" ]
		[ "$frc" = 0 ] || diag < /tmp/fio.err
	done
	# A trim reaches the controller: a pattern written, the range
	# discarded (NBD_CMD_TRIM, then Dataset Management's deallocate) reads
	# back as zeroes (vm-run's discard=unmap punches the image's hole); a
	# driver that only acknowledged the trim would read the pattern back.
	head -c 1M /dev/zero | tr '\0' '\245' > /tmp/pat
	check "trim: /dev/$NBD takes discards ($(cat /sys/block/$NBD/queue/discard_max_bytes) bytes at most); 1 MiB of 0xa5 at 8 MiB written and read back" \
		bash -c "[ \$(cat /sys/block/$NBD/queue/discard_max_bytes) -gt 0 ] && dd if=/tmp/pat of='$LINK' bs=1M seek=8 oflag=direct conv=fsync status=none && dd if='$LINK' bs=1M skip=8 count=1 iflag=direct status=none | cmp -s - /tmp/pat"
	check "... blkdiscard of it, then it reads back as zeroes (the controller deallocated it)" \
		bash -c "blkdiscard -o $((8 << 20)) -l $((1 << 20)) '$LINK' && dd if='$LINK' bs=1M skip=8 count=1 iflag=direct status=none | cmp -s - <(head -c 1M /dev/zero)"
	# Twice SIGKILLed while the same job runs 4 times over: the kernel's
	# nbd holds and resends what was in flight (BlockDeadConnSec=,
	# BlockTimeoutSec=), so every block must still verify.
	t0=$(ms_now)
	fio_verify "$LINK" --loops=4 &
	fpid=$!
	kills=0
	for k in 1 2; do
		sleep 2
		kill -0 $fpid 2>/dev/null || break
		p=$(dev_field "$BDF" pid); nrec=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
		kill -KILL "$p" && kills=$((kills + 1))
		wait_for 60 bash -c "[ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $nrec ]" || break
	done
	wait_for 300 bash -c "! kill -0 $fpid 2>/dev/null"
	wait $fpid; frc=$?
	fio_errs=$(python3 -c 'import json; j=json.load(open("/tmp/fio.json"))["jobs"][0]; print(j["error"], j.get("total_err", 0))' 2>/dev/null)
	check "fio verify x4 with $kills SIGKILL(s) of the driver in the middle: exit $frc, errors ${fio_errs:-?}" \
		[ "$kills" -ge 1 -a "$frc" = 0 -a "${fio_errs:-x}" = "0 0" ]
	echo "# under kills: $(fio_numbers); $(( $(ms_now) - t0 )) ms"
	[ "$frc" = 0 ] || { diag < /tmp/fio.err; tail -n 20 "$BROKER_LOG" | diag; }
	check "... nothing in D state within 60 s" wait_for 60 no_dstate

	# Three controller resets (SIGUSR1, as the kernel's reset_controller)
	# while the job runs (4 loops): every command a reset ends is sent again
	# once the controller is back, so every block verifies, fio sees no
	# error, and the same driver serves throughout.
	# Under TCG the device is quick and the time is nbd's: the drive is
	# throttled (QMP) for a moment before each reset, so that commands
	# wait in the controller when it comes (a reset drains them anyway).
	p=$(dev_field "$BDF" pid)
	nback=$(grep -c 'SIGUSR1: the controller is back' "$BROKER_LOG")
	throttle() {	# throttle IOPS (0: off); counts QMP's refusals in $thr_err
		qmp block_set_io_throttle '{"device": "nvm", "bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": '"$1"', "iops_rd": 0, "iops_wr": 0}' > /tmp/qmp-throttle.out ||
			{ thr_err=$((thr_err + 1)); diag < /tmp/qmp-throttle.out; }
	}
	thr_err=0
	fio_verify "$LINK" --loops=4 &
	fpid=$!
	resets=0
	for k in 1 2 3; do
		sleep 1.5
		throttle 20; sleep 0.5
		kill -USR1 "$p" && resets=$((resets + 1))
		wait_for 30 bash -c "[ \$(grep -c 'SIGUSR1: the controller is back' '$BROKER_LOG') -ge $((nback + resets)) ]"
		throttle 0
	done
	wait_for 300 bash -c "! kill -0 $fpid 2>/dev/null"
	wait $fpid; frc=$?
	fio_errs=$(python3 -c 'import json; j=json.load(open("/tmp/fio.json"))["jobs"][0]; print(j["error"], j.get("total_err", 0))' 2>/dev/null)
	resent=$(grep 'SIGUSR1: the controller is back' "$BROKER_LOG" | tail -n "$resets" |
		 sed -n 's/.*back; \([0-9]*\) command.*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
	check "fio verify x4 with $resets controller reset(s) in the middle (the drive throttled around each, $thr_err QMP refusal(s)), ${resent:-?} command(s) sent again: exit $frc, errors ${fio_errs:-?}, driver pid $p throughout" \
		[ "$resets" = 3 -a "$thr_err" = 0 -a "${resent:-0}" -ge 1 -a "$frc" = 0 -a "${fio_errs:-x}" = "0 0" -a "$(dev_field "$BDF" pid)" = "$p" ]
	echo "# under resets: $(fio_numbers)"
	[ "$frc" = 0 ] || { diag < /tmp/fio.err; tail -n 20 "$BROKER_LOG" | diag; }

	# An orderly stop mid-I/O: unbind under a writer.  The driver gets
	# SIGTERM, completes what it took, deletes its queues and shuts the
	# controller down (CSTS.SHST=2) and exits 0 within StopTimeoutSec=15;
	# then its disk is disconnected (the writer's rest: EIO) and the
	# controller goes back to the kernel's nvme.
	pid=$(dev_field "$BDF" pid)
	nshut=$(grep -c 'CSTS.SHST=2' "$BROKER_LOG")
	midio_start write
	t0=$(ms_now)
	ctl unbind "$BDF" > /dev/null 2>&1
	check "orderly stop (unbind) mid-I/O: the driver (pid $pid) gets SIGTERM, StopTimeoutSec=15" \
		wait_for 10 grep -q "$BDF: stopping: driver nvme (pid $pid): SIGTERM, 15 s to exit" "$BROKER_LOG"
	check "... it shuts the controller down (CSTS.SHST=2 logged) and exits 0 by itself" \
		wait_for 30 bash -c "[ \$(grep -c 'CSTS.SHST=2' '$BROKER_LOG') -gt $nshut ] && grep -q 'driver nvme (pid $pid): exit 0' '$BROKER_LOG' && ! grep -q 'pid $pid) did not exit within' '$BROKER_LOG'"
	echo "# unbind to the driver's exit: $(( $(ms_now) - t0 )) ms"
	# Its queues' counts, logged at the end: under fio's load the waits
	# polled (--poll adaptive, the default), besides sleeping on interrupts.
	grep 'switches to polling' "$BROKER_LOG" | tail -n 2 | diag
	check "... its waits switched to polling under the load (adaptive), and slept on interrupts too" \
		bash -c "grep 'switches to polling' '$BROKER_LOG' | tail -n 2 | grep -v ' 0 interrupts' | grep -qv ' 0 completions reaped by polling'"
	grep -E "shut down|$BDF: (stopping|exited|unbound)" "$BROKER_LOG" | tail -n 4 | diag
	check "... /dev/$NBD disconnected, the link gone, then the controller is the kernel's nvme's" \
		wait_for 60 bash -c "[ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ] && [ \"\$(drv_of $BDF)\" = nvme ]"
	check "... the writer completed or failed with EIO" midio_ended
	echo "# writer: status ${MIDIO_RC:-?}: $(grep -m1 -E 'error|err=' /tmp/midio.out)"
	check "... nothing in D state within 60 s" wait_for 60 no_dstate
	dstate_list | diag
	check "... no kernel splat" no_splat
	rebind_reuse "orderly stop"

	# devbrokerctl revoke mid-I/O: at once, no SIGTERM, no grace.
	pid=$(dev_field "$BDF" pid)
	midio_start write
	t0=$(ms_now)
	ctl revoke "$BDF" > /dev/null 2>&1
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	dt=$(( $(ms_now) - t0 ))
	# SIGKILL, or the driver's own exit 3 (revoked) if it saw the
	# revocation first; never SIGBUS (libdev catches the revoked mappings).
	check "revoke mid-I/O: immediate: the driver (pid $pid) gone in $dt ms, no SIGTERM first: $(grep -o "driver nvme (pid $pid): [a-z]* [0-9]*" "$BROKER_LOG" | tail -n1)" \
		bash -c "[ $dt -lt 5000 ] && grep -qE 'driver nvme \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG' && ! grep -q 'stopping: driver nvme (pid $pid)' '$BROKER_LOG'"
	check "... /dev/$NBD disconnected, the link gone; $BDF stays devbroker's, revoked" \
		wait_for 60 bash -c "[ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ] && [ \"\$(drv_of $BDF)\" = devbroker ] && [ \"\$(dev_field $BDF state)\" = revoked ]"
	check "... the writer completed or failed with EIO" midio_ended
	echo "# writer: status ${MIDIO_RC:-?}: $(grep -m1 -E 'error|err=' /tmp/midio.out)"
	check "... nothing in D state within 60 s" wait_for 60 no_dstate
	dstate_list | diag
	check "... no kernel splat" no_splat
	rebind_reuse "revoke"
	pid=$(dev_field "$BDF" pid)
else
	ok "# SKIP fio is not installed"
fi

# ext4, the host's tree, umount, mount, verify.
mkdir -p "$MNT"
t0=$(ms_now)
check "mkfs.ext4 on $LINK" mkfs.ext4 -q -F -L dbknvme "$LINK"
echo "# mkfs.ext4: $(( $(ms_now) - t0 )) ms"
# Its error and the kernel's last words when it fails (seen once on the debug kernel, unexplained).
if out=$(mount "$LINK" "$MNT" 2>&1); then ok "mount $LINK"; else
	notok "mount $LINK"; echo "$out" | diag; dmesg | tail -n 15 | diag; fi
t0=$(ms_now)
check "the tree ($(du -sh "$TREE" | cut -f1), $(find "$TREE" -type f | wc -l) files) copied in and synced" \
	bash -c "cp -a '$TREE' '$MNT/tree' && sync"
echo "# copy + sync: $(( $(ms_now) - t0 )) ms"
check "umount, mount again, every file's sha256 as on the host" \
	bash -c "umount '$MNT' && mount '$LINK' '$MNT' && cd '$MNT/tree' && sha256sum -c --quiet '$TREE.sums'"

# SIGKILL under a writer of synced files.
mkdir -p "$MNT/w"
( for i in $(seq 40); do
	dd if=/dev/urandom of="$MNT/w/f$i" bs=64k count=4 conv=fsync status=none || exit 1
  done ) > /tmp/writer.out 2>&1 &
writer=$!
sleep 2
nrec=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
kill -KILL "$pid"
t0=$(ms_now)
check "SIGKILL of the driver mid-I/O: restarted, /dev/$NBD reconfigured with its new connections" \
	wait_for 60 bash -c "p=\$(dev_field $BDF pid); [ \"\$p\" != None ] && [ \"\$p\" != $pid ] && [ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $nrec ]"
echo "# restart to reconnected: $(( $(ms_now) - t0 )) ms"
grep -E 'dbknvme0|nvme \(pid' "$BROKER_LOG" | tail -n 6 | diag
wait_for 120 bash -c "! kill -0 $writer 2>/dev/null"
wait "$writer"; wrc=$?
if [ "$wrc" = 0 ]; then
	ok "the writer carried on through the restart"
elif grep -q 'Input/output error' /tmp/writer.out; then
	ok "the writer failed cleanly with EIO: $(head -n1 /tmp/writer.out)"
else
	notok "the writer finished or failed with EIO (status $wrc)"; diag < /tmp/writer.out
fi
check "nothing in D state within 60 s" wait_for 60 no_dstate
dstate_list | diag
check "after the restart the tree reads back (caches dropped), and a new file too" \
	bash -c "echo 3 > /proc/sys/vm/drop_caches && cd '$MNT/tree' && sha256sum -c --quiet '$TREE.sums' && echo after > '$MNT/after' && sync && [ \"\$(cat '$MNT/after')\" = after ]"
[ "$wrc" = 0 ] && (cd "$MNT/w" && sha256sum f* > /tmp/w.sums)
check "umount; e2fsck -fn finds the file system clean" \
	bash -c "umount '$MNT' && e2fsck -fn '$LINK' > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; false; }"

# SIGTERM: the driver stops serving, shuts the controller down (CC.SHN)
# and exits 0; its disk still connected, devbrokerd counts that as a crash
# and restarts it, and the new one brings the shut-down controller up again.
pid=$(dev_field "$BDF" pid)
nrec=$(grep -c 'reconnected to the restarted driver' "$BROKER_LOG")
kill -TERM "$pid"
check "SIGTERM: the driver shuts the controller down (CC.SHN) and exits 0" \
	wait_for 30 bash -c "grep -q 'controller shut down (CC.SHN)' '$BROKER_LOG' && grep -q 'driver nvme (pid $pid): exit 0' '$BROKER_LOG'"
check "... restarted, it serves /dev/$NBD again: the ext4 superblock reads back" \
	wait_for 60 bash -c "[ \$(grep -c 'reconnected to the restarted driver' '$BROKER_LOG') -gt $nrec ] && dumpe2fs -h '$LINK' 2>/dev/null | grep -q 'volume name:.*dbknvme'"

# Back to the kernel: devbrokerd revokes the grant and kills the driver (its
# requests would fail with EIO), disconnects the disk, reprobes the kernel's nvme.
t0=$(ms_now)
pid=$(dev_field "$BDF" pid)
ctl unbind "$BDF" > /dev/null 2>&1
check "devbrokerctl unbind: the driver gone, the links gone (by-id too), /dev/$NBD disconnected" \
	wait_for 60 bash -c "! kill -0 $pid 2>/dev/null && [ ! -e '$LINK' ] && [ ! -L '$BYID' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ]"
check "the kernel's nvme has the controller again" wait_for 30 bash -c '[ "$(drv_of "$BDF")" = nvme ] && kdisk > /dev/null'
echo "# unbind to the kernel's disk: $(( $(ms_now) - t0 )) ms"
KDISK=$(kdisk)
check "the kernel's nvme mounts the file system and finds the tree, the writer's files and the new file" \
	bash -c "mount -o ro '$KDISK' '$MNT' && (cd '$MNT/tree' && sha256sum -c --quiet '$TREE.sums') && { [ ! -s /tmp/w.sums ] || (cd '$MNT/w' && sha256sum -c --quiet /tmp/w.sums); } && [ \"\$(cat '$MNT/after')\" = after ]; r=\$?; umount '$MNT'; exit \$r"

check "nvme_firewall refused nothing of the driver's, through fio, crashes, restarts, shutdowns, revoke and rebinds (no denial on $BDF)" \
	bash -c "! grep -q 'denied on $BDF' '$BROKER_LOG'"
grep "denied on $BDF" "$BROKER_LOG" | head -n 5 | diag

# Hot-unplug mid-I/O, last: the controller is gone after it.  A reader
# only, so that the image keeps the file system nvme-block-run checks.
if ! command -v fio > /dev/null; then
	ok "# SKIP hot-unplug: fio is not installed"
elif ! qmp query-status > /dev/null 2>&1; then
	ok "# SKIP hot-unplug: no QMP agent"
else
	ctl bind "$BDF" > /dev/null 2>&1
	check "hot-unplug: devbrokerctl bind: the driver serves $LINK again" \
		wait_for 60 bash -c '[ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK")" = '"$SIZE"' ]'
	NBD=$(basename "$(readlink "$LINK")")
	pid=$(dev_field "$BDF" pid)
	midio_start read
	t0=$(ms_now)
	qmp device_del '{"id": "nvme0"}' > /dev/null
	check "hot-unplug mid-I/O (QMP device_del nvme0): $BDF leaves the bus and devbrokerctl list" \
		wait_for 60 bash -c "[ ! -e /sys/bus/pci/devices/$BDF ] && ! ctl --json list | json \"[d['id'] for d in r['devices']]\" | grep -q '$BDF'"
	echo "# device_del to the entry's end: $(( $(ms_now) - t0 )) ms"
	# devbrokerd SIGKILLs it at once (the module revoked the grant in its
	# remove()), or it exits 3 by itself having seen the revocation first;
	# never SIGBUS or SIGSEGV.
	check "... the driver (pid $pid) is gone and reaped (SIGKILL or exit 3), no zombie" \
		wait_for 30 bash -c "! kill -0 $pid 2>/dev/null && grep -qE 'exited: driver nvme \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG' && ! ps -eo stat= | grep -q '^Z'"
	echo "# the driver's end: $(grep -o "driver nvme (pid $pid): [a-z]* [0-9]*" "$BROKER_LOG" | tail -n1)"
	grep -E "$BDF: (removed|exited)|revoked|nvme: " "$BROKER_LOG" | tail -n 5 | diag
	check "... /dev/$NBD disconnected, the link gone" \
		wait_for 60 bash -c "[ ! -e '$LINK' ] && [ \"\$(cat /sys/block/$NBD/size)\" = 0 ]"
	check "... the reader failed with EIO (or completed)" midio_ended
	echo "# reader: status ${MIDIO_RC:-?}: $(grep -m1 -E 'error|err=' /tmp/midio.out)"
	check "... nothing in D state within 60 s" wait_for 60 no_dstate
	dstate_list | diag
	check "... no kernel splat" no_splat
	check "... devbrokerd still answers" bash -c "ctl --json list > /dev/null"
fi
broker_stop
check "no BUG/WARNING/Oops/Call Trace in the guest's kernel log" \
	bash -c "! dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace'"
check "nothing in D state at the end" no_dstate
[ "$FAILS" = 0 ] || { echo "# devbrokerd log:"; tail -n 60 "$BROKER_LOG" | diag; dmesg | tail -n 30 | diag; }
echo "# $FAILS failure(s)"
[ "$FAILS" = 0 ]
