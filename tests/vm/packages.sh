#!/bin/bash
# The Debian packages as a user gets them, in the guest: dpkg -i of the
# built .debs; DKMS builds devbroker.ko for the guest's kernel and that is
# the module modprobe loads; devbrokerd from /usr/sbin, with the installed
# manifests, limits and policies, drives the edu device (DMA confined by
# the IOMMU) for an ordinary user; removing the driver package gives the
# device back without a daemon restart; a vendor's driver (the
# third-party example, built here against the installed SDK alone) is
# installed as its own package, drives the device and goes; purging leaves
# no file behind.
# TAP output.  usage: packages.sh DEBS_DIR   (tests/vm/packages-run)
# Boot: --edu 1 --iommu
. tests/vm/lib.sh
DBK_PREFIX=/usr	# the packages', not a meson install (packages-run: DBK_GUEST_INSTALL=no)
. tests/vm/broker-lib.sh
DEBS=$1
CTL=/usr/sbin/devbrokerctl	# the installed one, from here on
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
export DEBIAN_FRONTEND=noninteractive
bdf=$(edu_bdfs | head -n1)
mapfile -t debs < <(ls "$DEBS"/*.deb | grep -v -- -dbgsym_)
pkgs=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')
log=$DBK_VM_DIR/dpkg.log

# man-db's trigger rebuilds its whole index: minutes under TCG, for nothing here.
rm -f /var/lib/man-db/auto-update
t0=$SECONDS
DESC="dpkg -i installs ${#debs[@]} packages ($pkgs)"
ok bash -c "dpkg -i ${debs[*]@Q} > $log 2>&1"
dkms_s=$((SECONDS - t0))
echo "# dpkg -i, DKMS build included: $dkms_s s"
# Every file the packages own, for the purge check at the end.
for p in $pkgs; do dpkg -L "$p"; done | sort -u > "$DBK_VM_DIR/owned"
DESC="DKMS built and installed devbroker $(dpkg-deb -f "$DEBS"/devbroker-dkms_*.deb Version | cut -d- -f1) for the guest's kernel $(uname -r)"
ok bash -c "dkms status devbroker | grep -q '$(uname -r).*installed'"
DESC="the loaded module is DKMS's ($(modinfo -n devbroker 2>/dev/null)), loaded by the package (postinst), not the build tree's"
ok bash -c "grep -q '^devbroker ' /proc/modules && modinfo -n devbroker | grep -q '/updates/dkms/devbroker.ko' && [ \"\$(cat /sys/module/devbroker/srcversion)\" = \"\$(modinfo -F srcversion devbroker)\" ]"
DESC="the module is loaded at boot too (/usr/lib/modules-load.d/devbroker.conf)"
ok grep -qx devbroker /usr/lib/modules-load.d/devbroker.conf
DESC="the devbroker group exists (sysusers.d), limits.conf is a conffile"
ok bash -c "getent group devbroker >/dev/null && dpkg-query -W -f='\${Conffiles}' devbroker | grep -q /etc/devbroker/limits.conf"

# No systemd in the guest: start the unit's command line as systemd would.
modprobe cuse
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/devbrokerd.service)
$exec_start >> "$BROKER_LOG" 2>&1 &
BROKER_PID=$!
DESC="devbrokerd from the unit ($exec_start) drives the edu device with the installed manifest, as a dynamic user of its own"
ok wait_for 60 bash -c "[ \"\$(dev_field $bdf state)\" = running ] && [ -c /dev/edu0 ] && dynamic_uid \$(dev_field $bdf pid)"
DESC="its grant's DMA is confined: no unsafe DMA (the IOMMU; the manifest's guard policy is loaded too)"
ok bash -c "dev_field $bdf rights | grep -q \"'unsafe_dma': False\" && /usr/libexec/devbroker/dbk-policy list 2>/dev/null | grep -q edu_dma_guard"
install -m 0755 "$DBK_BUILD/tests/helpers/edu-client" /usr/local/bin/edu-client
head -c 4000 /dev/urandom > /tmp/in; chmod 644 /tmp/in	# the device reaches 4095 of its 4096 bytes (edu-regs.h)
DESC="an ordinary user (uid 1000) computes 10! on /dev/edu0 and makes a 4000-byte DMA round trip, byte-exact"
ok bash -c "[ \"\$(as_user edu-client fact /dev/edu0 10)\" = 3628800 ] && as_user edu-client dma /dev/edu0 /tmp/in /tmp/out && cmp -s /tmp/in /tmp/out"

# gave_back PID: the driver PID is gone, the device unmatched and no longer devbroker's.
gave_back() {
	! kill -0 "$1" 2>/dev/null && [ "$(dev_field "$bdf" state)" = unmatched ] &&
		[ ! -e "/sys/bus/pci/drivers/devbroker/$bdf" ]
}
export -f gave_back; export bdf
pid=$(dev_field "$bdf" pid)
dpkg -r devbroker-driver-edu >> "$log" 2>&1
DESC="dpkg -r devbroker-driver-edu: its driver (pid $pid) stops and the device goes back to the kernel, devbrokerd still running"
ok wait_for 20 bash -c "gave_back $pid && [ ! -e /dev/edu0 ] && kill -0 $BROKER_PID"

# A vendor's driver, built here from examples/third-party-driver against
# the installed libdevbroker-dev only (pkg-config), as its own package.
t0=$SECONDS
acme=$(examples/third-party-driver/build-in-sysroot --out "$DBK_VM_DIR/acme" --no-lintian 2>"$DBK_VM_DIR/acme.log")
DESC="the third-party example builds against the installed SDK alone, into ${acme:-no} .deb ($((SECONDS - t0)) s)"
ok test -f "$acme"
[ -f "$acme" ] || sed 's/^/# /' "$DBK_VM_DIR/acme.log" | tail -n 20
dpkg -i "$acme" >> "$log" 2>&1
FACTS=/run/devbroker/acme-edu/0/factorials
DESC="its package installed: devbrokerd starts acme-edu for the edu device without a restart, under its own policy"
ok wait_for 30 bash -c "[ \"\$(dev_field $bdf driver)\" = acme-edu ] && [ \"\$(dev_field $bdf state)\" = running ] && [ -e $FACTS ]"
DESC="and it works: the device computes 0! to 12! into $FACTS (12! = 479001600)"
ok bash -c "grep -q '^12! = 479001600\$' $FACTS && [ \$(wc -l < $FACTS) = 13 ]"
pid=$(dev_field "$bdf" pid)
dpkg -r acme-edu-driver >> "$log" 2>&1
DESC="dpkg -r acme-edu-driver: its driver (pid $pid) stops and the device goes back"
ok wait_for 20 bash -c "gave_back $pid && ! grep -q ' /run/devbroker/acme-edu/0 ' /proc/mounts"
dpkg -P acme-edu-driver >> "$log" 2>&1

dpkg -i "$DEBS"/devbroker-driver-edu_*.deb >> "$log" 2>&1
DESC="devbroker-driver-edu installed again: served again without a restart"
ok wait_for 30 bash -c "[ \"\$(dev_field $bdf state)\" = running ] && [ \"\$(as_user edu-client fact /dev/edu0 5)\" = 120 ]"
broker_stop

dpkg -P $pkgs >> "$log" 2>&1
left=$(while read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && echo "$f"; done < "$DBK_VM_DIR/owned")
DESC="dpkg -P purges them all, and leaves no file behind${left:+: $(echo $left | head -c 300)}"
ok bash -c "[ -z '$left' ] && ! dpkg -l $pkgs 2>/dev/null | grep -q '^ii' && [ ! -e /etc/devbroker/limits.conf ] && [ ! -e /var/lib/dkms/devbroker ]"
DESC="the DKMS module is gone from the kernel's module tree"
ok bash -c "! ls /lib/modules/$(uname -r)/updates/dkms/devbroker.ko* 2>/dev/null | grep -q ."
[ $FAILED = 0 ] || { echo "# dpkg log:"; tail -n 40 "$log" | sed 's/^/# /'; echo "# devbrokerd log:"; tail -n 20 "$BROKER_LOG" | sed 's/^/# /'; }
exit $FAILED
