/* SPDX-License-Identifier: MIT */
/*
 * acme-edu-driver: a devbroker driver for QEMU's edu device (1234:11e8),
 * built against the installed SDK only (pkg-config devbroker).
 *
 * It serves one read-only file, "factorials", in the FUSE mount that
 * devbrokerd made for it (FUSEMount= in acme-edu.conf):
 *
 *     $ cat /run/devbroker/acme-edu/0/factorials
 *      0! =         1
 *      1! =         1
 *     ...
 *     12! = 479001600
 *
 * Each line is computed by the device when it is read (edu.txt, register
 * 0x08: write n, the device computes n! and raises an interrupt).
 *
 * It runs unprivileged and sandboxed, with nothing but what devbrokerd
 * handed over (<devbroker/handover.h>): the device's grant and the mounted
 * /dev/fuse fd.  It does no DMA, so its grant has no DMA right and the
 * device never masters the bus: completion comes by INTx, which needs no
 * bus mastering (an MSI is a memory write by the device, so it would).
 *
 * usage: acme-edu-driver [--verbose]
 * Exit status: 0 when stopped (SIGTERM, unmount) or when the device went
 * away (revoked, unplugged); 1 on any other failure; 2 on misuse.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <devbroker/device.h>
#include <devbroker/frontend.h>
#include <devbroker/handover.h>

#include "acme-edu.h"

#define FACT_MAX	12		/* 13! does not fit the 32-bit register */
#define LINE_LEN	16		/* "12! = 479001600\n" */
#define FILE_SIZE	((FACT_MAX + 1) * LINE_LEN)
#define IRQ_TIMEOUT_MS	5000

static struct dbk_dev *dev;
static struct dbk_fuse_file *serving;	/* for the signal handler */
static bool verbose;

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("acme-edu-driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	if (serving)
		dbk_fuse_file_stop(serving);
}

/*
 * n! by the device.  Each INTx is acknowledged at the device (which lowers
 * the line), then unmasked: the kernel masks the line when it fires.
 */
static int device_factorial(uint32_t n, uint32_t *out)
{
	uint32_t st = 0;
	int r;

	r = dbk_write32(dev, EDU_BAR, EDU_STATUS, EDU_STATUS_IRQFACT);
	if (r == 0)
		r = dbk_write32(dev, EDU_BAR, EDU_FACT, n);
	while (r == 0) {
		r = dbk_irq_wait(dev, 0, IRQ_TIMEOUT_MS);
		if (r < 0)
			break;
		r = dbk_read32(dev, EDU_BAR, EDU_IRQ_STATUS, &st);
		if (r == 0 && st)
			r = dbk_write32(dev, EDU_BAR, EDU_IRQ_ACK, st);
		if (r == 0)
			r = dbk_irq_unmask(dev);
		if (r == 0 && (st & EDU_IRQ_FACT))
			return dbk_read32(dev, EDU_BAR, EDU_FACT, out);
	}
	return r;
}

/* The file: line n is "n! = n!\n", fixed width, so a position is a line. */
static ssize_t file_read(void *data, void *buf, size_t size, uint64_t off)
{
	char line[LINE_LEN + 1];
	size_t done = 0;

	(void)data;
	while (done < size && off + done < FILE_SIZE) {
		uint64_t pos = off + done;
		uint32_t n = (uint32_t)(pos / LINE_LEN), fact;
		size_t skip = (size_t)(pos % LINE_LEN), len = LINE_LEN - skip;
		int r = device_factorial(n, &fact);

		if (r == -ENODEV) {
			logmsg("the device is gone; stopping");
			return -ENODEV;		/* the reader gets EIO, the loop ends */
		}
		if (r < 0) {
			logmsg("%" PRIu32 "!: %s", n, strerror(-r));
			return -EIO;
		}
		snprintf(line, sizeof(line), "%2" PRIu32 "! = %9" PRIu32 "\n", n, fact);
		if (len > size - done)
			len = size - done;
		memcpy((char *)buf + done, line + skip, len);
		done += len;
	}
	return (ssize_t)done;
}

/* Is it an edu?  Then INTx on, and nothing left pending by a previous driver. */
static int device_setup(void)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	uint32_t id = 0, st = 0;
	int r;

	r = dbk_dev_get_device_info(dev, &di);
	if (r == 0 && (di.vendor != EDU_VENDOR || di.device != EDU_DEVICE))
		r = -ENODEV;
	if (r == 0)
		r = dbk_read32(dev, EDU_BAR, EDU_ID, &id);
	if (r == 0 && (id & 0xffff) != 0x00ed)
		r = -ENODEV;
	if (r < 0) {
		logmsg("not an edu device (%04x:%04x, id 0x%08" PRIx32 "): %s",
		       di.vendor, di.device, id, strerror(-r));
		return r;
	}
	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 1);
	if (r == 0)
		r = dbk_read32(dev, EDU_BAR, EDU_IRQ_STATUS, &st);
	if (r == 0 && st)
		r = dbk_write32(dev, EDU_BAR, EDU_IRQ_ACK, st);
	if (r == 0)
		r = dbk_irq_unmask(dev);
	if (r < 0) {
		logmsg("enabling INTx: %s", strerror(-r));
		return r;
	}
	(void)dbk_irq_wait(dev, 0, 0);	/* forget an interrupt counted before */
	if (verbose)
		logmsg("edu %" PRIu32 ".%" PRIu32 " at %04x:%02x:%02x.%u", id >> 24,
		       (id >> 16) & 0xff, di.domain, di.bus, di.devfn >> 3, di.devfn & 7);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct dbk_fuse_file_ops ops = { .read = file_read };
	struct dbk_fuse_file *file = NULL;
	struct sigaction sa;
	struct dbk_handover *h;
	int grant_fd, fuse_fd, r;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--verbose") != 0)) {
		fputs("usage: acme-edu-driver [--verbose]\n"
		      "devbrokerd starts it for an edu device (acme-edu.conf).\n", stderr);
		return 2;
	}
	verbose = argc == 2;

	/* What devbrokerd handed over: the grant, and /dev/fuse already mounted. */
	r = dbk_handover_get(&h);
	if (r < 0) {
		logmsg("no hand-over from devbrokerd (%s): devbrokerd starts this driver",
		       strerror(-r));
		return 2;
	}
	grant_fd = dbk_handover_take_fd(h, DBK_HANDOVER_GRANT);
	fuse_fd = dbk_handover_take_fd(h, DBK_HANDOVER_FUSE);
	if (verbose)
		logmsg("device %s, serving %s/factorials", dbk_handover_device(h),
		       dbk_handover_fuse_mount(h));
	dbk_handover_free(h);
	if (grant_fd < 0 || fuse_fd < 0) {
		logmsg("devbrokerd handed over no %s", grant_fd < 0 ? "grant" : "FUSE mount");
		if (grant_fd >= 0)
			close(grant_fd);
		if (fuse_fd >= 0)
			close(fuse_fd);
		return 2;
	}

	r = dbk_dev_adopt(grant_fd, &dev);
	if (r < 0) {
		logmsg("adopting the grant: %s", strerror(-r));
		close(grant_fd);
		close(fuse_fd);
		return 1;
	}
	r = device_setup();
	if (r == 0) {
		r = dbk_fuse_file_new(fuse_fd, "factorials", FILE_SIZE, 0444, &ops, NULL, &file);
		if (r < 0)
			logmsg("serving the FUSE file: %s", strerror(-r));
	}
	if (r < 0) {
		close(fuse_fd);
		dbk_dev_free(dev);
		return 1;
	}

	serving = file;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	r = dbk_fuse_file_run(file);
	if (r < 0 && r != -ENODEV)
		logmsg("FUSE loop: %s", strerror(-r));
	serving = NULL;
	dbk_fuse_file_free(file);
	dbk_dev_free(dev);
	return r < 0 && r != -ENODEV ? 1 : 0;
}
