#!/bin/bash
# MSI-X through libdev's VFIO backend on QEMU's e1000e (8086:10d3) bound to
# vfio-pci behind intel-iommu: tests/helpers/e1000e-msix --vfio, run
# unprivileged with the group node chowned to it; each vector's eventfd
# fires for the interrupt cause mapped to it.  The device goes back to the
# kernel's e1000e afterwards.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
iommu_on || skip "no IOMMU: VFIO's type1 needs one (vm-run --iommu)"
BDF=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] && { BDF=${d##*/}; break; }
done
[ -n "$BDF" ] || fail "no e1000e"
GROUP=$(iommu_group "$BDF")
echo "# e1000e at $BDF, IOMMU group $GROUP: $(ls "/sys/bus/pci/devices/$BDF/iommu_group/devices" | tr '\n' ' ')"
check "$BDF is bound to vfio-pci" vfio_bind "$BDF"
chown $DRV_UID:$DRV_UID "/dev/vfio/$GROUP"
setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs -- "$H/e1000e-msix" --vfio "$BDF" 5 > /tmp/msix-vfio.out 2>&1
rc=$?
cat /tmp/msix-vfio.out
grep -q '^not ok' /tmp/msix-vfio.out && FAILS=$((FAILS + 1))
check "e1000e-msix --vfio exits 0 (status $rc)" [ "$rc" = 0 ]
grep -F "($BDF)" /proc/interrupts | diag
check "no vfio MSI-X line is left" bash -c "! grep -qF 'vfio-msix' /proc/interrupts"
check "$BDF unbound from vfio-pci" vfio_unbind "$BDF"
echo "$BDF" > /sys/bus/pci/drivers_probe
drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver" 2>/dev/null)" 2>/dev/null)
echo "# $BDF is now bound to ${drv:-no driver}"
check "no DMAR fault was logged" bash -c "! dmesg | grep -q 'DMAR:.*fault'"
finish
