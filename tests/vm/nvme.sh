#!/bin/bash
# drivers/nvme on QEMU's NVMe controller (1b36:0010, vm-run --nvme): the
# kernel's nvme driver writes a marker, the controller goes to devbroker,
# the installed driver runs its --selftest unprivileged (uid 4242, no
# capabilities) on a grant with BAR0, MSI-X and DMA (behind the IOMMU when
# there is one, else --unsafe-dma), with 4 I/O queues and then with too
# few vectors (fallback to 1 queue, commands up to MDTS), and once revoked
# in the middle of its I/O; then the kernel's nvme driver gets
# the controller back and reads both the marker and the self-test's
# signature block through /dev/nvme0n1.  With two namespaces (vm-run
# --nvme-ns 2) the self-test also writes the second and checks the first.
# Under devbrokerd, the manifest's Policy=nvme_firewall holds the driver's
# grant; then tests/helpers/nvme-fwtest tries what the driver never does
# on a grant with the driver's cookie (refused, reported), and the
# self-test runs again under the firewall.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
NVME_DRIVER=$(manifest_driver nvme)
VEN=0x1b36 DEV=0x0010
SIG=DEVBROKER-NVME-SELFTEST
MARK="written by the kernel's nvme driver before devbroker"

nvme_bdf() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = $VEN ] && [ "$(cat "$d/device")" = $DEV ] && { basename "$d"; return 0; }
	done
	return 1
}
drv_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
# The kernel's namespace block device of controller $BDF, once it appears.
kdisk() {
	local i b
	for i in $(seq 100); do
		for b in /sys/bus/pci/devices/$BDF/nvme/nvme*/nvme*n1; do
			[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }
		done
		sleep 0.1
	done
	return 1
}

BDF=$(nvme_bdf) || fail "no NVMe controller $VEN:$DEV (vm-run --nvme)"
check "the installed manifest names the installed driver ($NVME_DRIVER)" [ -x "$NVME_DRIVER" ]
grep -q '^Class=0x010802$' "$DBK_MANIFESTS/nvme.conf" && ok "the manifest matches class 0x010802" ||
	notok "the manifest matches class 0x010802"

# 1. The kernel's driver first: it owns the controller and writes a marker at LBA 100.
modprobe nvme || fail "modprobe nvme"
[ -e "/sys/bus/pci/devices/$BDF/driver" ] || echo "$BDF" > /sys/bus/pci/drivers_probe
DISK=$(kdisk)
check "the kernel's nvme driver binds $BDF and makes ${DISK:-no disk}" [ -n "$DISK" ]
printf '%s\n' "$MARK" | dd of="$DISK" bs=512 seek=100 conv=fsync,sync 2>/dev/null
check "the kernel's driver wrote the marker" \
	bash -c "dd if='$DISK' bs=512 skip=100 count=1 2>/dev/null | grep -q \"$MARK\""
lspci -vv -s "$BDF" 2>/dev/null | grep -iE 'MSI-X|Region' | diag

# 2. To devbroker (driver_override; the kernel's nvme lets go of it).
dev_setup $VEN $DEV
check "$BDF is bound to devbroker" [ "$(drv_of "$BDF")" = devbroker ]
check "the kernel's namespace is gone" [ -z "$(ls /sys/bus/pci/devices/$BDF/nvme 2>/dev/null)" ]

dma=(--dma-quota $((32 << 20)))
iommu_on || dma+=(--unsafe-dma)
# selftest TAG VECTORS QUEUES [DRIVER-OPTIONS...]: one self-test run, its TAP points relayed.
selftest() {
	local tag=$1 vec=$2 queues=$3; shift 3
	if ! launch "$tag" --bars 1 --mmap 1 --msix --max-vectors "$vec" "${dma[@]}" -- \
		"$NVME_DRIVER" --selftest --queues "$queues" --verbose "$@"; then
		notok "$tag: dbk-launch"; return
	fi
	wait $LPID; LRC=$?
	grep -E '^(not )?ok ' "$OUT" | sed "s/^\(not \)\?ok [0-9]* - /&$tag: /"
	grep -q '^not ok' "$OUT" && FAILS=$((FAILS + 1))
	check "$tag: the self-test exits 0 (status $LRC)" [ "$LRC" = 0 ]
	[ "$LRC" = 0 ] || { diag < "$OUT"; diag < "$LOG"; }
	cp "$OUT" "$LOG" "$DBK_VM_DIR/" 2>/dev/null || true
}
# Revoked in the middle of the self-test's I/O: the driver survives it
# (libdev turns the SIGBUS of its mappings into -ENODEV), stops promptly
# with status 3, and the controller serves the runs below on a new grant.
if launch revoke --bars 1 --mmap 1 --msix --max-vectors 5 "${dma[@]}" -- \
	"$NVME_DRIVER" --selftest --queues 4; then
	for _ in $(seq 200); do grep -q "PRP list" "$OUT" && break; sleep 0.05; done
	t0=$SECONDS
	kill -USR1 $LPID
	wait $LPID; LRC=$?
	if [ "$LRC" = 3 ] && [ $((SECONDS - t0)) -le 30 ]; then
		ok "revoke: revoked mid-I/O after $(grep -c '^ok' "$OUT") checks, the driver exits 3 in $((SECONDS - t0)) s"
	else
		notok "revoke: the driver exits 3 within 30 s of the revocation (status $LRC, $((SECONDS - t0)) s)"
		diag < "$LOG"
	fi
	check "revoke: the launcher revoked the grant" grep -q 'grant revoked' "$LOG"
	cp "$OUT" "$LOG" "$DBK_VM_DIR/" 2>/dev/null || true
else
	notok "revoke: dbk-launch"
fi
selftest msix4 5 4
grep -q "I/O queue pair(s) of .*MSI-X" "/tmp/launch-msix4.out" &&
	ok "msix4: 4 queues on their own vectors" || notok "msix4: 4 queues on their own vectors"
# Two vectors for four queues asked: one I/O queue (vector 1), the admin queue on
# vector 0; and commands up to MDTS (QEMU: 512 KiB, a 127-entry PRP list).
# Its waits always poll (msix4's are adaptive, q16's on the interrupt only:
# the self-test checks each mode's counts).
selftest msix2 2 4 --max-transfer $((512 << 10)) --poll always
check "msix2: the driver fell back to 1 I/O queue pair" \
	grep -q "ok [0-9]* - 1 I/O queue pair(s)" "/tmp/launch-msix2.out"
# Sixteen queues asked with vectors for all but DMA for about seven (32M
# at ~3.9 MiB a queue): the driver goes on with the queues that fit.
selftest q16 17 16 --poll irq
n=$(sed -n 's/^ok [0-9]* - \([0-9]*\) I\/O queue pair(s).*/\1/p' /tmp/launch-q16.out)
if [ -n "$n" ] && [ "$n" -ge 2 ] && [ "$n" -lt 16 ] && grep -q "going on with $n queue pairs" /tmp/launch-q16.err; then
	ok "q16: out of DMA quota at queue $((n + 1)), it goes on with $n: $(grep -m1 'allocating' /tmp/launch-q16.err)"
else
	notok "q16: out of DMA quota, the driver goes on with fewer queues (${n:-none})"
	diag < /tmp/launch-q16.err
fi

# 3. Back to the kernel: no more override, reprobe.
dbk_unbind "$BDF"
echo "$BDF" > /sys/bus/pci/drivers_probe
for _ in $(seq 100); do [ "$(drv_of "$BDF")" = nvme ] && break; sleep 0.1; done
check "the kernel's nvme driver gets $BDF back" [ "$(drv_of "$BDF")" = nvme ]
DISK=$(kdisk)
check "and makes ${DISK:-no disk} again" [ -n "$DISK" ]
check "the kernel reads the self-test's signature at LBA 0" \
	bash -c "dd if='$DISK' bs=512 count=1 2>/dev/null | grep -aq '^$SIG nsid 1 '"
check "the kernel's marker at LBA 100 survived the self-test" \
	bash -c "dd if='$DISK' bs=512 skip=100 count=1 2>/dev/null | grep -q \"$MARK\""
check "the kernel's driver reads the whole namespace" \
	dd if="$DISK" of=/dev/null bs=1M 2>/dev/null
# The kernel's numbers beside the self-test's (queue depth 1 here, dd has no more).
k128=$(dd if="$DISK" of=/dev/null bs=128k iflag=direct 2>&1 | sed -n 's/.*copied, //p')
k4=$(dd if="$DISK" of=/dev/null bs=4k count=2048 iflag=direct 2>&1 | sed -n 's/.*copied, //p')
ok "for comparison, the kernel's nvme under TCG, O_DIRECT at depth 1: 128 KiB reads ${k128:-?}; 4 KiB reads ${k4:-?}"

# 4. Under devbrokerd, with the installed manifest's rights (BAR0, 3 MSI-X
# vectors, 12M of DMA): AutoBind=no leaves the controller to the kernel
# until `devbrokerctl bind`; the driver brings the controller up with 2 I/O
# queue pairs and serves the namespace as /dev/nbdN (Block=); SIGTERM makes
# it shut the controller down (CC.SHN) and exit 0; `devbrokerctl unbind`
# (SIGTERM again, the driver's StopTimeoutSec= to exit, only then revoke
# and SIGKILL) gives the controller back.  Without an
# IOMMU the limits must allow unsafe DMA, which this test's do.  The disk
# itself (ext4, SIGKILL, the image) is tests/vm/nvme-block.sh's.
BRK=/tmp/dbk-nvme-broker BLOG=$DBK_VM_DIR/devbrokerd.log CTL=$DBK_PREFIX/sbin/devbrokerctl
export DEVBROKER_SOCKET=/run/devbroker/control
rm -rf "$BRK"; mkdir -p "$BRK/sys" "$BRK/etc"
cp "$DBK_MANIFESTS/nvme.conf" "$BRK/sys/"
printf '[Limits]\nAllowUnsafeDMA=%s\n' "$(iommu_on && echo no || echo yes)" > "$BRK/limits.conf"
"$DBK_PREFIX/sbin/devbrokerd" --foreground --manifests-dir "$BRK/sys" --etc-dir "$BRK/etc" \
	--limits "$BRK/limits.conf" >> "$BLOG" 2>&1 &
BPID=$!
for _ in $(seq 100); do [ -S "$DEVBROKER_SOCKET" ] && break; sleep 0.1; done
sleep 1
check "devbrokerd leaves the controller to the kernel's nvme (AutoBind=no)" [ "$(drv_of "$BDF")" = nvme ]
"$CTL" bind "$BDF" > /dev/null 2>&1
for _ in $(seq 600); do [ -b /dev/devbroker/block/dbknvme0 ] && break; sleep 0.1; done
check "devbrokerctl bind: the driver comes up with the manifest's rights, 2 I/O queue pairs" \
	grep -q "2 I/O queue pair(s) of 32 entries" "$BLOG"
check "and serves the namespace: /dev/devbroker/block/dbknvme0 reads the self-test's signature" \
	bash -c "dd if=/dev/devbroker/block/dbknvme0 bs=512 count=1 iflag=direct 2>/dev/null | grep -aq '^$SIG nsid 1 '"
# The manifest's Policy=nvme_firewall, loaded by devbrokerd, holds this
# driver's grant (cookie: FNV-1a of "nvme"): its registers page mediated,
# its doorbells mapped.
FWCOOKIE=74f268ba60acc467
check "devbrokerd loaded the manifest's Policy=nvme_firewall" \
	bash -c "'$CTL' policy list | grep -q 'nvme_firewall on dbk_policy_access'"
check "the driver's grant carries the cookie nvme_firewall knows ($FWCOOKIE)" \
	bash -c "'$CTL' --json status '$BDF' | grep -q '\"policy_cookie\": *\"$FWCOOKIE\"'"
check "... and is firewalled: registers through pread/pwrite, doorbells through mmap()" \
	grep -q "registers through pread/pwrite, doorbells through mmap()" "$BLOG"
# SIGTERM (as devbrokerd's orderly stops send it): CC.SHN, exit 0.
pid=$("$CTL" --json status "$BDF" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['device']['pid'])")
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 300); do grep -q "driver nvme (pid $pid): exit" "$BLOG" && break; sleep 0.1; done
check "SIGTERM: the driver shuts the controller down (CC.SHN) and exits 0" \
	bash -c "grep -q 'controller shut down (CC.SHN)' '$BLOG' && grep -q 'driver nvme (pid $pid): exit 0' '$BLOG'"
"$CTL" unbind "$BDF" > /dev/null 2>&1
for _ in $(seq 300); do [ "$(drv_of "$BDF")" = nvme ] && break; sleep 0.1; done
check "and the kernel's nvme has the controller again" [ "$(drv_of "$BDF")" = nvme ]
check "nvme_firewall refused nothing the driver did (no denial on $BDF)" \
	bash -c "! grep -q 'denied on $BDF' '$BLOG'"

# 5. What nvme_firewall refuses (devbrokerd still up: it reports denials),
# on grants with the driver's cookie (dbk-launch --driver-name nvme): a
# program that tries what the driver never does (tests/helpers/nvme-fwtest:
# NSSR, INTMS/INTMC, the CMB, AQA/ASQ/CC writes in the wrong states), then
# the self-test, resets and aborts included, under the firewall.
dev_setup $VEN $DEV
if launch fw --driver-name nvme --bars 1 --mmap 1 -- "$H/nvme-fwtest"; then
	wait $LPID; LRC=$?
	grep -E '^(not )?ok' "$OUT" | sed 's/^/# nvme-fwtest: /'
	diag < "$LOG"
	check "firewall: a program on a grant with the nvme cookie: the registers page mediated, the doorbells mapped; NSSR, INTMS, INTMC, CMBSZ, an 8-byte read, ASQ/AQA while enabled, CC changing IOSQES/IOCQES refused (EPERM); the driver's sequence allowed (status $LRC)" \
		bash -c "[ $LRC = 0 ] && grep -q '^ok' '$OUT' && ! grep -q '^not ok' '$OUT'"
else
	notok "firewall: dbk-launch nvme-fwtest"
fi
for _ in $(seq 100); do grep "denied on $BDF" "$BLOG" | grep -q 'what 0x20 ' && break; sleep 0.1; done
check "firewall: each refusal reported by devbrokerd (a denied event: NSSR, 0x20)" \
	bash -c "grep 'denied on $BDF' '$BLOG' | grep -q 'what 0x20 '"
grep "denied on $BDF" "$BLOG" | head -n 3 | diag
ndenied=$(grep -c "denied on $BDF" "$BLOG")
if launch fwself --driver-name nvme --bars 1 --mmap 1 --msix --max-vectors 5 "${dma[@]}" -- \
	"$NVME_DRIVER" --selftest --queues 4; then
	wait $LPID; LRC=$?
	grep -E '^(not )?ok ' "$OUT" | sed 's/^/# fwself: /'
	check "firewall: the self-test passes under nvme_firewall (status $LRC)" [ "$LRC" = 0 ]
	[ "$LRC" = 0 ] || diag < "$LOG"
	check "firewall: ... with its registers through pread/pwrite, doorbells through mmap()" \
		grep -q "registers through pread/pwrite, doorbells through mmap()" "$LOG"
	sleep 1
	check "firewall: ... and nothing of it refused ($ndenied denials before, as after)" \
		[ "$(grep -c "denied on $BDF" "$BLOG")" = "$ndenied" ]
	cp "$OUT" "$LOG" "$DBK_VM_DIR/" 2>/dev/null || true
else
	notok "firewall: dbk-launch the self-test"
fi
kill "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null
grep -E "nvme|$BDF" "$BLOG" | tail -n 12 | diag
finish
