# Shared by the libdev/driver VM tests (tests/vm/edu-*.sh); not a test.
# Source it after lib.sh.  Tests print TAP points ("ok - ..."), which
# guest-run numbers; a test exits 1 if any point failed.
# The helpers and the driver as installed in the guest (tests/vm/guest-install.sh).
H=$DBK_HELPERS
EDU_DRIVER=$(manifest_driver edu)
DRV_UID=4242		# the driver: unprivileged, no capabilities
USER_UID=65534		# the ordinary program using /dev/<name>: another uid
FAILS=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
# check DESCRIPTION COMMAND...: a TAP point from a command's status
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
# check_fails DESCRIPTION COMMAND...: the command must fail
check_fails() { local d=$1; shift; if "$@" 2>/dev/null; then notok "$d"; else ok "$d"; fi; }
diag() { sed 's/^/# /'; }
finish() { echo "# $FAILS failure(s)"; [ "$FAILS" = 0 ]; }

# Run as the ordinary user: another uid, no groups, no capabilities.
as_user() {
	setpriv --reuid=$USER_UID --regid=$USER_UID --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}

# Load devbroker and cuse, bind the first device VENDOR:DEVICE (default
# edu) to devbroker; sets BDF.
dev_setup() {
	local ven=${1:-0x1234} dev=${2:-0x11e8} d
	dbk_load
	modprobe cuse 2>/dev/null || true
	BDF=
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "$ven" ] && [ "$(cat "$d/device")" = "$dev" ]; then
			BDF=$(basename "$d"); break
		fi
	done
	[ -n "$BDF" ] || fail "no $ven:$dev device"
	if [ "$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver" 2>/dev/null)")" != devbroker ]; then
		dbk_bind "$BDF" || fail "bind $BDF to devbroker"
	fi
	for _ in $(seq 100); do [ -e "/dev/devbroker/$BDF" ] && return 0; sleep 0.1; done
	fail "/dev/devbroker/$BDF did not appear"
}

iommu_on() { [ -n "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ]; }

# launch TAG LAUNCHER-ARGS... -- PROGRAM ARGS...
# Runs dbk-launch --wait in the background as our child; sets LPID (the
# launcher), CPID (the program), OUT (the program's stdout) and LOG
# (launcher and program stderr).
launch() {
	local tag=$1; shift
	OUT=/tmp/launch-$tag.out LOG=/tmp/launch-$tag.err
	rm -f "/tmp/launch-$tag.pid"
	"$H/dbk-launch" --wait --pidfile "/tmp/launch-$tag.pid" --uid $DRV_UID --gid $DRV_UID \
		--device "$BDF" "$@" > "$OUT" 2> "$LOG" &
	LPID=$!
	CPID=
	for _ in $(seq 600); do
		if [ -s "/tmp/launch-$tag.pid" ]; then
			CPID=$(cat "/tmp/launch-$tag.pid")
			return 0
		fi
		if ! kill -0 $LPID 2>/dev/null; then
			wait $LPID; LRC=$?
			echo "# dbk-launch exited with $LRC before the program was up:"
			diag < "$LOG"
			return 1
		fi
		sleep 0.1
	done
	echo "# dbk-launch: the program did not come up in 60 s"
	return 1
}

# stop [SIGNAL]: stop the launched program; sets LRC (its exit status).
stop() {
	kill -"${1:-TERM}" $LPID 2>/dev/null
	wait $LPID; LRC=$?
}

# wait_gone PATH [SECONDS]
wait_gone() {
	local i
	for i in $(seq $((${2:-10} * 10))); do [ -e "$1" ] || return 0; sleep 0.1; done
	return 1
}

# The program runs unprivileged: uid/gid, no capabilities, no new privs,
# and holds no devbroker device fd.
check_unprivileged() {
	local st=/proc/$CPID/status f l bad=
	grep -q "^Uid:[[:space:]]*$DRV_UID[[:space:]]*$DRV_UID[[:space:]]*$DRV_UID[[:space:]]*$DRV_UID" $st ||
		bad="uid: $(grep ^Uid: $st)"
	grep -q "^Gid:[[:space:]]*$DRV_UID[[:space:]]*$DRV_UID" $st || bad="$bad gid: $(grep ^Gid: $st)"
	grep -q "^Groups:[[:space:]]*$" $st || bad="$bad $(grep ^Groups: $st)"
	for f in CapInh CapPrm CapEff CapAmb; do
		grep -q "^$f:[[:space:]]*0000000000000000" $st || bad="$bad $(grep ^$f: $st)"
	done
	grep -q "^NoNewPrivs:[[:space:]]*1" $st || bad="$bad no_new_privs unset"
	for f in /proc/$CPID/fd/*; do
		l=$(readlink "$f")
		case "$l" in /dev/devbroker/*) bad="$bad holds $l";; esac
	done
	[ -z "$bad" ] || { echo "# $bad"; return 1; }
}

# The fds the program holds (one line, for diagnostics).
fd_list() {
	local f
	for f in /proc/$CPID/fd/*; do printf '%s->%s ' "${f##*/}" "$(readlink "$f")"; done
	echo
}

fact() { local n=$1 r=1; while [ "$n" -gt 1 ]; do r=$((r * n)); n=$((n - 1)); done; echo $r; }

# Start edu-driver on the bound edu as /dev/$1, with launcher options
# "${@:2}" and driver options from $DRV_OPTS.
start_edu() {
	local name=$1; shift
	launch "$name" --dma-quota 65536 --dma-bits 28 --cuse "$name" --mode 0666 "$@" -- \
		"$EDU_DRIVER" --name "$name" --verbose ${DRV_OPTS:-}
}

# Interrupts delivered so far on the devbroker lines of $BDF (all CPUs).
irq_total() {
	awk -v tag="devbroker[$BDF]" 'index($0, tag) {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts
}
