# Sourced in the guest by tests/vm/guest-run and tools/demo-guest.
# dbk_guest_install: install what tools/guest-root staged (meson install
# --destdir BUILD/guest-root) into the guest's own root (an overlay on a
# tmpfs: writable, gone at power-off), as a user's `meson install` would, and
# the test helpers into a directory of their own, readable by all; so that
# nothing run as nobody or as another user is executed from the checkout or
# the build directory, which a home directory (0700) hides from them.  Once
# per boot.  Exports, from the installed tree:
#   DBK_PREFIX     where devbrokerd is installed ($DBK_PREFIX/sbin/devbrokerd)
#   DBK_MANIFESTS  the installed manifests (drivers.d: edu.conf, usb-hid.conf, ...)
#   DBK_HELPERS    the test helpers (tests/helpers, tests/broker, libdev's
#                  examples, tests/campaign's preload library)
# Root-only programs (the module, its tests) stay in the build directory.
dbk_guest_install() {
	local root=$DBK_BUILD/guest-root f
	DBK_HELPERS=/usr/local/libexec/devbroker-tests
	if [ ! -d "$root" ]; then
		echo "guest-install: no $root (tools/guest-root BUILD_DIR makes it)" >&2
		return 1
	fi
	if [ ! -e /run/dbk-guest-installed ]; then
		cp -a "$root/." / || return 1
		ldconfig || return 1
		mkdir -p "$DBK_HELPERS" && chmod 0755 "$DBK_HELPERS" || return 1
		for f in "$DBK_BUILD"/tests/helpers/* "$DBK_BUILD"/tests/broker/* \
			 "$DBK_BUILD"/libdev/libdev-example-* "$DBK_BUILD"/tests/campaign/*.so; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			install -m 0755 "$f" "$DBK_HELPERS/" || return 1
		done
		touch /run/dbk-guest-installed
	fi
	f=$(cd "$root" && find . -path '*/sbin/devbrokerd' -type f | head -n1)
	[ -n "$f" ] || { echo "guest-install: no sbin/devbrokerd in $root" >&2; return 1; }
	f=${f#.}; DBK_PREFIX=${f%/sbin/devbrokerd}
	f=$(cd "$root" && find . -path '*/drivers.d/edu.conf' -type f | head -n1)
	[ -n "$f" ] || { echo "guest-install: no drivers.d/edu.conf in $root" >&2; return 1; }
	f=${f#.}; DBK_MANIFESTS=${f%/edu.conf}
	export DBK_PREFIX DBK_MANIFESTS DBK_HELPERS
}
