/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-driver: an unprivileged userspace driver for QEMU's "edu" device
 * (1234:11e8), built on libdev only.  Device reference:
 * /usr/share/doc/qemu-system-data/specs/edu.txt ("edu.txt" below).
 *
 * It serves /dev/<name> through CUSE, to ordinary programs:
 *
 *  - write a decimal number ("5\n") at position 0, then read: the text of
 *    its factorial ("120\n"), computed by the device (edu.txt, 0x08);
 *  - positions [0x40000, 0x40fff): the device's DMA buffer (its last byte
 *    is out of reach: see EDU_DMA_USABLE).  A write
 *    there copies the data into our DMA buffer and has the device fetch it
 *    (RAM -> EDU); a read has the device store its buffer (EDU -> RAM) and
 *    returns it (edu.txt, "DMA controller").
 *
 * Positions: the kernel's CUSE sends every read and write with offset 0,
 * so the SDK keeps a position for each open file.  It advances like a
 * file's, and a program moves it with the DBK_CUSE_IOC_SEEK ioctl (see
 * <devbroker/cuse-client.h>): lseek() and pread() offsets do not reach us.
 *
 * Completion is signalled by MSI (default) or INTx (--intx); we sleep on
 * the interrupt's eventfd and never busy-poll.
 *
 * usage: edu-driver --name NAME [--grant-fd N --cuse-fd M] [--intx]
 *                   [--timeout-ms MS] [--verbose]
 *        edu-driver --name NAME --vfio BDF [--vfio-group-fd G] --cuse-fd M [...]
 * It needs no privileges: the launcher opens the devbroker grant and
 * /dev/cuse for it, and hands them over (<devbroker/handover.h>); the fd
 * options are for a launcher of another kind.  The grant must allow BAR0,
 * MSI or INTx, and DMA with dma_bits=28 (edu.txt: "the device supports
 * only 28 bits").
 *
 * With --vfio the same driver runs on the device at BDF bound to vfio-pci
 * instead (libdev's VFIO backend): it opens the device's IOMMU group
 * itself (dbk_dev_open_vfio(): it needs access to /dev/vfio/N), or adopts
 * the group a launcher opened for it (--vfio-group-fd,
 * dbk_dev_adopt_vfio()); /dev/cuse comes open as --cuse-fd.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devbroker/handover.h>
#include <devbroker/device.h>
#include <devbroker/frontend.h>

#include "edu-regs.h"

#define EDU_DMA_SIZE		4096	/* the DMA buffer we allocate; the device may use EDU_DMA_USABLE */

/* 13! does not fit the 32-bit factorial register. */
#define EDU_FACT_MAX		12

struct edu {
	struct dbk_dev *dev;
	struct dbk_dma_buf *dma;
	struct dbk_cuse *cuse;
	bool intx;
	bool verbose;
	int timeout_ms;
	char result[16];	/* the last factorial, as text */
	size_t result_len;
};

static struct dbk_cuse *stop_target;

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("edu-driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A revoked grant is final: stop serving, so that /dev/<name> goes away. */
static int check(struct edu *e, int r, const char *what)
{
	if (r == -ENODEV && e->cuse) {
		logmsg("%s: device revoked; stopping", what);
		dbk_cuse_stop(e->cuse);
	} else if (r < 0) {
		logmsg("%s: %s", what, strerror(-r));
	}
	return r;
}

/*
 * Sleep until the device raises interrupt @bit, then acknowledge it
 * (edu.txt, "IRQ controller": write the value to 0x64).  With INTx the
 * kernel masked the line when it fired: unmask it after the acknowledge
 * lowered it.  Bits other than @bit are stale and acknowledged too.
 */
static int edu_wait_irq(struct edu *e, uint32_t bit)
{
	for (;;) {
		uint32_t st = 0;
		int r;

		r = dbk_irq_wait(e->dev, 0, e->timeout_ms);
		if (r < 0)
			return check(e, r, "waiting for the interrupt");
		r = dbk_read32(e->dev, EDU_BAR, EDU_IRQ_STATUS, &st);
		if (r < 0)
			return check(e, r, "reading the interrupt status");
		if (st) {
			r = dbk_write32(e->dev, EDU_BAR, EDU_IRQ_ACK, st);
			if (r < 0)
				return check(e, r, "acknowledging the interrupt");
		}
		if (e->intx) {
			r = dbk_irq_unmask(e->dev);
			if (r < 0)
				return check(e, r, "unmasking INTx");
		}
		if (st & bit)
			return 0;
		if (e->verbose)
			logmsg("interrupt status 0x%x while waiting for 0x%x", st, bit);
	}
}

/* edu.txt 0x08/0x20: the device computes n! and interrupts when done. */
static int edu_factorial(struct edu *e, uint32_t n, uint32_t *out)
{
	int r;

	r = dbk_write32(e->dev, EDU_BAR, EDU_STATUS, EDU_STATUS_IRQFACT);
	if (r == 0)
		r = dbk_write32(e->dev, EDU_BAR, EDU_FACT, n);
	if (r < 0)
		return check(e, r, "starting the factorial");
	r = edu_wait_irq(e, EDU_IRQ_FACT);
	if (r < 0)
		return r;
	r = dbk_read32(e->dev, EDU_BAR, EDU_FACT, out);
	return check(e, r, "reading the factorial");
}

/*
 * edu.txt, "DMA controller": one transfer of @len bytes between our DMA
 * buffer (at @buf_off) and the device's buffer (at device address
 * @edu_addr), then interrupt 0x100.
 */
/*
 * A DMA guard policy (edu_dma_guard) keeps the DMA registers shut with
 * EBUSY while a transfer may still be running: wait it out.
 */
static int edu_dma_reg(struct edu *e, uint64_t reg, uint64_t val)
{
	int r, tries;

	for (tries = 0; tries < 100; tries++) {
		r = dbk_write64(e->dev, EDU_BAR, reg, val);
		if (r != -EBUSY)
			break;
		usleep(20000);
	}
	return r;
}

static int edu_dma(struct edu *e, bool to_ram, uint64_t edu_addr,
		   uint64_t buf_off, uint64_t len)
{
	uint64_t ram = dbk_dma_buf_get_iova(e->dma) + buf_off;
	uint64_t cmd = EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0);
	int r;

	r = edu_dma_reg(e, EDU_DMA_SRC, to_ram ? edu_addr : ram);
	if (r == 0)
		r = edu_dma_reg(e, EDU_DMA_DST, to_ram ? ram : edu_addr);
	if (r == 0)
		r = edu_dma_reg(e, EDU_DMA_CNT, len);
	if (r == 0)
		r = edu_dma_reg(e, EDU_DMA_CMD, cmd);
	if (r < 0)
		return check(e, r, "starting the DMA");
	return edu_wait_irq(e, EDU_IRQ_DMA);
}

/* ---- the character device ---- */

static bool in_dma_window(uint64_t off)
{
	return off >= EDU_DMA_BASE && off < EDU_DMA_BASE + EDU_DMA_USABLE;
}

static ssize_t cdev_read(void *data, void *fh, void *buf, size_t size,
			 uint64_t off)
{
	struct edu *e = data;
	size_t n;
	int r;

	(void)fh;
	if (off < EDU_DMA_BASE) {
		/* The factorial text; end of file after it. */
		if (off >= e->result_len)
			return 0;
		n = e->result_len - (size_t)off;
		if (n > size)
			n = size;
		memcpy(buf, e->result + off, n);
		return (ssize_t)n;
	}
	if (!in_dma_window(off))
		return 0;
	n = EDU_DMA_BASE + EDU_DMA_USABLE - off;
	if (n > size)
		n = size;
	if (n == 0)
		return 0;
	r = edu_dma(e, true, off, off - EDU_DMA_BASE, n);
	if (r < 0)
		return r;
	memcpy(buf, (char *)dbk_dma_buf_get_vaddr(e->dma) + (off - EDU_DMA_BASE), n);
	return (ssize_t)n;
}

/* Parse "N" or "N\n" (decimal, nothing else). */
static int parse_number(const char *buf, size_t size, uint32_t *n)
{
	char text[16];
	char *end;
	unsigned long v;

	if (size == 0 || size >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, size);
	text[size] = '\0';
	if (text[size - 1] == '\n')
		text[size - 1] = '\0';
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end != '\0')
		return -EINVAL;
	if (v > EDU_FACT_MAX)
		return -ERANGE;
	*n = (uint32_t)v;
	return 0;
}

static ssize_t cdev_write(void *data, void *fh, const void *buf, size_t size,
			  uint64_t off)
{
	struct edu *e = data;
	uint32_t n, fact;
	size_t len;
	int r;

	(void)fh;
	if (off == 0) {
		r = parse_number(buf, size, &n);
		if (r < 0)
			return r;
		r = edu_factorial(e, n, &fact);
		if (r < 0)
			return r == -ENODEV ? -ENODEV : -EIO;
		e->result_len = (size_t)snprintf(e->result, sizeof(e->result),
						 "%" PRIu32 "\n", fact);
		if (e->verbose)
			logmsg("%" PRIu32 "! = %" PRIu32, n, fact);
		return (ssize_t)size;
	}
	if (!in_dma_window(off))
		return off < EDU_DMA_BASE ? -EINVAL : -ENOSPC;
	len = EDU_DMA_BASE + EDU_DMA_USABLE - off;
	if (len > size)
		len = size;
	if (len == 0)
		return 0;
	memcpy((char *)dbk_dma_buf_get_vaddr(e->dma) + (off - EDU_DMA_BASE), buf, len);
	r = edu_dma(e, false, off, off - EDU_DMA_BASE, len);
	if (r < 0)
		return r == -ENODEV ? -ENODEV : -EIO;
	return (ssize_t)len;
}

/* ---- setup ---- */

static void on_signal(int sig)
{
	(void)sig;
	if (stop_target)
		dbk_cuse_stop(stop_target);
}

static int edu_setup(struct edu *e)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	uint32_t id, live, st;
	int r;

	r = dbk_dev_get_device_info(e->dev, &di);
	if (r < 0)
		return check(e, r, "device info");
	if (di.vendor != 0x1234 || di.device != 0x11e8) {
		logmsg("not an edu device: %04x:%04x", di.vendor, di.device);
		return -ENODEV;
	}
	r = dbk_read32(e->dev, EDU_BAR, EDU_ID, &id);
	if (r < 0)
		return check(e, r, "reading the identification register");
	if ((id & 0xffff) != 0x00ed) {
		logmsg("unexpected identification 0x%08x", id);
		return -ENODEV;
	}
	/* edu.txt 0x04: "a simple value inversion". */
	r = dbk_write32(e->dev, EDU_BAR, EDU_LIVENESS, 0x12345678);
	if (r == 0)
		r = dbk_read32(e->dev, EDU_BAR, EDU_LIVENESS, &live);
	if (r < 0)
		return check(e, r, "liveness check");
	if (live != ~0x12345678u) {
		logmsg("liveness check failed: 0x%08x", live);
		return -EIO;
	}
	if (e->verbose)
		logmsg("edu %u.%u at %04x:%02x:%02x.%u, BAR0 access %s", id >> 24,
		       (id >> 16) & 0xff, di.domain, di.bus, di.devfn >> 3,
		       di.devfn & 7,
		       dbk_dev_access_is_mapped(e->dev, EDU_BAR, EDU_FACT, 4) == 1 ?
		       "mmap" : "mediated");

	/* MSI and DMA are memory writes by the device: bus mastering. */
	r = dbk_dev_set_bus_master(e->dev, 1);
	if (r < 0)
		return check(e, r, "enabling bus mastering");
	r = dbk_irq_enable(e->dev, e->intx ? DBK_IRQ_INDEX_INTX : DBK_IRQ_INDEX_MSI, 1);
	if (r < 0)
		return check(e, r, e->intx ? "enabling INTx" : "enabling MSI");
	/* Drop anything left pending by a previous driver. */
	r = dbk_read32(e->dev, EDU_BAR, EDU_IRQ_STATUS, &st);
	if (r == 0 && st)
		r = dbk_write32(e->dev, EDU_BAR, EDU_IRQ_ACK, st);
	if (r < 0)
		return check(e, r, "clearing the interrupt status");
	if (e->intx)
		(void)dbk_irq_unmask(e->dev);
	(void)dbk_irq_wait(e->dev, 0, 0);

	r = dbk_dma_buf_alloc(e->dev, EDU_DMA_SIZE, &e->dma);
	if (r < 0)
		return check(e, r, "allocating the DMA buffer");
	if (dbk_dma_buf_get_iova(e->dma) + EDU_DMA_SIZE > (1ULL << EDU_DMA_MASK_BITS)) {
		logmsg("DMA buffer at 0x%" PRIx64 " is beyond the device's 28-bit reach"
		       " (grant with dma_bits=28)", dbk_dma_buf_get_iova(e->dma));
		return -ERANGE;
	}
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: edu-driver --name NAME [--grant-fd N --cuse-fd M] [--intx]\n"
	      "                  [--timeout-ms MS] [--verbose]\n"
	      "       edu-driver --name NAME --vfio BDF [--vfio-group-fd G] --cuse-fd M [--intx] [...]\n"
	      "Without the fd options: the grant and /dev/cuse devbrokerd handed over.\n"
	      "--vfio BDF: the edu device at BDF, bound to vfio-pci, instead of a grant\n"
	      "(its IOMMU group opened here, or given as fd G).\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grant-fd", required_argument, NULL, 'g' },
		{ "cuse-fd", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "intx", no_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "vfio", required_argument, NULL, 'V' },
		{ "vfio-group-fd", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct dbk_cuse_ops ops = {
		.read = cdev_read,
		.write = cdev_write,
	};
	struct edu e = { .timeout_ms = 10000 };
	int grant_fd = -1, cuse_fd = -1, group_fd = -1, c, r;
	const char *name = NULL, *vfio = NULL;
	struct sigaction sa;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g': grant_fd = atoi(optarg); break;
		case 'c': cuse_fd = atoi(optarg); break;
		case 'n': name = optarg; break;
		case 'i': e.intx = true; break;
		case 't': e.timeout_ms = atoi(optarg); break;
		case 'v': e.verbose = true; break;
		case 'V': vfio = optarg; break;
		case 'G': group_fd = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((vfio ? grant_fd >= 0 || cuse_fd < 0 : (grant_fd < 0) != (cuse_fd < 0) || group_fd >= 0) ||
	    !name || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (grant_fd < 0 && !vfio) {
		struct dbk_handover *h;

		r = dbk_handover_get(&h);
		if (r < 0) {
			logmsg("nothing handed over (%s): run under devbrokerd, or give "
			       "--grant-fd and --cuse-fd", strerror(-r));
			return 2;
		}
		grant_fd = dbk_handover_take_fd(h, DBK_HANDOVER_GRANT);
		cuse_fd = dbk_handover_take_fd(h, DBK_HANDOVER_CUSE);
		dbk_handover_free(h);
		if (grant_fd < 0 || cuse_fd < 0) {
			logmsg("devbrokerd handed over no %s (%s)", grant_fd < 0 ? "grant" : "CUSE fd",
			       strerror(-(grant_fd < 0 ? grant_fd : cuse_fd)));
			if (cuse_fd >= 0)
				close(cuse_fd);	/* never keep /dev/cuse without serving it */
			return 2;
		}
	}

	/* A revoked BAR page must not kill us: the accessors say -ENODEV. */
	r = dbk_catch_revocation();
	if (r < 0)
		logmsg("cannot catch revocation: %s", strerror(-r));
	if (vfio && group_fd >= 0)
		r = dbk_dev_adopt_vfio(group_fd, vfio, &e.dev);
	else if (vfio)
		r = dbk_dev_open_vfio(vfio, &e.dev);
	else
		r = dbk_dev_adopt(grant_fd, &e.dev);
	if (r < 0) {
		if (vfio)
			logmsg("opening %s through VFIO: %s", vfio, strerror(-r));
		else
			logmsg("adopting grant fd %d: %s", grant_fd, strerror(-r));
		close(cuse_fd);		/* never keep /dev/cuse without serving it */
		return 1;
	}
	r = edu_setup(&e);
	if (r < 0) {
		close(cuse_fd);
		dbk_dev_free(e.dev);
		return 1;
	}
	r = dbk_cuse_new(cuse_fd, name, &ops, &e, &e.cuse);
	if (r < 0) {
		logmsg("serving /dev/%s: %s", name, strerror(-r));
		close(cuse_fd);
		dbk_dev_free(e.dev);
		return 1;
	}
	stop_target = e.cuse;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (e.verbose)
		logmsg("serving /dev/%s (%s%s)", name, e.intx ? "INTx" : "MSI",
		       vfio ? ", through VFIO" : "");

	r = dbk_cuse_run(e.cuse);
	if (r < 0)
		logmsg("CUSE loop: %s", strerror(-r));
	stop_target = NULL;
	dbk_cuse_free(e.cuse);
	c = dbk_dev_is_revoked(e.dev) == 1 ? 3 : (r < 0 ? 1 : 0);
	dbk_dma_buf_free(e.dma);
	dbk_dev_free(e.dev);
	return c;
}
