#!/bin/bash
# DMA round trips through /dev/edu0: random data written at 0x40000 goes
# RAM -> EDU by the device's DMA engine, and comes back EDU -> RAM
# byte-exact; run by an ordinary program of another uid.  With an IOMMU the
# grant needs no --unsafe-dma; without one, a DMA grant without it is
# refused (EPERM).
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
dev_setup
opts=(--msi)
if iommu_on; then
	what="with the IOMMU"
else
	what="without an IOMMU (--unsafe-dma)"
	"$H/dbk-launch" --device "$BDF" --dma-quota 65536 --dma-bits 28 -- /bin/true 2> /tmp/noperm.err
	rc=$?
	check "without an IOMMU, a DMA grant without --unsafe-dma is refused with EPERM" \
		bash -c "[ $rc = 1 ] && grep -q 'Operation not permitted' /tmp/noperm.err"
	diag < /tmp/noperm.err
	opts+=(--unsafe-dma)
fi
launch_ok=1
start_edu edu0 "${opts[@]}" || launch_ok=0
check "edu-driver is up $what" [ $launch_ok = 1 ]
[ $launch_ok = 1 ] || { finish; exit 1; }

for size in 4095 1000 1; do
	head -c $size /dev/urandom > /tmp/dma-in.$size
	chmod 0644 /tmp/dma-in.$size
	rm -f /tmp/dma-out.$size
	out=$(as_user "$H/edu-client" dma /dev/edu0 /tmp/dma-in.$size /tmp/dma-out.$size 2>&1)
	check "DMA round trip of $size random bytes is byte-exact $what" \
		cmp /tmp/dma-in.$size /tmp/dma-out.$size
	[ -n "$out" ] && echo "$out" | diag
done
# The device buffer keeps the data: read it again without writing.
# the 1000- and 1-byte writes changed the first bytes: compare past them
as_user "$H/edu-client" seekread /dev/edu0 0x40000 4096 > /tmp/dma-again
check "a second EDU -> RAM read returns the device buffer (bytes 1000.. unchanged)" \
	cmp <(tail -c +1001 /tmp/dma-again) <(tail -c +1001 /tmp/dma-in.4095)
check "the first byte is the last 1-byte write" \
	cmp <(head -c 1 /tmp/dma-again) /tmp/dma-in.1
# QEMU 7.2's edu aborts the machine on a DMA that includes its buffer's
# last byte, so the driver serves [0x40000, 0x40fff) (drivers/edu/edu.c).
n=$(as_user "$H/edu-client" seekread /dev/edu0 0x40fff 16 | wc -c)
check "reading past the usable device buffer gives end of file ($n bytes)" [ "$n" = 0 ]
n=$(as_user "$H/edu-client" seekread /dev/edu0 0x40ff0 64 | wc -c)
check "a read crossing the end of the usable buffer is cut at 0x40fff ($n bytes)" [ "$n" = 15 ]
head -c 4096 /dev/urandom > /tmp/dma-in.4096; chmod 0644 /tmp/dma-in.4096
check_fails "a 4096-byte write is cut short (4095 bytes), not passed to the device" \
	as_user "$H/edu-client" dma /dev/edu0 /tmp/dma-in.4096 /tmp/dma-out.4096
check "the driver still runs" kill -0 $CPID
stop TERM
check "the driver exits cleanly (status $LRC)" [ "$LRC" = 0 ]
[ "$LRC" = 0 ] || diag < "$LOG"
finish
