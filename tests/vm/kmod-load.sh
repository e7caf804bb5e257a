#!/bin/bash
# devbroker.ko loads, binds only devices handed over by driver_override,
# unbinds, and unloads; the kernel log stays clean (checked by vm-run).
. tests/vm/lib.sh
set -e
dbk_load
[ -d /sys/bus/pci/drivers/devbroker ] || fail "no devbroker PCI driver"
mapfile -t edus < <(edu_bdfs)
[ "${#edus[@]}" = 2 ] || fail "want 2 edu devices, have ${#edus[@]}"
# No ID table: a plain probe does not bind it.
echo "${edus[1]}" > /sys/bus/pci/drivers_probe || true
[ ! -e "/sys/bus/pci/devices/${edus[1]}/driver" ] || fail "bound without driver_override"
dbk_bind "${edus[0]}" || fail "bind ${edus[0]}"
dbk_unbind "${edus[0]}" || fail "unbind ${edus[0]}"
[ ! -e "/sys/bus/pci/devices/${edus[0]}/driver" ] || fail "still bound after unbind"
dbk_bind "${edus[0]}" || fail "rebind ${edus[0]}"
dbk_unload	# with a device bound: remove() must run cleanly
[ ! -e "/sys/bus/pci/devices/${edus[0]}/driver" ] || fail "bound after rmmod"
echo "load/bind/unbind/unload clean"
