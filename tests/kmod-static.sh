#!/bin/bash
# Static checks of the ring-0 code (host, TAP): the size budget and
# checkpatch.pl --strict from linux-source-6.1.
# usage: kmod-static.sh SRC_ROOT CACHE_DIR
src=$(cd "$1" && pwd); mkdir -p "$2"; cache=$(cd "$2" && pwd)
count() { cat "$@" | grep -cv '^\s*$'; }
n=$(count $(find "$src/kmod" -name '*.[ch]'))
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
ks=$cache/linux-source-6.1
# The budget is the mission's: a quarter of VFIO's ring-0 code for the
# same job, counted the same way (non-blank lines, headers and UAPI
# included) from the same kernel: what an x86 vfio-pci user loads
# (vfio, vfio_virqfd, vfio_iommu_type1, vfio-pci-core, vfio-pci; not the
# IGD, s390 or vendor variants).
vfio="drivers/vfio/vfio_main.c drivers/vfio/iova_bitmap.c drivers/vfio/container.c
drivers/vfio/vfio.h drivers/vfio/virqfd.c drivers/vfio/vfio_iommu_type1.c
drivers/vfio/pci/vfio_pci.c drivers/vfio/pci/vfio_pci_core.c drivers/vfio/pci/vfio_pci_intrs.c
drivers/vfio/pci/vfio_pci_rdwr.c drivers/vfio/pci/vfio_pci_config.c
drivers/vfio/pci/vfio_pci_priv.h include/linux/vfio.h include/linux/vfio_pci_core.h
include/uapi/linux/vfio.h"
if [ ! -f "$ks/include/uapi/linux/vfio.h" ] && [ -n "$tarball" ]; then
	tar xf "$tarball" -C "$cache" $(printf 'linux-source-6.1/%s ' $vfio)
fi
if ! v=$(cd "$ks" 2>/dev/null && count $vfio 2>/dev/null); then
	echo "not ok 1 - VFIO's sources not found to size kmod/ against (install linux-source-6.1)"
elif [ "$((n * 4))" -le "$v" ]; then
	echo "ok 1 - kmod/ is $n non-blank lines, $((n * 100 / v))% of VFIO's $v (budget 25%: $((v / 4)))"
else
	echo "not ok 1 - kmod/ is $n non-blank lines, over a quarter of VFIO's $v ($((v / 4)))"
fi
cp=$cache/linux-source-6.1/scripts/checkpatch.pl
if [ ! -f "$cp" ] && [ -n "$tarball" ]; then
	mkdir -p "$cache"
	tar xf "$tarball" -C "$cache" linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt linux-source-6.1/scripts/const_structs.checkpatch
fi
if [ ! -f "$cp" ]; then
	echo "not ok 2 - checkpatch.pl not found (install linux-source-6.1)"
else
	out=$(cd "$src/kmod" && perl "$cp" --strict --no-tree --terse --show-types -f \
		$(find . -name '*.[ch]' | sed 's,^\./,,' | sort) 2>&1 | grep -v '^total:')
	if [ -z "$out" ]; then
		echo "ok 2 - checkpatch.pl --strict: clean"
	else
		echo "not ok 2 - checkpatch.pl --strict"
		echo "$out" | sed 's/^/# /'
	fi
fi
echo "1..2"
