#!/bin/bash
# Config-space writes to capabilities no driver may write (PM, PCIe, ...)
# are refused even with the config-write right; on an e1000e (PCIe, PM).
. tests/vm/lib.sh
d=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device | head -n1)
[ -n "$d" ] || fail "no e1000e"
DBK_BDF=$(basename "$(dirname "$d")") exec tests/vm/kmod-uapi.sh cfgdeny
