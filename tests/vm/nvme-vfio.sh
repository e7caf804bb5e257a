#!/bin/bash
# The same drivers/nvme binary on vfio-pci instead of devbroker (libdev's
# VFIO backend, `nvme --vfio BDF`; q35 + intel-iommu, vm-run --iommu): the
# controller bound to vfio-pci with driver_override, its group node
# /dev/vfio/N chowned to the driver's user and RLIMIT_MEMLOCK raised for
# type1's pinning, as a VFIO (or SPDK) user's administrator would; the
# driver's --selftest run unprivileged: every I/O queue with its own
# MSI-X vector (counted on vfio's lines), PRP lists, DMA through type1,
# timeouts, aborts and resets.  Then the kernel's nvme gets the controller
# back and reads the self-test's signature block.  Runs after
# tests/vm/nvme.sh in the nvme-iommu group, or alone.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
NVME_DRIVER=$(manifest_driver nvme)
VEN=0x1b36 DEV=0x0010
SIG=DEVBROKER-NVME-SELFTEST

iommu_on || skip "no IOMMU: VFIO's type1 needs one (vm-run --iommu)"
modprobe vfio-pci 2>/dev/null || skip "no vfio-pci module"
BDF=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && { BDF=$(basename "$d"); break; }
done
[ -n "$BDF" ] || fail "no NVMe controller $VEN:$DEV (vm-run --nvme)"
D=/sys/bus/pci/devices/$BDF
GROUP=$(iommu_group "$BDF")
echo "# NVMe controller at $BDF ($(basename "$(readlink "$D/driver" 2>/dev/null)" 2>/dev/null)), IOMMU group $GROUP"

# run_driver TAG DRIVER-OPTIONS...: the driver as DRV_UID, no groups, no
# capabilities, no new privileges, with type1's pins allowed for (64 MiB);
# sets RC, OUT, LOG.
run_driver() {
	local tag=$1; shift
	OUT=/tmp/nvme-vfio-$tag.out LOG=/tmp/nvme-vfio-$tag.err
	timeout 600 prlimit --memlock=$((64 << 20)) \
		setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs -- \
		"$NVME_DRIVER" --vfio "$BDF" "$@" > "$OUT" 2> "$LOG"
	RC=$?
}

# Not bound to vfio-pci yet: a clean failure, not a hang.
run_driver unbound --identify
check "not bound to vfio-pci: nvme --vfio fails cleanly (status $RC), saying why" \
	bash -c "[ $RC = 1 ] && grep -q 'opening $BDF through VFIO' $LOG"
diag < "$LOG"

check "$BDF is bound to vfio-pci" vfio_bind "$BDF"
check "/dev/vfio/$GROUP exists" [ -c "/dev/vfio/$GROUP" ]
run_driver noaccess --identify
check "the group node still root's: nvme --vfio fails (status $RC), saying permission denied" \
	bash -c "[ $RC = 1 ] && grep -q 'Permission denied' $LOG"
diag < "$LOG"
chown $DRV_UID:$DRV_UID "/dev/vfio/$GROUP"

run_driver identify --identify --verbose
check "nvme --vfio $BDF --identify: up, identified, shut down (status $RC)" [ "$RC" = 0 ]
grep -E 'namespace|queue|registers through' "$LOG" | head -n 6 | diag
check "... with two namespaces (vm-run --nvme-ns 2)" grep -q 'namespace 2:' "$LOG"

vec() {	# vec: the interrupts counted on each of the controller's vfio-msix lines
	awk -v tag="($BDF)" 'index($0, "vfio-msix[") && index($0, tag) {
		s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; printf "%s=%d ", $NF, s }' /proc/interrupts
}
# vfio-pci frees its vectors when the device is closed: count them while
# the self-test runs, the last reading before it ends.
rm -f /tmp/nvme-vfio-vec
( while sleep 0.2; do v=$(vec); [ -n "$v" ] && echo "$v" > /tmp/nvme-vfio-vec; done ) &
watcher=$!
run_driver selftest --selftest --queues 4 --verbose
kill $watcher; wait $watcher 2>/dev/null
sed "s/^\(not \)\?ok [0-9]* - /&vfio: /" "$OUT" | grep -E '^(not )?ok '
grep -q '^not ok' "$OUT" && FAILS=$((FAILS + 1))
check "nvme --vfio --selftest --queues 4 exits 0 (status $RC)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || { diag < "$OUT"; tail -n 30 "$LOG" | diag; }
check "it ran through VFIO, not a grant" grep -q "$BDF opened through VFIO" "$LOG"
seen=$(cat /tmp/nvme-vfio-vec 2>/dev/null)
echo "# vfio-msix lines during the self-test: ${seen:-none}"
busy=$(tr ' ' '\n' <<<"$seen" | awk -F= '$2 > 0' | wc -l)
check "at least 5 of the controller's MSI-X vectors (admin + 4 I/O queues) fired through vfio ($busy)" \
	[ "$busy" -ge 5 ]

# The benchmark's loop (bench/nvme-vfio-bench.sh), one case for a second:
# one JSON line with I/Os done, each completion an interrupt at depth 1.
run_driver bench --bench 1 --bench-case read-4k-qd1
check "nvme --vfio --bench 1 --bench-case read-4k-qd1: exits 0 (status $RC) with that case's figures only" \
	python3 -c 'import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [r["case"] for r in runs] == ["read-4k-qd1"] and runs[0]["ios"] > 0 and runs[0]["irqs"] > 0, runs' "$OUT"
diag < "$OUT"
run_driver badcase --bench 1 --bench-case read-1m-qd64
check "--bench-case read-1m-qd64 (no such case): status 2 (got $RC), naming the cases" \
	bash -c "[ $RC = 2 ] && grep -q 'want read-4k-qd1' $LOG"
run_driver nobench --identify --bench-case read-4k-qd1
check "--bench-case without --bench: status 2 (got $RC)" [ "$RC" = 2 ]

# Back to the kernel's nvme: the self-test's signature at LBA 0.
vfio_unbind "$BDF"
modprobe nvme
echo "$BDF" > /sys/bus/pci/drivers_probe
DISK=
for _ in $(seq 100); do
	for b in "$D"/nvme/nvme*/nvme*n1; do [ -b "/dev/${b##*/}" ] && DISK=/dev/${b##*/}; done
	[ -n "$DISK" ] && break
	sleep 0.1
done
check "the kernel's nvme gets $BDF back and makes ${DISK:-no disk}" [ -n "$DISK" ]
check "the kernel reads the self-test's signature at LBA 0" \
	bash -c "dd if='$DISK' bs=512 count=1 2>/dev/null | grep -aq '^$SIG nsid 1 '"
finish
