#!/bin/bash
# The USB request policy (policies/src/usb_requests.bpf.c, a BPF LSM
# program) on QEMU's usb-kbd, interface 0, through a restricted usbfs fd
# (DISCONNECT_CLAIM + DROP_PRIVILEGES) held by a helper running as nobody
# and marked with rules by the broker's own code (broker/usbpolicy.c, in
# usb-reqtest launch).  Each rule both ways, with the unmarked baseline;
# the ioctl allowlist; the TOCTOU conditions (threads, shared memory,
# CLONE_VM, outside writers); inheritance; the denial ring buffer; and
# usbmon's proof that a refused request never reached the bus.  TAP.
# Needs vm-run --xhci.
. tests/vm/lib.sh
H=$DBK_HELPERS/usb-reqtest
POL=$DBK_BUILD/policies/dbk-policy
PDIR=$DBK_BUILD/policies
COOKIE=0xc0ffee
fails=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
# expect WANT DESCRIPTION -- COMMAND...: the command's first word is its result.
expect() {
	local want=$1 desc=$2 out res; shift 3
	out=$("$@" 2>&1 | tail -n1)
	res=${out%% *}
	LASTPID=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$out")
	if [ "$res" = "$want" ]; then ok "$desc: $res"; else notok "$desc: want $want, got '$out'"; fi
}
diag() { sed 's/^/# /'; }

modprobe xhci_pci && modprobe usbhid && modprobe hid_generic && modprobe usbmon ||
	fail "modprobe"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
KBD=
for _ in $(seq 100); do
	for d in /sys/bus/usb/devices/*; do
		[ "$(cat "$d/idVendor" 2>/dev/null)" = 0627 ] &&
			[ "$(cat "$d/idProduct" 2>/dev/null)" = 0001 ] && KBD=$d
	done
	[ -n "$KBD" ] && [ -e "$KBD/$(basename "$KBD"):1.0/driver" ] && break
	sleep 0.1
done
[ -n "$KBD" ] || skip "no usb-kbd (vm-run --xhci)"
BUS=$(cat "$KBD/busnum")
NODE=$(printf /dev/bus/usb/%03d/%03d "$BUS" "$(cat "$KBD/devnum")")
echo "# usb-kbd $(basename "$KBD") at $NODE, interface 0 bound to $(basename "$(readlink "$KBD/$(basename "$KBD"):1.0/driver")")"

# launch: the helper as nobody with the kbd's interface 0 (claimed, dropped) at fd 3.
U() { "$H" launch --dev "$NODE" --ifs 0x1 "$@"; }
M() { U --types "standard class" --cookie $COOKIE "$@"; }

# ---- the broker's ensure: fails closed without the object, loads it otherwise
"$POL" unload usb_requests >/dev/null 2>&1
out=$("$H" ensure "$POL" /nonexistent 2>&1); rc=$?
echo "$out" | diag
if [ $rc != 0 ] && grep -q "missing" <<<"$out" && [ ! -e /sys/fs/bpf/devbroker/usb_requests ]; then
	ok "ensure without the policy object fails closed, with a clear message"
else
	notok "ensure without the policy object: rc $rc, '$out'"
fi
out=$("$H" ensure "$POL" "$PDIR" 2>&1); rc=$?
echo "$out" | diag
if [ $rc = 0 ] && [ -e /sys/fs/bpf/devbroker/usb_requests/maps/dbk_usb_tasks ]; then
	ok "ensure loads usb_requests (dbk-policy load) and checks the BPF LSM is active"
else
	notok "ensure: rc $rc"
fi
"$POL" list | diag
"$H" ensure "$POL" /nonexistent >/dev/null 2>&1
[ $? = 0 ] && ok "ensure with the policy loaded already: nothing to do" ||
	notok "ensure with the policy loaded already"

# ---- usbmon: every control request that reaches the bus
MON=$(mktemp)
cat "/sys/kernel/debug/usb/usbmon/${BUS}u" > "$MON" &
MONPID=$!
sleep 0.5

# ---- unmarked: not affected at all
expect ok "unmarked: GET_DESCRIPTOR (USBDEVFS_CONTROL)" -- U -- "$H" req 0x80 6 0x100 0 18
expect EPIPE "unmarked: vendor 0x40/0x01 reaches the device, which stalls" -- \
	U -- "$H" req 0x40 1 0x1111 0 0
expect EPIPE "unmarked: 0x21/0x01 (DFU_DNLOAD's pattern) reaches the device, which stalls" -- \
	U -- "$H" req 0x21 1 0x4445 0 0
expect ok "unmarked: GET_DESCRIPTOR with a second thread" -- U -- "$H" req --thread 0x80 6 0x100 0 18
expect ok "unmarked: GET_DESCRIPTOR from MAP_SHARED memory" -- \
	U -- "$H" req --mem shared 0x80 6 0x100 0 18
expect EAGAIN "unmarked: 32-bit REAPURBNDELAY32 reaches usbfs (no URB to reap)" -- \
	U -- "$H" ioctl compat-reap
expect EBUSY "unmarked: SETCONFIGURATION reaches usbfs (interface claimed)" -- \
	U -- "$H" ioctl setconfig
expect ok "unmarked: PTRACE_TRACEME" -- U -- "$H" traceme

# ---- marked with USBRequests=standard class
expect ok "standard class: GET_DESCRIPTOR via USBDEVFS_CONTROL" -- M -- "$H" req 0x80 6 0x100 0 18
expect ok "standard class: GET_DESCRIPTOR via a control URB (SUBMITURB)" -- \
	M -- "$H" req --via urb 0x80 6 0x100 0 18
expect ok "standard class: GET_DESCRIPTOR via libusb_control_transfer" -- \
	M -- "$H" req --via libusb 0x80 6 0x100 0 18
expect ok "standard class: class SET_IDLE 0x21/0x0a" -- M -- "$H" req 0x21 0x0a 0 0 0
expect ok "standard class: class SET_IDLE via libusb" -- M -- "$H" req --via libusb 0x21 0x0a 0 0 0
expect EPERM "standard class: vendor 0x40/0x01 refused" -- M -- "$H" req 0x40 1 0x2222 0 0
PID_VENDOR=$LASTPID
expect EPERM "standard class: vendor 0x40/0x01 as a control URB refused" -- \
	M -- "$H" req --via urb 0x40 1 0x2223 0 0
expect LIBUSB_ERROR_IO "standard class: vendor 0x40/0x01 via libusb refused (submit fails)" -- \
	M -- "$H" req --via libusb 0x40 1 0x2224 0 0
expect EPERM "standard class: reserved type 0x60 refused" -- M -- "$H" req 0x60 1 0x2225 0 0
expect ok "standard class: a forked child is marked too (GET_DESCRIPTOR)" -- \
	M -- "$H" req --fork 0x80 6 0x100 0 18
expect EPERM "standard class: a forked child is marked too (vendor refused)" -- \
	M -- "$H" req --fork 0x40 1 0x2226 0 0
PID_CHILD=$LASTPID
expect ok "standard class: after a vfork() child came and went" -- \
	M -- "$H" req --vfork 0x80 6 0x100 0 18
expect EPERM "a vfork() child may not clone(CLONE_VM) nor start a thread (they would outlive it on its parent's memory)" -- \
	M -- "$H" vforkclone
expect ok "unmarked: the same clone and thread from a vfork() child" -- U -- "$H" vforkclone
# Reopening the fd through /proc would undo DROP_PRIVILEGES if the node's
# mode let the driver open it (say a udev rule made it 0666).
chmod 0666 "$NODE"
expect EPERM "marked: reopening /proc/self/fd/3 (the node made 0666) refused" -- M -- "$H" reopen
expect ok "unmarked: the same reopen works" -- U -- "$H" reopen
chmod 0600 "$NODE"
# Another cookie and every type allowed: no setup packet is even read.
expect EPIPE "standard class vendor: vendor 0x40/0x01 reaches the device" -- \
	U --types "standard class vendor" -- "$H" req 0x40 1 0x3333 0 0
expect EPIPE "all types, deny 0x40:0x02: vendor 0x40/0x01 checked and let through" -- \
	U --types "standard class vendor" --deny 0x40:0x02 -- "$H" req 0x40 1 0x3334 0 0
expect EPERM "all types, deny 0x40:0x02: vendor 0x40/0x02 refused" -- \
	U --types "standard class vendor" --deny 0x40:0x02 -- "$H" req 0x40 2 0x3335 0 0
expect EPERM "all types, deny 0x40:*: vendor 0x40/0x05 refused" -- \
	U --types "standard class vendor" --deny '0x40:*' -- "$H" req 0x40 5 0x3336 0 0
expect EPIPE "all types, deny 0x40:*: vendor 0xc0/0x05 (IN) is another bmRequestType" -- \
	U --types "standard class vendor" --deny '0x40:*' -- "$H" req 0xc0 5 0x3337 0 1

# ---- a deny rule: DFU_DNLOAD's pattern 0x21:0x01
D() { M --deny 0x21:0x01 "$@"; }
expect EPERM "deny 0x21:0x01: 0x21/0x01 refused" -- D -- "$H" req 0x21 1 0x4444 0 0
PID_RULE=$LASTPID
expect LIBUSB_ERROR_IO "deny 0x21:0x01: 0x21/0x01 via libusb refused" -- \
	D -- "$H" req --via libusb 0x21 1 0x4446 0 0
expect ok "deny 0x21:0x01: 0x21/0x0a (SET_IDLE) still works" -- D -- "$H" req 0x21 0x0a 0 0 0
expect EPERM "deny dfu-dnload (alias): 0x21/0x01 refused" -- \
	M --deny dfu-dnload -- "$H" req 0x21 1 0x4447 0 0

# ---- the ioctl allowlist
expect EPERM "marked: USBDEVFS_RESET refused" -- M -- "$H" ioctl reset
PID_RESET=$LASTPID
expect EPERM "marked: USBDEVFS_SETCONFIGURATION refused" -- M -- "$H" ioctl setconfig
expect EPERM "marked: USBDEVFS_IOCTL (driver disconnect) refused" -- M -- "$H" ioctl ioctl-disconnect
expect EPERM "marked: USBDEVFS_CLAIM_PORT refused" -- M -- "$H" ioctl claim-port
expect EPERM "marked: 32-bit REAPURBNDELAY32 refused" -- M -- "$H" ioctl compat-reap
expect ok "marked: USBDEVFS_GETDRIVER allowed" -- M -- "$H" ioctl getdriver
expect ok "marked: USBDEVFS_CONNINFO_EX allowed" -- M -- "$H" ioctl conninfo-ex

# ---- TOCTOU: only arguments nobody else can change are trusted
expect EPERM "racy: GET_DESCRIPTOR with a second thread refused" -- \
	M -- "$H" req --thread 0x80 6 0x100 0 18
PID_RACY=$LASTPID
expect EPERM "racy: with a second thread, as a control URB too" -- \
	M -- "$H" req --thread --via urb 0x80 6 0x100 0 18
expect EPERM "racy: the ctrltransfer in a MAP_SHARED mapping refused" -- \
	M -- "$H" req --mem shared 0x80 6 0x100 0 18
expect EPERM "racy: the ctrltransfer in a MAP_PRIVATE file mapping refused" -- \
	M -- "$H" req --mem file 0x80 6 0x100 0 18
expect EPERM "racy: a control URB's setup packet in MAP_SHARED refused" -- \
	M -- "$H" req --via urb --mem shared 0x80 6 0x100 0 18
expect EPERM "racy: the URB struct in MAP_SHARED refused" -- \
	M -- "$H" req --via urb --urb-mem shared 0x80 6 0x100 0 18
expect EPERM "racy: with a CLONE_VM child (another process on the same memory) refused" -- \
	M -- "$H" req --clonevm 0x80 6 0x100 0 18

# ---- no other process may write a marked driver's memory
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null)
[ -n "$scope" ] && echo 0 > /proc/sys/kernel/yama/ptrace_scope	# classic same-uid ptrace: the baseline
A() { "$H" launch -- "$H" attack "$@"; }
# Targets hold the usbfs fd like a driver (one at a time: the interface is claimed per fd).
"$H" launch --dev "$NODE" -- "$H" sleep 60 > /dev/null &
T_PLAIN=$!
sleep 1
out=$("$H" get $T_PLAIN)
[ "$out" = ENOENT ] && ok "the unmarked target is not marked" || notok "unmarked target: '$out'"
for how in ptrace mem vmwrite getfd; do
	expect ok "unmarked target: $how by another process of the same uid works" -- A $T_PLAIN $how
done
kill $T_PLAIN; wait $T_PLAIN 2>/dev/null
"$H" launch --dev "$NODE" --types "standard class" --cookie $COOKIE -- "$H" sleep 60 > /dev/null &
T_MARKED=$!
sleep 1
out=$("$H" get $T_MARKED)
[[ $out = "marked version=1 allowed=0x3 nr_deny=0 flags=0x0 cookie=$COOKIE" ]] &&
	ok "the mark survives exec, and exec cleared its 'memory may be shared' flag: $out" ||
	notok "the marked target's rules: '$out'"
expect EPERM "marked target: ptrace attach refused" -- A $T_MARKED ptrace
PID_ATTACKER=$LASTPID
expect EACCES "marked target: opening /proc/PID/mem for writing refused" -- A $T_MARKED mem
expect EPERM "marked target: process_vm_writev refused" -- A $T_MARKED vmwrite
expect EPERM "marked target: pidfd_getfd of its usbfs fd refused" -- A $T_MARKED getfd
kill $T_MARKED; wait $T_MARKED 2>/dev/null
expect EPERM "marked: PTRACE_TRACEME refused" -- M -- "$H" traceme
[ -n "$scope" ] && echo "$scope" > /proc/sys/kernel/yama/ptrace_scope

# ---- the denials, as the broker reads them (ring buffer)
DEN=$("$H" denials)
echo "$DEN" | grep -v '^denial' | diag
has() { grep -q "^denial pid=$1 .*$2" <<<"$DEN"; }
has "$PID_VENDOR" "cookie=$COOKIE cmd=0xc0185500 reason=2 type=0x40 req=0x01 value=0x2222.* bus=2 uid=[0-9]" &&
	ok "denial record: vendor request, type not allowed, with cookie and setup packet, a USB record (struct dbk_denial)" ||
	notok "no denial record for pid $PID_VENDOR (vendor)"
has "$PID_CHILD" "cookie=$COOKIE .*reason=2 type=0x40 req=0x01 value=0x2226" &&
	ok "denial record: the forked child's, with the parent's cookie" ||
	notok "no denial record for the forked child $PID_CHILD"
has "$PID_RULE" "reason=3 type=0x21 req=0x01 value=0x4444 index=0x0000 rule=0" &&
	ok "denial record: deny rule 0" || notok "no denial record for pid $PID_RULE (rule)"
has "$PID_RESET" "cmd=0x00005514 reason=1" &&
	ok "denial record: USBDEVFS_RESET, ioctl not allowed" || notok "no denial record for the reset"
has "$PID_RACY" "reason=4" && ok "denial record: racy" || notok "no racy denial record for $PID_RACY"
has "$T_MARKED" "reason=8 .*other=$PID_ATTACKER" &&
	ok "denial record: the ptrace attempt, naming the attacker" ||
	notok "no ptrace denial record for $T_MARKED by $PID_ATTACKER"
grep -q "^denial pid=$T_PLAIN " <<<"$DEN" && notok "a denial for the unmarked target" ||
	ok "no denial for the unmarked target"

# ---- usbmon: refused requests never reached the bus
sleep 0.5
kill $MONPID 2>/dev/null
wait $MONPID 2>/dev/null
seen() { grep -q " s $1 $2 $3 " "$MON"; }
if seen 40 01 1111 && seen 40 01 3333 && seen 21 01 4445 && seen 40 01 3334; then
	ok "usbmon saw the requests that were let through (0x40/0x01 x3, 0x21/0x01)"
else
	notok "usbmon did not see the requests let through"
	diag < "$MON"
fi
for v in "40 01 2222" "40 01 2223" "40 01 2224" "60 01 2225" "40 01 2226" "40 02 3335" \
	 "40 05 3336" "21 01 4444" "21 01 4446" "21 01 4447"; do
	# shellcheck disable=SC2086
	seen $v && notok "usbmon: refused request '$v' reached the bus" ||
		ok "usbmon: refused request '$v' never reached the bus"
done
rm -f "$MON"

# ---- unloaded: marking fails, so a broker cannot start a restricted driver
"$POL" unload usb_requests | diag
out=$(M -- "$H" req 0x80 6 0x100 0 18 2>&1); rc=$?
[ $rc = 2 ] && grep -q "marking this process" <<<"$out" &&
	ok "without the policy, marking fails (the driver is not started): $out" ||
	notok "marking without the policy: rc $rc, '$out'"
exit $((fails > 0))
