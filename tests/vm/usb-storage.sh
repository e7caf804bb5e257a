#!/bin/bash
# drivers/usb-storage under devbrokerd, on QEMU's usb-storage stick (serial
# DBK0STICK): the disk served as a FUSE file, data written and read back
# byte-exact at awkward offsets, a FAT file system on it through a loop
# device, the kernel's usb-storage kept off the interface while the driver
# runs and given it back afterwards, the driver's --selftest (STALLs, short
# transfers, bad CSWs, a phase error: reset recovery), and a hot-unplug in
# the middle of a read.  TAP output.
# Boot (tests/vm/usb-storage-run makes the image and checks it afterwards):
#   --xhci --storage-img IMG --qmp SOCK --host tests/vm/qmp-unplug-stick0
# IMG: 16 MiB, a FAT file system at 1 MiB holding KNOWN.BIN (see
# tests/vm/usb-storage-data for the zones around it).
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
DATA=$DBK_SRC/tests/vm/usb-storage-data
MNT=/run/devbroker/usb-storage/DBK0STICK
DISK=$MNT/disk
FS_OFF=$((1 << 20)) FS_SIZE=$((14 << 20))
KNOWN_SIZE=1048699 NEW_SIZE=300001	# not multiples of anything
for m in xhci_pci usb_storage sd_mod fuse loop vfat nls_cp437 nls_iso8859_1; do modprobe "$m"; done

stick_if() {	# the stick's interface, as sysfs names it (2-3:1.0)
	local d
	for d in /sys/bus/usb/devices/*:*; do
		case "$(cat "$d/modalias" 2>/dev/null)" in *ic08isc06ip50*) basename "$d"; return 0 ;; esac
	done
	return 1
}
stick_disk() {	# the /dev/sdX the kernel's usb-storage made for the stick
	local b
	for b in /sys/bus/usb/devices/"$(stick_if)"/host*/target*/*/block/*; do
		[ -e "$b" ] && [ -b "/dev/$(basename "$b")" ] && echo "/dev/$(basename "$b")" && return 0
	done
	return 1
}
if_driver() { basename "$(readlink "/sys/bus/usb/devices/$(stick_if)/driver")" 2>/dev/null; }
export -f stick_if stick_disk if_driver

wait_for 20 stick_disk >/dev/null || fail "the kernel's usb-storage made no disk for the stick"
IF=$(stick_if)
DESC="before: the kernel's usb-storage holds the stick ($IF: $(if_driver), $(stick_disk))"
ok test "$(if_driver)" = usb-storage

broker_setup
# The installed manifest and driver, with --selftest --verbose.
# (AutoBind=yes: the test's stick is nobody else's disk.)
sed -e "s|^Exec=.*|Exec=$(manifest_exec usb-storage) --selftest --verbose|" \
	-e "s|^AutoBind=no|AutoBind=yes|" "$DBK_MANIFESTS/usb-storage.conf" \
	> "$BRK/sys/usb-storage.conf"
broker_start
DESC="the disk appears as $DISK: 16 MiB, 0600, owned by the driver's user"
ok wait_for 60 bash -c "u=\$(dev_field $IF uid); [ \"\$u\" != None ] && [ \"\$(stat -c '%s %a %u' $DISK 2>/dev/null)\" = \"16777216 600 \$u\" ]"

# The driver's self-test ran before it served the file: one point each.
st=$(grep 'usb-storage: selftest: ' "$BROKER_LOG")
DESC="the driver's --selftest reported 13 checks"
ok test "$(grep -cE 'selftest: (not )?ok ' <<<"$st")" = 13
while IFS= read -r l; do
	[[ $l =~ selftest:\ (not\ )?ok\ [0-9]+\ -\ (.*)$ ]] || continue
	DESC="driver selftest: ${BASH_REMATCH[2]}"
	ok test -z "${BASH_REMATCH[1]}"
done <<<"$st"

DESC="while the driver runs, the kernel's usb-storage does not hold $IF (usbfs does) and there is no /dev/sdX"
ok bash -c '[ "$(if_driver)" = usbfs ] && ! stick_disk >/dev/null'
pid=$(dev_field "$IF" pid)
DESC="the driver runs as a dynamic user of its own, single-threaded, without capabilities, with no_new_privs and seccomp"
ok bash -c "dynamic_uid $pid && grep -q '^Threads:.1$' /proc/$pid/status && grep -q '^CapEff:.0000000000000000' /proc/$pid/status && grep -q '^NoNewPrivs:.1' /proc/$pid/status && grep -q '^Seccomp:.2' /proc/$pid/status"

# A FAT file system through a loop device on the FUSE file.
mkdir -p /mnt/stick
LOOP=$(losetup -o $FS_OFF --sizelimit $FS_SIZE -f --show "$DISK")
DESC="the FAT file system on the FUSE file mounts through a loop device ($LOOP)"
ok mount -t vfat "$LOOP" /mnt/stick
DESC="KNOWN.BIN ($KNOWN_SIZE bytes, put there on the host) reads back byte-exact"
ok bash -c "cmp /mnt/stick/KNOWN.BIN <('$DATA' known $KNOWN_SIZE known)"
"$DATA" known $NEW_SIZE new > /mnt/stick/NEW.BIN
DESC="NEW.BIN written through vfat, the loop device and the FUSE file; unmounted cleanly"
ok bash -c "sync && umount /mnt/stick && losetup -d $LOOP"
LOOP=$(losetup -o $FS_OFF --sizelimit $FS_SIZE -r -f --show "$DISK")
DESC="mounted again (read-only), NEW.BIN reads back byte-exact"
ok bash -c "mount -t vfat -o ro $LOOP /mnt/stick && cmp /mnt/stick/NEW.BIN <('$DATA' known $NEW_SIZE new); umount /mnt/stick; losetup -d $LOOP"

# Raw data at awkward places, through the file.
DESC="a pattern written through the FUSE file (first and last block, unaligned, block-straddling, several FUSE requests) reads back exactly, the bytes around it untouched"
ok bash -c "'$DATA' write $DISK && '$DATA' check $DISK"
DESC="the file does not grow: a write at its end fails (ENOSPC/EFBIG), a read there gives EOF"
ok python3 -c "
import errno, os, sys
fd = os.open('$DISK', os.O_RDWR)
try:
    os.pwrite(fd, b'x', 16 << 20)
    sys.exit('the write succeeded')
except OSError as e:
    if e.errno not in (errno.ENOSPC, errno.EFBIG):
        raise
assert os.pread(fd, 10, 16 << 20) == b''
assert len(os.pread(fd, 100, (16 << 20) - 10)) == 10
"

# The driver stops: usb-storage gets the interface back.
broker_stop
wait_for 20 bash -c '[ "$(if_driver)" = usb-storage ] && stick_disk >/dev/null'
SD=$(stick_disk)
DESC="after the driver stops the kernel's usb-storage has the stick again (${SD:-no disk})"
ok bash -c '[ "$(if_driver)" = usb-storage ] && [ -n "'"$SD"'" ]'
DESC="through the kernel's own driver ($SD) the device holds the pattern"
ok "$DATA" check "${SD:-/nonexistent}"
DESC="the FUSE mount went with the driver"
ok bash -c "! grep -q ' $MNT ' /proc/mounts"

# The block frontend ([Frontend] Block= instead of FUSEMount=): the stick
# as a disk, /dev/devbroker/block/usb-DBK0STICK on the kernel's nbd.
BLK=/dev/devbroker/block/usb-DBK0STICK
FUSE_LINE=$(grep '^FUSEMount=' "$BRK/sys/usb-storage.conf")
sed -i -e "s|^FUSEMount=.*|Block=usb-%s|" "$BRK/sys/usb-storage.conf"
sed -i -e "s| --selftest||" "$BRK/sys/usb-storage.conf"
broker_start
DESC="Block=usb-%s: the stick is served as a disk, $BLK, of 16 MiB, and has no FUSE mount"
ok wait_for 60 bash -c "[ \"\$(blockdev --getsize64 $BLK 2>/dev/null)\" = 16777216 ] && ! grep -q ' $MNT ' /proc/mounts"
# The disk's identity from INQUIRY and the stick's serial number (vm-run: DBK0STICK).
BYID=/dev/disk/by-id/devbroker-usb-storage+QEMU_QEMU_HARDDISK_DBK0STICK
ls -l /dev/disk/by-id/ | grep devbroker | sed 's/^/# /'
DESC="$BYID links to the same disk (INQUIRY's vendor and product, the USB serial number)"
ok bash -c "[ -n \"\$(readlink $BLK)\" ] && [ \"\$(readlink $BYID)\" = \"\$(readlink $BLK)\" ]"
DESC="through the disk the pattern written through the FUSE file reads back"
ok "$DATA" check "$BLK"
LOOP=$(losetup -o $FS_OFF --sizelimit $FS_SIZE -f --show "$BLK")
DESC="the FAT file system mounts from the disk ($LOOP), KNOWN.BIN and NEW.BIN read back byte-exact"
ok bash -c "mount -t vfat $LOOP /mnt/stick && cmp /mnt/stick/KNOWN.BIN <('$DATA' known $KNOWN_SIZE known) && cmp /mnt/stick/NEW.BIN <('$DATA' known $NEW_SIZE new)"
"$DATA" known $NEW_SIZE blk > /mnt/stick/BLK.BIN
DESC="BLK.BIN written through vfat and the disk; unmounted cleanly"
ok bash -c "sync && umount /mnt/stick && losetup -d $LOOP"
DESC="a direct 1 MiB write and read at 8 MiB through the disk (O_DIRECT, several commands) match"
ok bash -c "head -c 1048576 /dev/urandom > $DBK_VM_DIR/blk.rnd && dd if=$DBK_VM_DIR/blk.rnd of=$BLK bs=256K seek=32 oflag=direct conv=fsync status=none && cmp <(dd if=$BLK bs=256K skip=32 count=4 iflag=direct status=none) $DBK_VM_DIR/blk.rnd"
broker_stop
wait_for 20 bash -c '[ "$(if_driver)" = usb-storage ] && stick_disk >/dev/null'
SD=$(stick_disk)
DESC="the disk gone with the driver ($BLK, $BYID), the kernel's usb-storage finds BLK.BIN's bytes and the 1 MiB at 8 MiB on the stick"
ok bash -c "[ ! -e $BLK ] && [ ! -L $BYID ] && cmp <(dd if=${SD:-/nonexistent} bs=256K skip=32 count=4 iflag=direct status=none) $DBK_VM_DIR/blk.rnd && mount -t vfat -o ro,offset=$FS_OFF ${SD:-/nonexistent} /mnt/stick && { cmp /mnt/stick/BLK.BIN <('$DATA' known $NEW_SIZE blk); r=\$?; umount /mnt/stick; exit \$r; }"
sed -i -e "s|^Block=usb-%s|$FUSE_LINE|" "$BRK/sys/usb-storage.conf"

# Again under the broker, then the stick is pulled in the middle of a read.
# This time with 64 KiB commands: FUSE requests split into several.
sed -i "s|^Exec=.*|& --max-kib 64|" "$BRK/sys/usb-storage.conf"
broker_start
DESC="a new devbrokerd drives the stick again (the FUSE file is back, /dev/sdX gone)"
ok wait_for 60 bash -c "[ -e $DISK ] && ! stick_disk >/dev/null"
DESC="the pattern reads back through the driver in 64 KiB commands"
ok "$DATA" check "$DISK"
pid=$(dev_field "$IF" pid)
rm -f "$DBK_VM_DIR/reader.out" "$DBK_VM_DIR/reader.progress"
python3 -c "
import errno, mmap, os, time
try:
    fd = os.open('$DISK', os.O_RDONLY | os.O_DIRECT)
except OSError:
    fd = os.open('$DISK', os.O_RDONLY)
buf = mmap.mmap(-1, 65536)
off = total = 0
end = time.time() + 60
res = 'timeout'
while time.time() < end:
    try:
        r = os.preadv(fd, [buf], off)
    except OSError as e:
        res = 'error %s' % errno.errorcode.get(e.errno, e.errno)
        break
    off = off + r if r else 0
    total += r
    if total >= (1 << 20):
        open('$DBK_VM_DIR/reader.progress', 'w').close()
open('$DBK_VM_DIR/reader.out', 'w').write('%s after %d bytes\n' % (res, total))
" &
reader=$!
wait_for 30 test -e "$DBK_VM_DIR/reader.progress"
touch "$DBK_VM_DIR/unplug-stick"	# the host helper sends device_del stick0
wait_for 30 test -s "$DBK_VM_DIR/reader.out"
kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null
DESC="hot-unplug while a reader streams the file: the reader gets EIO ($(cat "$DBK_VM_DIR/reader.out" 2>/dev/null))"
ok grep -q '^error EIO after' "$DBK_VM_DIR/reader.out"
DESC="the driver saw the device go and exited with status 0"
ok wait_for 10 bash -c "grep -q 'usb-storage: the device is gone' $BROKER_LOG && grep -q 'exited: driver usb-storage (pid $pid): exit 0' $BROKER_LOG"
DESC="devbrokerctl no longer lists the stick, and its FUSE mount is gone"
ok wait_for 10 bash -c "! ctl --json list | json \"[d['id'] for d in r['devices']]\" | grep -q \"'$IF'\" && ! grep -q ' $MNT ' /proc/mounts"
broker_stop
echo "# devbrokerd log:"; sed 's/^/#   /' "$BROKER_LOG" | tail -n 60
exit $FAILED
