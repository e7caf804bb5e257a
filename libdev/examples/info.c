/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest PCI driver: adopt the grant fd it was given, describe the
 * device and read the first register of every granted BAR.
 *
 * Build it outside the tree with pkg-config:
 *
 *   cc -o info info.c $(pkg-config --cflags --libs devbroker)
 *
 * (with PKG_CONFIG_PATH=<prefix>/lib/x86_64-linux-gnu/pkgconfig if the SDK is
 * installed under a non-standard prefix), or in a meson project with
 * dependency('devbroker').
 *
 * Run it with a grant fd, e.g. from the launcher:
 *   dbk-launch --device 0000:00:04.0 -- ./info 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devbroker/device.h>

int main(int argc, char **argv)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_dev *dev;
	unsigned int bar;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s GRANT_FD\n", argv[0]);
		return 2;
	}
	r = dbk_dev_adopt(atoi(argv[1]), &dev);
	if (r < 0) {
		fprintf(stderr, "dbk_dev_adopt: %s\n", strerror(-r));
		return 1;
	}
	r = dbk_dev_get_device_info(dev, &di);
	if (r < 0) {
		fprintf(stderr, "device info: %s\n", strerror(-r));
		dbk_dev_free(dev);
		return 1;
	}
	printf("%04x:%04x class %06x, %u regions, libdev %s\n", di.vendor,
	       di.device, di.class_code, di.num_regions, dbk_sdk_version());
	for (bar = 0; bar < 6; bar++) {
		uint64_t size;
		uint32_t v;

		if (dbk_dev_get_bar_size(dev, bar, &size) < 0 || size == 0)
			continue;
		r = dbk_read32(dev, bar, 0, &v);
		if (r < 0)
			printf("BAR%u: %llu bytes, read: %s\n", bar,
			       (unsigned long long)size, strerror(-r));
		else
			printf("BAR%u: %llu bytes (%s), [0] = 0x%08x\n", bar,
			       (unsigned long long)size,
			       dbk_dev_access_is_mapped(dev, bar, 0, 4) == 1 ?
			       "mmap" : "mediated", v);
	}
	dbk_dev_free(dev);
	return 0;
}
