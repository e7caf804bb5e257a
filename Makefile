# The README's two commands.  Everything else is Meson (build/).
BUILD_DIR ?= build
export BUILD_DIR

.PHONY: all demo check deps build clean

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

clean:
	rm -rf $(BUILD_DIR)
