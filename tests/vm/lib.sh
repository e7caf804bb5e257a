# Shared helpers for guest tests.  Source it: . tests/vm/lib.sh
set -u
KO=$DBK_BUILD/kmod/devbroker.ko

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
wait_for() {	# wait_for SECONDS CONDITION...: a deadline, however slow CONDITION is
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# The tasks in D state (uninterruptible sleep): stat, pid, wait channel, name.
dstate_list() { ps -eo stat=,pid=,wchan:32=,comm= | awk '$1 ~ /^D/'; }
no_dstate() { [ -z "$(dstate_list)" ]; }
# stack_report PID...: each task's state, wait channel and kernel stack, as
# TAP comments: where a stuck process waits (a killable or interruptible
# wait, which the hung-task detector never reports, included).
stack_report() {
	local p t
	for p in "$@"; do
		for t in /proc/"$p"/task/*; do
			[ -e "$t/stat" ] || continue
			echo "#   task ${t##*/} ($(cat "$t/comm" 2>/dev/null)): $(awk '{print $3}' "$t/stat" 2>/dev/null), in $(cat "$t/wchan" 2>/dev/null)"
			sed 's/^/#     /' "$t/stack" 2>/dev/null
		done
	done
}
export -f dstate_list no_dstate stack_report

# Every edu device's PCI address (domain:bus:dev.fn), in bus order.
edu_bdfs() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && basename "$d"
	done
}

# USB: the sysfs name of the first interface whose modalias matches a glob
# (usb_iface '*ic03isc01ip01*': a boot keyboard), and the driver bound to one.
usb_iface() {
	local d
	for d in /sys/bus/usb/devices/*:*; do
		case "$(cat "$d/modalias")" in $1) basename "$d"; return 0 ;; esac
	done
	return 1
}
iface_driver() { basename "$(readlink "/sys/bus/usb/devices/$1/driver")" 2>/dev/null; }

# DBK_KMOD_PARAMS: module parameters, e.g. settle_ms=150.
dbk_load() { grep -q '^devbroker ' /proc/modules || insmod "$KO" ${DBK_KMOD_PARAMS:-} || fail "insmod $KO"; }
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

# The same with vfio-pci, for libdev's VFIO backend (needs an IOMMU).
vfio_bind() {
	local bdf=$1 d=/sys/bus/pci/devices/$1
	modprobe vfio-pci || return 1
	if [ -e "$d/driver" ]; then echo "$bdf" > "$d/driver/unbind" || return 1; fi
	echo vfio-pci > "$d/driver_override" || return 1
	echo "$bdf" > /sys/bus/pci/drivers_probe || return 1
	[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ]
}
vfio_unbind() {
	local d=/sys/bus/pci/devices/$1
	echo "$1" > /sys/bus/pci/drivers/vfio-pci/unbind || return 1
	echo > "$d/driver_override"
}
# The IOMMU group number of a device (its node is /dev/vfio/N).
iommu_group() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# qmp COMMAND [JSON-ARGUMENTS]: run a QMP command through the host's
# tests/vm/qmp-agent (vm-run --qmp SOCK --host tests/vm/qmp-agent); prints
# the JSON reply ({"return": ...} or {"error": ...}); fails on an error or
# when no reply comes within 10 s.
QMP_SEQ=0
qmp() {
	local dir=$DBK_VM_DIR/qmp n rep i
	mkdir -p "$dir"
	# Unique across processes: a background loop is a subshell, where $$
	# and a copied QMP_SEQ would repeat the parent's names, and a long run
	# reuses PIDs.
	QMP_SEQ=$((QMP_SEQ + 1)); n=$BASHPID-$QMP_SEQ-${EPOCHREALTIME/./}
	if [ $# -gt 1 ]; then
		printf '{"execute": "%s", "arguments": %s}\n' "$1" "$2" > "$dir/$n.tmp"
	else
		printf '{"execute": "%s"}\n' "$1" > "$dir/$n.tmp"
	fi
	mv "$dir/$n.tmp" "$dir/$n.req"
	for i in $(seq 500); do
		if [ -e "$dir/$n.rep" ]; then
			rep=$(cat "$dir/$n.rep"); echo "$rep"
			case "$rep" in *'"error"'*) return 1 ;; esac
			return 0
		fi
		sleep 0.02
	done
	echo "qmp: no reply to $1 (is vm-run's --host tests/vm/qmp-agent running?)" >&2
	return 1
}

# manifest_exec NAME: the Exec= of the installed manifest NAME.conf (the
# installed driver and its arguments; tests/vm/guest-install.sh), and
# manifest_driver NAME: the driver's path alone.
# csum_errors NS COUNTER...: the sum of nstat's COUNTERs (TcpInCsumErrors,
# UdpInCsumErrors, ...) in network namespace NS ("" for this one), or
# "none" if nstat reports none of them.
csum_errors() {
	local ns=$1
	shift
	${ns:+ip netns exec "$ns"} nstat -saz "$@" |
		awk '$1 !~ /^#/ && NF >= 2 { f = 1; s += $2 } END { print f ? s : "none" }'
}
manifest_exec() { sed -n 's/^Exec=//p' "$DBK_MANIFESTS/$1.conf"; }
manifest_driver() { local e; e=$(manifest_exec "$1") && echo "${e%% *}"; }
