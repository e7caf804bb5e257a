#!/bin/bash
# The UAPI against a real edu device: every ioctl's argument checks, MMIO,
# config virtualization, interrupts, DMA and forced revocation, with the
# driver side unprivileged.  Usage: kmod-uapi.sh GROUP...
. tests/vm/lib.sh
dbk_load
bdf=${DBK_BDF:-$(edu_bdfs | head -n1)}
[ -n "$bdf" ] || fail "no edu device"
dbk_bind "$bdf" || fail "bind $bdf"
for i in $(seq 50); do [ -e "/dev/devbroker/$bdf" ] && break; sleep 0.1; done
rc=0
for grp in "$@"; do
	"$DBK_BUILD/tests/kmod/uapi-test" "$bdf" "$grp" || rc=1
done
exit $rc
