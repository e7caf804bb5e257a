# The README's two commands.  Everything else is Meson (build/).
BUILD_DIR ?= build
export BUILD_DIR

.PHONY: all demo check check-debug deps build clean debs bench

all: build

deps:
	tools/install-deps

build: deps
	@[ -f $(BUILD_DIR)/build.ninja ] || meson setup $(BUILD_DIR)
	ninja -C $(BUILD_DIR)

demo: build
	tools/demo

check:
	tools/check

# Issue 16's side by side (devbroker against vfio-pci and uio_pci_generic on
# edu, one TCG boot, interleaved rounds): bench/results/<date>-<host>.json
# and docs/performance.md.  Numbers, never a pass or a fail; not part of
# make check.  BENCH_CONFIGS="side nvme nvme-vfio e1000e usb-hid usb-storage"
# adds the driver benchmarks (a boot each: bench/results/<date>-<host>-nvme.json,
# -nvme-vfio.json, -e1000e.json, -usb-hid.json, -usb-storage.json: the
# report's Drivers table); BENCH_ROUNDS, BENCH_SCALE: bench/side-bench-run.
bench: build
	bench/run "$(BUILD_DIR)" all

# The VM suite on the debug kernel (KASAN, lockdep, kmemleak, ...): built once
# by tools/build-debug-kernel and cached; devbroker.ko is built against it in
# its own build directory.  See docs/debug-kernel.md.
DEBUG_BUILD_DIR ?= build-debug
check-debug: deps
	tools/build-debug-kernel
	@dk=$$(tools/build-debug-kernel --print-dir) && kver=$$(cat "$$dk/kver") && \
	if [ -f $(DEBUG_BUILD_DIR)/build.ninja ]; then \
		meson configure $(DEBUG_BUILD_DIR) -Dkernel_dir="$$dk/build" -Dkernel_version="$$kver"; \
	else \
		meson setup $(DEBUG_BUILD_DIR) -Dkernel_dir="$$dk/build" -Dkernel_version="$$kver"; \
	fi
	ninja -C $(DEBUG_BUILD_DIR)
	rm -f $(DEBUG_BUILD_DIR)/meson-logs/testlog.json
	-DBK_VM_DEBUG_KERNEL=1 meson test -C $(DEBUG_BUILD_DIR) --print-errorlogs --no-rebuild \
		--suite vm --timeout-multiplier 3 $(TESTS)
	tools/test-summary $(DEBUG_BUILD_DIR)/meson-logs/testlog.json

clean:
	rm -rf $(BUILD_DIR)

# The Debian packages (debian/), in $(DEBS_DIR): dpkg-buildpackage -b -us -uc
# on a copy of the tracked files, then lintian.  See README.md.
DEBS_DIR ?= build-debs
debs: deps
	tools/build-debs "$(DEBS_DIR)"

# The reliability campaigns (docs/reliability.md): make campaign-fuzz,
# campaign-failnth, campaign-kill, campaign-unplug, campaign-storm,
# campaign-faults, campaign-all.  On the debug kernel when it is built;
# long (hours for all): run by hand, not by make check.
campaign-%: deps
	tools/campaign $* $(SCALE)
