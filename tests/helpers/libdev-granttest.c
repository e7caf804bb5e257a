/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libdev-granttest: libdev against a real grant on QEMU's edu device, run
 * unprivileged by dbk-launch (grant at fd 3).  Prints TAP points, exits 1
 * if any failed.
 *
 *   libdev-granttest --expect mapped|mediated [--intx] [--revoke READY_FILE]
 *
 * --expect says whether the grant lets BAR0's registers be mmap()ed; the
 * same register checks then run through that path.  With --revoke, after
 * the checks it creates READY_FILE and keeps touching the device (MMIO,
 * config, a DMA buffer) until someone revokes the grant; it checks that
 * it survives (dbk_catch_revocation()) and that every call then returns
 * -ENODEV.
 *
 * Registers: /usr/share/doc/qemu-system-data/specs/edu.txt.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "libdev-edu.h"
#include "tap.h"

static struct dbk_dev *dev;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A driver built against an older, shorter struct dbk_device_info (it ends
 * after @reserved) than the library: the library honors its argsz and
 * writes nothing beyond, and refuses an argsz shorter than that.
 */
static bool old_caller_info(struct dbk_dev *d)
{
	size_t minsz = offsetof(struct dbk_device_info, reserved) +
		       sizeof(((struct dbk_device_info *)0)->reserved);
	union {
		struct dbk_device_info di;
		unsigned char raw[sizeof(struct dbk_device_info) + 16];
	} u;
	size_t i;

	memset(&u, 0xa5, sizeof(u));
	u.di.argsz = minsz - 1;
	if (dbk_dev_get_device_info(d, &u.di) != -EINVAL)
		return false;
	u.di.argsz = minsz;
	if (dbk_dev_get_device_info(d, &u.di) != 0 || u.di.argsz != minsz ||
	    u.di.vendor != 0x1234 || !(u.di.flags & DBK_DEVICE_INFO_F_GRANT))
		return false;
	for (i = minsz; i < sizeof(u.raw); i++)
		if (u.raw[i] != 0xa5)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "intx", no_argument, NULL, 'i' },
		{ "revoke", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ready = NULL;
	bool want_mapped = true, intx = false, dma_ok, msi_ok;
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	struct dbk_dma_buf *buf = NULL;
	uint64_t size = 0, v64 = 0;
	uint32_t id = 0, v = 0;
	uint16_t vendor = 0, device = 0;
	int c, r, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': want_mapped = !strcmp(optarg, "mapped"); break;
		case 'i': intx = true; break;
		case 'r': ready = optarg; break;
		default: return 2;
		}
	}
	r = dbk_catch_revocation();
	check(r == 0, "dbk_catch_revocation: %s", err(r));

	fd = open("/dev/null", O_RDWR);
	r = dbk_dev_adopt(fd, &dev);
	check(r == -ENOTTY, "adopting /dev/null fails with -ENOTTY (%s)", err(r));
	close(fd);

	r = dbk_dev_adopt(3, &dev);
	check(r == 0, "dbk_dev_adopt(3): %s", err(r));
	if (r < 0)
		return 1;
	r = dbk_dev_get_device_info(dev, &di);
	check(r == 0 && (di.flags & DBK_DEVICE_INFO_F_GRANT) && di.vendor == 0x1234 &&
	      di.device == 0x11e8 && di.api_version == DBK_API_VERSION,
	      "device info: %04x:%04x flags 0x%x api %u (%s)", di.vendor, di.device,
	      di.flags, di.api_version, err(r));
	check(old_caller_info(dev), "a caller built with UAPI 2's shortest device info "
	      "gets it filled, and nothing past its argsz written");
	r = dbk_dev_get_grant_info(dev, &gi);
	check(r == 0 && (gi.bar_mask & 1), "grant info: bars 0x%x mmap 0x%x flags 0x%x (%s)",
	      gi.bar_mask, gi.mmap_mask, gi.flags, err(r));
	r = dbk_cfg_read16(dev, 0, &vendor);
	if (!r)
		r = dbk_cfg_read16(dev, 2, &device);
	check(r == 0 && vendor == di.vendor && device == di.device,
	      "config space vendor/device %04x:%04x (%s)", vendor, device, err(r));
	r = dbk_dev_get_bar_size(dev, 0, &size);
	check(r == 0 && size == 1 << 20, "BAR0 is 1 MiB (%" PRIu64 ")", size);
	r = dbk_dev_access_is_mapped(dev, 0, 0x08, 4);
	check(r == (want_mapped ? 1 : 0), "BAR0 registers are %s (%d)",
	      want_mapped ? "mmap()ed" : "mediated", r);

	r = dbk_read32(dev, EDU_BAR, EDU_ID, &id);
	check(r == 0 && (id & 0xffff) == 0x00ed, "identification 0x%08x (%s)", id, err(r));
	r = dbk_write32(dev, EDU_BAR, EDU_LIVENESS, 0xdeadbeef);
	if (!r)
		r = dbk_read32(dev, EDU_BAR, EDU_LIVENESS, &v);
	check(r == 0 && v == ~0xdeadbeefu, "liveness register inverts (0x%08x, %s)", v, err(r));
	r = dbk_write64(dev, EDU_BAR, EDU_DMA_SRC, 0x0123456789abcdefULL);
	if (!r)
		r = dbk_read64(dev, EDU_BAR, EDU_DMA_SRC, &v64);
	check(r == 0 && v64 == 0x0123456789abcdefULL,
	      "64-bit DMA source register round trip (0x%" PRIx64 ", %s)", v64, err(r));
	r = dbk_reg_read(dev, 0, 0x88, 8, &v64);
	check(r == 0, "dbk_reg_read width 8: %s", err(r));

	check(dbk_read32(dev, 0, 0x02, &v) == -EINVAL, "unaligned read32 gives -EINVAL");
	check(dbk_read32(dev, 0, size, &v) == -EINVAL, "read32 past BAR0 gives -EINVAL");
	check(dbk_read64(dev, 0, size - 4, &v64) == -EINVAL,
	      "read64 straddling the end of BAR0 gives -EINVAL");
	check(dbk_read32(dev, 1, 0, &v) == -EINVAL, "read32 of absent BAR1 gives -EINVAL");
	check(dbk_read32(dev, 6, 0, &v) == -EINVAL, "read32 of BAR6 gives -EINVAL");
	check(dbk_cfg_read32(dev, 4096, &v) == -EINVAL, "config read past 4 KiB gives -EINVAL");

	/*
	 * devbroker.ko's policy: bus mastering (and so MSI, a memory write) is
	 * a DMA right unless an IOMMU confines the device.
	 */
	dma_ok = (gi.flags & DBK_GRANT_F_DMA) &&
		 ((di.flags & DBK_DEVICE_INFO_F_IOMMU) || (gi.flags & DBK_GRANT_F_UNSAFE_DMA));
	msi_ok = dma_ok || (di.flags & DBK_DEVICE_INFO_F_IOMMU);
	printf("# DMA right: %s, IOMMU: %s\n", dma_ok ? "yes" : "no",
	       (di.flags & DBK_DEVICE_INFO_F_IOMMU) ? "yes" : "no");
	r = dbk_dev_get_irq_info(dev, intx ? DBK_IRQ_INDEX_INTX : DBK_IRQ_INDEX_MSI, &ii);
	check(r == 0 && ii.count >= 1, "irq info: %u %s vector(s) (%s)", ii.count,
	      intx ? "INTx" : "MSI", err(r));
	r = dbk_dev_set_bus_master(dev, 1);
	check(r == (dma_ok ? 0 : -EPERM), "bus master on: %s (want %s)", err(r),
	      dma_ok ? "ok" : "EPERM: no DMA right");
	r = dbk_irq_enable(dev, intx ? DBK_IRQ_INDEX_INTX : DBK_IRQ_INDEX_MSI, 1);
	if (intx || msi_ok) {
		check(r == 0, "enable %s: %s", intx ? "INTx" : "MSI", err(r));
		check(dbk_irq_get_fd(dev, 0) >= 0 && dbk_irq_get_fd(dev, 1) == -EINVAL,
		      "one eventfd");
		if (r == 0) {
			edu_raise_and_wait(dev, intx ? "INTx" : "MSI", intx);
			edu_raise_and_wait(dev, intx ? "INTx" : "MSI", intx);
		}
	} else {
		check(r == -EPERM, "enable MSI without a DMA right or IOMMU: %s (want EPERM;"
		      " devbroker.ko policy, not in the UAPI text)", err(r));
		check(dbk_irq_get_fd(dev, 0) == -EINVAL, "no eventfd left behind");
	}
	check(dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 2) == -EINVAL,
	      "INTx with 2 vectors gives -EINVAL");

	if (!ready)
		goto out;

	r = dbk_dma_buf_alloc(dev, 4096, &buf);
	check(r == 0, "a DMA buffer to touch after revocation: %s", err(r));
	/* Ready: the test script now revokes the grant. */
	fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (c = 0; c < 3000; c++) {
		r = dbk_read32(dev, EDU_BAR, EDU_ID, &id);
		if (r < 0)
			break;
		if (buf)
			((volatile char *)dbk_dma_buf_get_vaddr(buf))[c % 4096] = (char)c;
		sleep_ms(10);
	}
	check(r == -ENODEV, "after revocation the MMIO read returns -ENODEV (%s, after %d polls)",
	      err(r), c);
	check(dbk_dev_is_revoked(dev) == 1, "dbk_dev_is_revoked says so");
	if (buf) {
		/* The DMA page was zapped too: this must not kill us. */
		((volatile char *)dbk_dma_buf_get_vaddr(buf))[0] = 1;
		check(true, "touching the revoked DMA buffer did not kill the process");
	}
	r = dbk_write32(dev, EDU_BAR, EDU_LIVENESS, 1);
	check(r == -ENODEV, "write32 after revocation: %s", err(r));
	r = dbk_cfg_read16(dev, 0, &vendor);
	check(r == -ENODEV, "config read after revocation: %s", err(r));
	r = dbk_irq_wait(dev, 0, 100);
	check(r == -ENODEV, "irq wait after revocation: %s", err(r));
	r = dbk_dev_get_grant_info(dev, &gi);
	check(r == -ENODEV, "grant info after revocation: %s", err(r));
	{
		struct dbk_dma_buf *b2;

		r = dbk_dma_buf_alloc(dev, 4096, &b2);
		check(r == -ENODEV, "DMA alloc after revocation: %s", err(r));
	}
	/* The kernel itself must say ENODEV too (not only our flag). */
	{
		ssize_t n = pread(dbk_dev_get_fd(dev), &v, 4, (off_t)DBK_REGION_OFFSET(0));

		check(n < 0 && errno == ENODEV,
		      "the kernel: pread after revocation gives ENODEV (%s)",
		      n < 0 ? strerror(errno) : "data");
	}
	if (buf)
		dbk_dma_buf_free(buf);
out:
	dbk_dev_free(dev);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
