#!/bin/bash
# `meson install` with DESTDIR puts every part at its FHS path under the
# prefix (drivers ship as Debian packages).  TAP.  usage: install-layout.sh BUILD_DIR
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null 2>&1 ||
	{ echo "not ok 1 - meson install --destdir failed"; echo "1..1"; exit 1; }
opt() {	# opt NAME: a build option's value
	meson introspect "$build" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]][0])' "$1"
}
prefix=$(opt prefix)
# sysconfdir is relative to the prefix unless absolute (/etc for prefix /usr).
sysconfdir=$(opt sysconfdir)
case $sysconfdir in /*) ;; *) sysconfdir=$prefix/$sysconfdir ;; esac
n=0
want() {	# want DESCRIPTION GLOB
	n=$((n + 1))
	if compgen -G "$dest$2" > /dev/null; then echo "ok $n - $1: $2"; else echo "not ok $n - $1: $2 missing"; fi
}
want "the module" "/lib/modules/*/updates/devbroker.ko"
want "the UAPI header" "$prefix/include/linux/devbroker.h"
want "the SDK" "$prefix/lib/*/libdevbroker.so.1"
for h in sdk device usb frontend fdpass handover block; do
	want "the SDK's <devbroker/$h.h>" "$prefix/include/devbroker/$h.h"
done
want "the SDK's pkg-config file" "$prefix/lib/*/pkgconfig/devbroker.pc"
want "the daemon" "$prefix/sbin/devbrokerd"
want "the CLI" "$prefix/sbin/devbrokerctl"
want "the edu driver" "$prefix/libexec/devbroker/drivers/edu-driver"
want "the edu manifest" "$prefix/share/devbroker/drivers.d/edu.conf"
want "the usb-hid driver" "$prefix/libexec/devbroker/drivers/usb-hid"
want "the usb-hid manifest" "$prefix/share/devbroker/drivers.d/usb-hid.conf"
want "the usb-storage driver" "$prefix/libexec/devbroker/drivers/usb-storage"
want "the usb-storage manifest" "$prefix/share/devbroker/drivers.d/usb-storage.conf"
want "the nvme driver" "$prefix/libexec/devbroker/drivers/nvme"
want "the nvme manifest" "$prefix/share/devbroker/drivers.d/nvme.conf"
want "the e1000e driver" "$prefix/libexec/devbroker/drivers/e1000e"
want "the e1000e manifest" "$prefix/share/devbroker/drivers.d/e1000e.conf"
want "the network frontend header" "$prefix/include/devbroker/net.h"
want "the USB request policy" "$prefix/share/devbroker/policies/usb_requests.bpf.o"
want "the USB policy header" "$prefix/include/devbroker/usb-policy.h"
want "the bpffs layout header" "$prefix/include/devbroker/bpffs.h"
want "the CUSE client header" "$prefix/include/devbroker/cuse-client.h"
want "the denial record header" "$prefix/include/devbroker/denial.h"
want "man pages" "$prefix/share/man/man5/devbroker-manifest.5"
want "the systemd unit" "$prefix/lib/systemd/system/devbrokerd.service"
want "nbd loaded at boot, for Block=" "$prefix/lib/modules-load.d/devbroker-nbd.conf"
want "the udev rule for devbrokerd's disks" "$prefix/lib/udev/rules.d/60-devbroker-nbd.rules"
want "the default limits, where devbrokerd reads them" "$sysconfdir/devbroker/limits.conf"
n=$((n + 1))
if grep -q "^Exec=$prefix/libexec/devbroker/drivers/edu-driver " "$dest$prefix/share/devbroker/drivers.d/edu.conf"; then
	echo "ok $n - the installed manifest names the installed driver"
else
	echo "not ok $n - the installed manifest names another path"
fi
for drv in usb-hid usb-storage nvme e1000e; do
	n=$((n + 1))
	if grep -qE "^Exec=$prefix/libexec/devbroker/drivers/$drv( |\$)" "$dest$prefix/share/devbroker/drivers.d/$drv.conf"; then
		echo "ok $n - the installed $drv manifest names the installed driver"
	else
		echo "not ok $n - the installed $drv manifest names another path"
	fi
done
n=$((n + 1))
if [ -z "$(find "$dest" -path "$dest$prefix" -prune -o -path "$dest/lib/modules" -prune -o -type f -print | grep -v "^$dest$prefix/")" ]; then
	echo "ok $n - nothing outside the prefix but the module"
else
	echo "not ok $n - files outside the prefix"
fi
# The examples build outside the tree from what was installed, the way a
# vendor builds a driver: pkg-config devbroker, nothing else.
src=$(cd "$(dirname "$0")/.." && pwd)
# Its .pc file, moved under DESTDIR (a sysroot would move libusb's too).
pcdir=$dest/pkgconfig
mkdir -p "$pcdir"
pc=$(compgen -G "$dest$prefix/lib/*/pkgconfig/devbroker.pc" | head -n1)
[ -n "$pc" ] && sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" > "$pcdir/devbroker.pc"
for ex in info usb-describe; do
	n=$((n + 1))
	if out=$(PKG_CONFIG_PATH=$pcdir sh -c 'cc -std=c99 -Wall -Werror -o "$1" "$2" $(pkg-config --cflags --libs devbroker)' sh \
		"$dest/$ex" "$src/libdev/examples/$ex.c" 2>&1); then
		echo "ok $n - libdev/examples/$ex.c builds against the installed SDK with pkg-config"
	else
		echo "not ok $n - libdev/examples/$ex.c does not build against the installed SDK"
		sed 's/^/# /' <<<"$out"
	fi
done
echo "1..$n"
