# Shared helpers for guest tests.  Source it: . tests/vm/lib.sh
set -u
KO=$DBK_BUILD/kmod/devbroker.ko

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }

# Every edu device's PCI address (domain:bus:dev.fn), in bus order.
edu_bdfs() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && basename "$d"
	done
}

dbk_load() { grep -q '^devbroker ' /proc/modules || insmod "$KO" || fail "insmod $KO"; }
dbk_unload() { ! grep -q '^devbroker ' /proc/modules || rmmod devbroker || fail "rmmod devbroker"; }

# Hand a device to devbroker the way vfio-pci users do: driver_override.
dbk_bind() {
	local bdf=$1 d=/sys/bus/pci/devices/$1
	if [ -e "$d/driver" ]; then echo "$bdf" > "$d/driver/unbind" || return 1; fi
	echo devbroker > "$d/driver_override" || return 1
	echo "$bdf" > /sys/bus/pci/drivers_probe || return 1
	[ "$(basename "$(readlink "$d/driver")")" = devbroker ]
}
dbk_unbind() {
	local d=/sys/bus/pci/devices/$1
	echo "$1" > /sys/bus/pci/drivers/devbroker/unbind || return 1
	echo > "$d/driver_override"
}
