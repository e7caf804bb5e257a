#!/bin/bash
# libdev's USB-era frontends on the real kernel, the driver side running as
# nobody on fds that root prepared the way devbrokerd does
# (tests/helpers/libdev-usbtest.c does both sides):
#  - usb: QEMU's usb-net (0525:a4a2), interface 1 detached and claimed for
#    a usbfs fd (USBDEVFS_DISCONNECT_CLAIM), the fd dropped to it
#    (USBDEVFS_DROP_PRIVILEGES 0x2): dbk_usb_adopt_env(), a control
#    transfer, the data interface in use, interface 0 refused (-EACCES), a
#    non-usbfs fd (-ENOTTY); then the usb-describe example the same way;
#  - input: a uinput keyboard (fd opened by root) whose keys root reads
#    from /dev/input/eventN and whose Caps Lock LED root sets;
#  - fusefile: a 4 MiB in-memory disk on a FUSE mount made by root (fd=N,
#    allow_other, no default_permissions): size and mode, permissions,
#    reads and writes at several offsets (buffered and O_DIRECT), writes
#    at and across the end, truncation refused, then losetup + mkfs.vfat +
#    mount + a file written and read back through the loop device, and the
#    server's memory compared with the disk read through the mount; the
#    loop ended by dbk_fuse_file_stop() (SIGTERM), by an unmount, and by a
#    read callback's -ENODEV.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh		# ok/notok/check/check_fails/diag/finish
T=$H/libdev-usbtest
# The driver: nobody, no groups, no capabilities.
DRV=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all
     --bounding-set=-all --)
WORK=/tmp/dbk-libdev-usb
MNT=$WORK/mnt
VFAT=$WORK/vfat
SIZE=$((4 << 20))

modprobe xhci_pci || fail "modprobe xhci_pci"
modprobe -a uinput evdev fuse loop vfat || fail "modprobe uinput evdev fuse loop vfat"
modprobe -a nls_cp437 nls_ascii 2>/dev/null	# vfat's default codepage/charset
install -d -o nobody -g nogroup "$WORK"
mkdir -p "$MNT" "$VFAT"

# ---- usb ----
USBDEV=
for _ in $(seq 100); do
	for d in /sys/bus/usb/devices/*; do
		[ -r "$d/idVendor" ] || continue
		[ "$(cat "$d/idVendor"):$(cat "$d/idProduct")" = 0525:a4a2 ] && USBDEV=$d
	done
	[ -n "$USBDEV" ] && [ -e "$USBDEV:1.1" ] && break
	sleep 0.1
done
[ -n "$USBDEV" ] && [ -e "$USBDEV:1.1" ] || fail "no usb-net (0525:a4a2) with interface 1"
NODE=/dev/bus/usb/$(printf %03d "$(cat "$USBDEV/busnum")")/$(printf %03d "$(cat "$USBDEV/devnum")")
echo "# usb-net is $(basename "$USBDEV") at $NODE, configuration $(cat "$USBDEV/bConfigurationValue")"

"$T" grant-usb "$NODE" 0x2 -- "${DRV[@]}" "$T" usb 0525:a4a2 "$NODE" 2> "$WORK/usb.err"
rc=$?
check "usb: libdev-usbtest usb exits 0 (status $rc)" [ $rc = 0 ]
[ $rc = 0 ] || diag < "$WORK/usb.err"

out=$("$T" grant-usb "$NODE" 0x2 -- "${DRV[@]}" "$DBK_HELPERS/libdev-example-usb-describe" 2>&1)
check "usb: the usb-describe example, as nobody on a granted fd: $(head -n1 <<<"$out")" \
	grep -q "^device 0525:a4a2, .*interfaces 0x2 claimed" <<<"$out"
grep -q '^device' <<<"$out" || diag <<<"$out"

# ---- input ----
"$T" input 2> "$WORK/input.err"
rc=$?
check "input: libdev-usbtest input exits 0 (status $rc)" [ $rc = 0 ]
[ $rc = 0 ] || diag < "$WORK/input.err"

# ---- fusefile ----
# serve TAG SERVER-ARGS...: mount a FUSE filesystem on a /dev/fuse fd as
# devbrokerd does and start the server on that fd as nobody; sets SPID.
serve() {
	local tag=$1 fd; shift
	exec {fd}<>/dev/fuse || return 1
	if ! mount -i -t fuse.dbktest -o "fd=$fd,rootmode=40000,user_id=65534,group_id=65534,allow_other" \
		dbktest "$MNT"; then
		exec {fd}>&-
		return 1
	fi
	DBK_HANDOVER=1 DBK_FUSE_FD=$fd DBK_FUSE_MOUNT=$MNT "${DRV[@]}" "$T" fuse "$SIZE" "$@" \
		> "$WORK/$tag.out" 2> "$WORK/$tag.err" &
	SPID=$!
	# The server holds the only fd, as with the broker: when it goes,
	# the connection goes (no reader left blocked on a dead server).
	exec {fd}>&-
}
# reap TAG: wait (20 s at most) for the server and relay its TAP points.
reap() {
	local rc
	for _ in $(seq 200); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SPID" 2>/dev/null; then
		notok "fuse $1: the server's loop did not end in 20 s"
		kill -KILL "$SPID"
	fi
	wait "$SPID"; rc=$?
	cat "$WORK/$1.out"
	check "fuse $1: the server exits 0 (status $rc)" [ $rc = 0 ]
	[ $rc = 0 ] || diag < "$WORK/$1.err"
}
# same FILE OFFSET LEN [DD-FLAGS]: the disk at OFFSET holds FILE's first LEN bytes
same() {
	cmp -s <(head -c "$3" "$1") \
	       <(dd if="$D" bs="$3" count=1 skip="$2" iflag=skip_bytes${4:+,$4} status=none)
}
# put FILE OFFSET [DD-FLAGS]: write FILE at OFFSET
put() {
	dd if="$1" of="$D" bs=64k seek="$2" oflag=seek_bytes${3:+,$3} conv=notrunc status=none
}

D=$MNT/disk
serve main --expect stop --expect-flush --dump "$WORK/disk.dump" || fail "mount the FUSE filesystem"
check "fuse: the file is $SIZE bytes" [ "$(timeout 20 stat -c %s "$D")" = $SIZE ]
check "fuse: mode 0600, owner nobody (the server)" [ "$(stat -c %a:%U:%F "$D")" = "600:nobody:regular file" ]
check "fuse: the mount's root lists only it" [ "$(ls -A "$MNT")" = disk ]
check "fuse: its owner may read it" "${DRV[@]}" dd if="$D" of=/dev/null bs=4k count=1 status=none
check_fails "fuse: uid 4242 may not (mode 0600, allow_other)" \
	setpriv --reuid=4242 --regid=4242 --clear-groups -- dd if="$D" of=/dev/null bs=4k count=1 status=none

for i in 0 1 2 3 4; do head -c 4096 /dev/urandom > "$WORK/p$i"; done
check "fuse: write 4 KiB at 0 (O_DIRECT)" put "$WORK/p0" 0 direct
check "fuse: write 4 KiB at 1 MiB (buffered, fsync)" \
	dd if="$WORK/p1" of="$D" bs=4k seek=256 conv=notrunc,fsync status=none
check "fuse: write 4 KiB at 12388 (unaligned, buffered)" put "$WORK/p2" 12388
check "fuse: write the last 4 KiB (O_DIRECT)" put "$WORK/p3" $((SIZE - 4096)) direct
check "fuse: read back at 0 (O_DIRECT)" same "$WORK/p0" 0 4096 direct
check "fuse: read back at 1 MiB (O_DIRECT)" same "$WORK/p1" $((1 << 20)) 4096 direct
check "fuse: read back at 12388 (buffered, unaligned)" same "$WORK/p2" 12388 4096
check "fuse: read back the last 4 KiB (buffered)" same "$WORK/p3" $((SIZE - 4096)) 4096
check "fuse: untouched space reads as zeros" same /dev/zero $((2 << 20)) 4096 direct
check "fuse: a read at the end returns 0 bytes" \
	[ "$(dd if="$D" bs=4k skip=$SIZE iflag=skip_bytes status=none | wc -c)" = 0 ]
# Across the end: the first 100 bytes land, then "No space left on device".
out=$(dd if="$WORK/p4" of="$D" bs=4k count=1 seek=$((SIZE - 100)) oflag=seek_bytes conv=notrunc status=none 2>&1)
rc=$?
check "fuse: a write across the end fails with ENOSPC: $out" \
	eval '[ $rc != 0 ] && grep -q "No space left on device" <<<"$out"'
check "fuse: ... after writing the part that fits" same "$WORK/p4" $((SIZE - 100)) 100 direct
out=$(dd if="$WORK/p4" of="$D" bs=1 count=1 seek=$SIZE conv=notrunc status=none 2>&1)
rc=$?
check "fuse: a write at the end fails with ENOSPC: $out" \
	eval '[ $rc != 0 ] && grep -q "No space left on device" <<<"$out"'
check_fails "fuse: truncate is refused" truncate -s 0 "$D"
check "fuse: the size did not change" [ "$(stat -c %s "$D")" = $SIZE ]

# A filesystem on a loop device on the file.
LOOP=$(losetup -f --show "$D")
check "fuse: losetup on the file: ${LOOP:-failed}" [ -b "$LOOP" ]
MARK="devbroker fusefile test $RANDOM$RANDOM"
if [ -b "$LOOP" ]; then
	check "fuse: mkfs.vfat on $LOOP" eval 'mkfs.vfat "$LOOP" > "$WORK/mkfs.log" 2>&1'
	check "fuse: mount -t vfat $LOOP" mount -t vfat "$LOOP" "$VFAT"
	check "fuse: write a file on it" eval 'echo "$MARK" > "$VFAT/hello.txt" && sync'
	check "fuse: umount" umount "$VFAT"
	# Cold caches: the next mount reads through the loop device and the server.
	echo 3 > /proc/sys/vm/drop_caches
	check "fuse: mount it again, read-only" mount -t vfat -o ro "$LOOP" "$VFAT"
	check "fuse: the file reads back" [ "$(cat "$VFAT/hello.txt" 2>&1)" = "$MARK" ]
	umount "$VFAT"
	check "fuse: losetup -d" losetup -d "$LOOP"
fi
check "fuse: the whole disk reads through the mount (O_DIRECT)" \
	dd if="$D" of="$WORK/disk.read" bs=1M iflag=direct status=none
check "fuse: fsck.vfat finds a clean filesystem on it" eval 'fsck.vfat -n "$WORK/disk.read" > "$WORK/fsck.log" 2>&1'
check "fuse: the file's data is in it" grep -qa "$MARK" "$WORK/disk.read"

kill -TERM "$SPID"
reap main
check "fuse: the server's memory is the disk read through the mount" \
	cmp -s "$WORK/disk.dump" "$WORK/disk.read"
check_fails "fuse: with the server gone, opening the file fails (no hang)" \
	timeout 10 dd if="$D" of=/dev/null count=1 status=none
check "fuse: umount after the server stopped" umount "$MNT"

# The loop ends when the filesystem is unmounted.
serve unmount --expect unmount || fail "mount the FUSE filesystem"
check "fuse unmount: the file is there" [ "$(timeout 20 stat -c %s "$D")" = $SIZE ]
check "fuse unmount: umount" umount "$MNT"
reap unmount

# A read callback's -ENODEV: the reader gets EIO, the loop ends.
serve gone --expect gone --gone-at $((1 << 20)) || fail "mount the FUSE filesystem"
check "fuse gone: a read elsewhere works" \
	eval 'timeout 20 dd if="$D" of=/dev/null bs=4k count=1 iflag=direct status=none'
out=$(timeout 20 dd if="$D" of=/dev/null bs=4k count=1 skip=256 iflag=direct status=none 2>&1)
rc=$?
check "fuse gone: the read of the vanished device fails with EIO: $out" \
	eval '[ $rc != 0 ] && grep -q "Input/output error" <<<"$out"'
reap gone
umount "$MNT" || umount -l "$MNT"
finish
