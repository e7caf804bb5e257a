# Helpers of the NVMe block tests (nvme-block.sh, nvme-ns-gone.sh): TAP
# checks, the states a fault must not leave behind, and a client of the
# disk in the background.  Needs $LINK (the disk's link) and, for the
# client, $NBD (its /dev/nbdN name).
# shellcheck shell=bash
FAILS=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
diag() { sed 's/^/# /'; }
drv_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
ms_now() { echo "$(( ${EPOCHREALTIME/./} / 1000 ))"; }	# ms, for timings
splat() { dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection'; }
no_splat() { [ -z "$(splat)" ]; }
# A client of the disk for the faults, in the background: fio (64k, QD16,
# O_DIRECT) for 60 s, random writes ("write") or reads ("read"), stopped by
# the first error; $MIDIO_OPTS, more fio options.  Its pid in $MIDIO, its
# output in /tmp/midio.out.
midio_start() {
	local rw=randwrite n0
	[ "$1" = read ] && rw="randread --readonly"
	n0=$(awk '{print $1 + $5}' "/sys/block/$NBD/stat")
	fio --name=midio --filename="$LINK" --ioengine=libaio --direct=1 --rw=$rw --bs=64k \
		--iodepth=16 --size=64M --time_based --runtime=60 ${MIDIO_OPTS:-} > /tmp/midio.out 2>&1 &
	MIDIO=$!
	# The fault must meet I/O in flight: wait for fio's first 64 requests
	# to complete on /dev/$NBD (a loaded host starts it late), then 1 s.
	wait_for 60 bash -c "[ \$(awk '{print \$1 + \$5}' /sys/block/$NBD/stat) -ge $((n0 + 64)) ]"
	sleep 1
}
# It ended (within 90 s) having either completed or failed with EIO.
midio_ended() {
	wait_for 90 bash -c "! kill -0 $MIDIO 2>/dev/null" || { kill -KILL $MIDIO; return 1; }
	wait $MIDIO; MIDIO_RC=$?
	[ "$MIDIO_RC" = 0 ] || grep -q 'Input/output error' /tmp/midio.out
}
# devbrokerd with the installed nvme manifest; `devbrokerctl bind $BDF`;
# the disk's link must appear.  Sets $NBD.
nvme_broker_bind() {
	broker_setup
	cp "$DBK_MANIFESTS/nvme.conf" "$BRK/sys/"
	broker_start
	ctl bind "$BDF" > /dev/null 2>&1
	check "devbrokerctl bind $BDF: $LINK appears" \
		wait_for 60 bash -c '[ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK")" -gt 0 ]'
	NBD=$(basename "$(readlink "$LINK")")
}
export -f drv_of splat no_splat
export LINK
