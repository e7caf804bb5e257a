# Helpers for the e1000e VM tests and bench/e1000e-bench.sh.  Source after
# tests/vm/lib.sh.

e1000e_nics() {	# every 82574L's PCI address (8086:10d3), in bus order
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] && basename "$d"
	done
}

# e1000e_ours BDF: keep BDF from the kernel's e1000e (devbroker's by
# driver_override), and load what the others and the TAP frontend need.
e1000e_ours() {
	echo devbroker > "/sys/bus/pci/devices/$1/driver_override"
	modprobe tun
	modprobe e1000e
}

# ours_up: our interface ($IF) there, at 10.88.0.1/24, up, with carrier,
# and the kernel's NIC (10.88.0.2) answering a ping through it.
ours_up() {
	wait_for 60 bash -c 'ip link show $IF > /dev/null 2>&1' &&
	ip addr add 10.88.0.1/24 dev $IF && ip link set $IF up &&
	wait_for 40 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.88.0.2 > /dev/null'
}

# netns_nic BDF NS ADDR: the kernel's interface of BDF moved into a new
# namespace NS, up at ADDR/24; its name in NETNS_IF.
netns_nic() {
	wait_for 20 test -d "/sys/bus/pci/devices/$1/net" || fail "the kernel's e1000e did not take $1"
	NETNS_IF=$(ls "/sys/bus/pci/devices/$1/net" | head -n1)
	ip netns add "$2"
	ip link set "$NETNS_IF" netns "$2"
	ip -n "$2" link set lo up
	ip -n "$2" addr add "$3/24" dev "$NETNS_IF"
	ip -n "$2" link set "$NETNS_IF" up
}
