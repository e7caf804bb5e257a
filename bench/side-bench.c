/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * side-bench: one case of issue 16's side-by-side benchmark, on one QEMU
 * edu device, through one backend:
 *   dbk   bound to devbroker: a grant created here (as root, as devbrokerd
 *         would) and adopted with dbk_dev_adopt();
 *   vfio  bound to vfio-pci: libdev's VFIO backend, dbk_dev_open_vfio();
 *   uio   bound to uio_pci_generic: /dev/uioN and sysfs resource0.
 * The same libdev calls drive dbk and vfio, so that the two differ only
 * below libdev.  bench/side-bench.sh runs the cases in interleaved rounds.
 *
 *   side-bench BACKEND CASE BDF ROUND N [OPTIONS]
 *     --uio N          the uio node's number (uio)
 *     --label L        the backend's name in the output (dbk-default, ...)
 *     --trace 1        msi_wake: the in-kernel floor, from the timestamps
 *                      of irq_handler_entry for our vector (tracefs, mono clock)
 *     --limit SEC      revoke: how long vfio's unbind may block (2)
 *     --pin same|cross|none  interrupt cases: run on the CPU the vector
 *                      targets (same, the default), on another (cross:
 *                      the figure's name gets "_cross"), or unpinned
 *
 * Cases (edu registers: drivers/edu/edu-regs.h, QEMU's docs/specs/edu.rst):
 *   mmio_read, mmio_write  the liveness register through the mapped BAR
 *                          (samples: the mean of a batch of BATCH accesses)
 *   pread                  the liveness register, one pread() of the grant
 *                          fd or of the VFIO region (batches as above); and
 *                          null_syscall, getppid(), in the same process
 *   msi_raise              write the raise register, dbk_irq_wait(): under
 *                          TCG the MSI lands during the write, nobody sleeps
 *   msi_wake               start 5! with IRQFACT, sleep in dbk_irq_wait()
 *                          until edu's compute thread raises the MSI
 *   intx                   raise, wake, acknowledge, unmask (INTx)
 *   dma                    map and unmap 4 KiB..64 MiB of our own memory
 *                          (DBK_GRANT_DMA_MAP against VFIO_IOMMU_MAP_DMA)
 *   setup                  from nothing to the first MSI
 *   revoke                 take the device from a user that holds a BAR
 *                          mapping, an MSI vector and a DMA mapping
 * Prints one JSON object a line per figure:
 *   {"fig", "backend", "round", "samples" (ns), "ops", "cpu_ns" (this
 *    process's CPU), "busy_ns" (all vCPUs: the wall time times the CPUs
 *    less /proc/stat's idle, which NO_HZ measures rather than samples; in
 *    USER_HZ units, so only a loop of a second or more says much), "wall_ns"}
 * plus fields of its own for some.  Exit 0, 1 on an error, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>
#include <linux/pci_regs.h>
#include <devbroker/device.h>

#include "edu-regs.h"

#define BATCH		50		/* register accesses per mmio/pread sample */
#define IRQ_WAIT_MS	2000
#define DMA_IOVA	(16ULL << 20)	/* under EDU_DMA_MASK_BITS, clear of libdev's 1 MiB first fit */
#define DMA_MAX		(64ULL << 20)

static const char *backend, *label, *bdf;
static int round_no, uio_no = -1, trace_on, unbind_limit = 2;
static const char *pin = "same";
static char fig_suffix[8];

static uint64_t ts_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

/*
 * Idle time of all CPUs, in ns, from /proc/stat's first line (idle and
 * iowait).  Not the user/system/irq counts: those are tick samples, and
 * under TCG on a busy host the guest loses ticks (bench/nvme-bench-report.py);
 * NO_HZ measures idle.  Busy = wall x CPUs - idle.
 */
static uint64_t idle_ns(void)
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
		v[3] = v[4] = 0;
	fclose(f);
	return (uint64_t)(v[3] + v[4]) * (1000000000u / (uint64_t)sysconf(_SC_CLK_TCK));
}

static uint64_t ncpus;

static uint64_t busy_ns(void)
{
	uint64_t wall = now_ns() * ncpus, idle = idle_ns();

	return wall > idle ? wall - idle : 0;
}

/* A figure being measured: its samples and the CPU spent meanwhile. */
struct fig {
	const char *name;
	uint64_t *t, *c;		/* each sample's latency and CPU time */
	int n, cap;
	uint64_t ops;
	uint64_t cpu0, busy0, wall0, cpu, busy, wall;
};

static void fig_init(struct fig *f, const char *name, int cap)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->cap = cap;
	f->t = calloc((size_t)cap, sizeof(*f->t));
	f->c = calloc((size_t)cap, sizeof(*f->c));
	if (!f->t || !f->c) {
		perror("side-bench");
		exit(1);
	}
}

static void fig_start(struct fig *f)
{
	f->busy0 = busy_ns();
	f->wall0 = now_ns();
	f->cpu0 = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void fig_stop(struct fig *f)
{
	f->cpu += ts_ns(CLOCK_PROCESS_CPUTIME_ID) - f->cpu0;
	f->wall += now_ns() - f->wall0;
	f->busy += busy_ns() - f->busy0;
}

static void fig_add(struct fig *f, uint64_t ns)
{
	if (f->n < f->cap)
		f->t[f->n++] = ns;
}

/*
 * With this process's CPU time over the same sample (its clock read just
 * outside the timed span): a median of these is CPU per operation that
 * the samples the host stole a vCPU from (it charges them to whoever ran)
 * do not swing as they swing a mean.
 */
static void fig_add2(struct fig *f, uint64_t ns, uint64_t cpu)
{
	if (f->n < f->cap) {
		f->c[f->n] = cpu;
		f->t[f->n++] = ns;
	}
}

static uint64_t cpu_now(void)
{
	return ts_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* One JSON line; @extra: more members, already formatted (or ""). */
static void fig_print(const struct fig *f, const char *extra)
{
	int i;

	printf("{\"fig\": \"%s\", \"backend\": \"%s\", \"round\": %d, \"ops\": %" PRIu64
	       ", \"cpu_ns\": %" PRIu64 ", \"busy_ns\": %" PRIu64 ", \"wall_ns\": %" PRIu64
	       "%s%s, \"samples\": [",
	       f->name, label, round_no, f->ops, f->cpu, f->busy, f->wall, *extra ? ", " : "", extra);
	for (i = 0; i < f->n; i++)
		printf("%s%" PRIu64, i ? ", " : "", f->t[i]);
	printf("], \"cpu_samples\": [");
	for (i = 0; i < f->n; i++)
		printf("%s%" PRIu64, i ? ", " : "", f->c[i]);
	printf("]}\n");
	fflush(stdout);
}

/*
 * How long to wait, in microseconds, before a grant that may master: past
 * devbroker's settle_ms (kmod/grant.c, a module parameter) after the last
 * grant of a device without reset, so that a setup or revoke sample never
 * includes it; 100 ms more for the jiffies it is counted in.  A second
 * if the module does not say (not loaded: the vfio side alone).
 */
static unsigned int settle_us(void)
{
	FILE *f = fopen("/sys/module/devbroker/parameters/settle_ms", "re");
	unsigned int ms = 1000;

	if (f) {
		if (fscanf(f, "%u", &ms) != 1)
			ms = 1000;
		fclose(f);
	}
	return (ms + 100) * 1000;
}

static int die(const char *what, int r)
{
	fprintf(stderr, "side-bench %s: %s: %s\n", label, what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* ---- opening, per backend ---- */

/*
 * The grant a driver of edu gets from its manifest (drivers/edu/edu.conf.in)
 * and more: BAR 0 mmap()able, INTx and MSI, DMA behind the IOMMU with room
 * for the largest mapping of the dma case.  Returns the grant fd; *devfd is
 * the device node, for DBK_DEVICE_REVOKE.
 */
static int dbk_grant(int *devfd)
{
	struct dbk_grant_spec s = {
		.argsz = sizeof(s),
		.flags = DBK_GRANT_F_INTX | DBK_GRANT_F_MSI | DBK_GRANT_F_DMA,
		.bar_mask = 1U << EDU_BAR,
		.mmap_mask = 1U << EDU_BAR,
		.max_vectors = 1,
		.dma_bits = EDU_DMA_MASK_BITS,
		.dma_quota = 2 * DMA_MAX,
		.guard_fd = -1,
	};
	char node[80];
	int fd, g;

	snprintf(node, sizeof(node), "/dev/devbroker/%s", bdf);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(node, errno);
	g = ioctl(fd, DBK_DEVICE_CREATE_GRANT, &s);
	if (g < 0)
		die("DBK_DEVICE_CREATE_GRANT", errno);
	*devfd = fd;
	return g;
}

/* dbk or vfio, through libdev; *devfd: devbroker's device node, or -1. */
static struct dbk_dev *open_dev(int *devfd)
{
	struct dbk_dev *dev;
	int r;

	*devfd = -1;
	if (!strcmp(backend, "vfio")) {
		r = dbk_dev_open_vfio(bdf, &dev);
		if (r < 0)
			die("dbk_dev_open_vfio", r);
	} else {
		r = dbk_dev_adopt(dbk_grant(devfd), &dev);
		if (r < 0)
			die("dbk_dev_adopt", r);
	}
	return dev;
}

static void close_dev(struct dbk_dev *dev, int devfd)
{
	dbk_dev_free(dev);
	if (devfd >= 0)
		close(devfd);
}

/* uio: BAR 0 through sysfs (uio_pci_generic exposes no maps of its own). */
static volatile uint32_t *uio_bar(void)
{
	char path[96];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", bdf, EDU_BAR);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap resource0", errno);
	close(fd);
	return p;
}

static int uio_open(void)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/uio%d", uio_no);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path, errno);
	return fd;
}

static void w32(struct dbk_dev *dev, uint64_t off, uint32_t v)
{
	int r = dbk_write32(dev, EDU_BAR, off, v);

	if (r < 0)
		die("write", r);
}

static uint32_t r32(struct dbk_dev *dev, uint64_t off)
{
	uint32_t v = 0;
	int r = dbk_read32(dev, EDU_BAR, off, &v);

	if (r < 0)
		die("read", r);
	return v;
}

static void wait_irq(struct dbk_dev *dev)
{
	int r = dbk_irq_wait(dev, 0, IRQ_WAIT_MS);

	if (r < 1)
		die("no interrupt", r < 0 ? r : -ETIMEDOUT);
}

static void ack_irq(struct dbk_dev *dev)
{
	w32(dev, EDU_IRQ_ACK, r32(dev, EDU_IRQ_STATUS));
}

static void msi_on(struct dbk_dev *dev)
{
	int r = dbk_dev_set_bus_master(dev, 1);

	if (r == 0)
		r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1);
	if (r < 0)
		die("MSI", r);
}

/*
 * The Linux IRQ number of our vector, from /proc/interrupts: its action
 * is named "devbroker[BDF]-0" (kmod/irq.c), "vfio-msi[0](BDF)" or
 * "vfio-intx(BDF)" (drivers/vfio/pci/vfio_pci_intrs.c), or
 * "uio_pci_generic" (its uio_info's name; one such device here).
 */
static int find_irq(bool intx)
{
	FILE *f = fopen("/proc/interrupts", "re");
	char line[1024], tag[64];
	int irq = -1;

	if (!f)
		return -1;
	if (!strcmp(backend, "vfio"))
		snprintf(tag, sizeof(tag), intx ? "vfio-intx(%s)" : "vfio-msi[0](%s)", bdf);
	else if (!strcmp(backend, "uio"))
		snprintf(tag, sizeof(tag), "uio_pci_generic");
	else
		snprintf(tag, sizeof(tag), "devbroker[%s]", bdf);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, tag) && sscanf(line, " %d:", &irq) == 1)
			break;
	fclose(f);
	return irq;
}

/*
 * Pin ourselves to the CPU the vector @irq targets (--pin same), or to
 * another (cross).  Where the interrupt lands decides whether the waiter
 * is woken on its own CPU or through an IPI: the two backends' vectors
 * may well target different vCPUs, which would dwarf what we measure.
 * Returns the vector's CPU (-1: unknown).
 */
static int pin_to_irq(int irq)
{
	char path[64];
	cpu_set_t cs;
	FILE *f;
	int cpu = -1, target;

	snprintf(path, sizeof(path), "/proc/irq/%d/effective_affinity_list", irq);
	f = irq >= 0 ? fopen(path, "re") : NULL;
	if (f) {
		if (fscanf(f, "%d", &cpu) != 1)
			cpu = -1;
		fclose(f);
	}
	if (cpu < 0 || !strcmp(pin, "none"))
		return cpu;
	target = cpu;
	if (!strcmp(pin, "cross")) {
		if (ncpus < 2)
			return cpu;
		target = (cpu + 1) % (int)ncpus;
		snprintf(fig_suffix, sizeof(fig_suffix), "_cross");
	}
	CPU_ZERO(&cs);
	CPU_SET(target, &cs);
	if (sched_setaffinity(0, sizeof(cs), &cs) < 0)
		die("sched_setaffinity", errno);
	return cpu;
}

static const char *fig_name(char *buf, size_t sz, const char *base)
{
	snprintf(buf, sz, "%s%s", base, fig_suffix);
	return buf;
}

/* ---- the cases ---- */

static void case_mmio(int n, bool write)
{
	volatile uint32_t *bar = NULL;
	struct dbk_dev *dev = NULL;
	struct fig f;
	int devfd = -1, i, k;
	uint32_t v = 0;

	if (!strcmp(backend, "uio")) {
		bar = uio_bar();
	} else {
		dev = open_dev(&devfd);
		if (dbk_dev_access_is_mapped(dev, EDU_BAR, EDU_LIVENESS, 4) != 1)
			die("BAR 0 is not mapped", -EACCES);
	}
	fig_init(&f, write ? "mmio_write" : "mmio_read", n);
	fig_start(&f);
	for (i = -2; i < n; i++) {
		uint64_t c0 = cpu_now(), t0 = now_ns();

		for (k = 0; k < BATCH; k++) {
			if (bar && write)
				bar[EDU_LIVENESS / 4] = (uint32_t)k;
			else if (bar)
				v += bar[EDU_LIVENESS / 4];
			else if (write)
				dbk_write32(dev, EDU_BAR, EDU_LIVENESS, (uint32_t)k);
			else
				v += r32(dev, EDU_LIVENESS);
		}
		if (i >= 0)
			fig_add2(&f, (now_ns() - t0) / BATCH, (cpu_now() - c0) / BATCH);
	}
	fig_stop(&f);
	f.ops = (uint64_t)(n + 2) * BATCH;
	fig_print(&f, "");
	if (dev)
		close_dev(dev, devfd);
	(void)v;
}

/* One pread() of the register: mediated by the kernel on both backends. */
static void case_pread(int n)
{
	struct dbk_region_info ri = { .argsz = sizeof(ri) };
	struct dbk_dev *dev;
	struct fig f;
	int devfd, fd, i, k, r;
	uint32_t v;

	dev = open_dev(&devfd);
	r = dbk_dev_get_region_info(dev, EDU_BAR, &ri, NULL, 0);
	if (r < 0)
		die("region info", r);
	fd = dbk_dev_get_fd(dev);
	fig_init(&f, "pread", n);
	fig_start(&f);
	for (i = -2; i < n; i++) {
		uint64_t c0 = cpu_now(), t0 = now_ns();

		for (k = 0; k < BATCH; k++)
			if (pread(fd, &v, 4, (off_t)(ri.offset + EDU_LIVENESS)) != 4)
				die("pread", errno);
		if (i >= 0)
			fig_add2(&f, (now_ns() - t0) / BATCH, (cpu_now() - c0) / BATCH);
	}
	fig_stop(&f);
	f.ops = (uint64_t)(n + 2) * BATCH;
	fig_print(&f, "");
	close_dev(dev, devfd);

	/* The yardstick of the policy hook's cost: a null system call. */
	fig_init(&f, "null_syscall", n);
	fig_start(&f);
	for (i = -2; i < n; i++) {
		uint64_t c0 = cpu_now(), t0 = now_ns();

		for (k = 0; k < BATCH; k++)
			(void)getppid();
		if (i >= 0)
			fig_add2(&f, (now_ns() - t0) / BATCH, (cpu_now() - c0) / BATCH);
	}
	fig_stop(&f);
	f.ops = (uint64_t)(n + 2) * BATCH;
	fig_print(&f, "");
}

static void case_msi_raise(int n)
{
	struct dbk_dev *dev;
	struct fig f;
	int devfd, i;

	char nm[32], extra[32];

	dev = open_dev(&devfd);
	msi_on(dev);
	snprintf(extra, sizeof(extra), "\"irq_cpu\": %d", pin_to_irq(find_irq(false)));
	fig_init(&f, fig_name(nm, sizeof(nm), "msi_raise"), n);
	fig_start(&f);
	for (i = -5; i < n; i++) {
		uint64_t c0 = cpu_now(), t0 = now_ns();

		w32(dev, EDU_IRQ_RAISE, EDU_IRQ_FACT);
		wait_irq(dev);
		if (i >= 0)
			fig_add2(&f, now_ns() - t0, cpu_now() - c0);
		ack_irq(dev);
	}
	fig_stop(&f);
	f.ops = (uint64_t)n + 5;
	fig_print(&f, extra);
	close_dev(dev, devfd);
}

/*
 * irq_handler_entry's timestamps for @irq, from the trace buffer (the mono
 * clock: CLOCK_MONOTONIC, as ours; microseconds in the text), ascending.
 */
static int trace_times(int irq, uint64_t **out)
{
	FILE *f = fopen("/sys/kernel/tracing/trace", "re");
	char line[512], pat[32];
	uint64_t *t = NULL;
	int n = 0, cap = 0;

	if (!f)
		return -errno;
	snprintf(pat, sizeof(pat), "irq_handler_entry: irq=%d ", irq);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat), *q;
		unsigned long long s, us;

		if (!p || line[0] == '#')
			continue;
		/* "...  1234.567890: irq_handler_entry: ..." */
		*p = '\0';
		q = strrchr(line, ':');
		if (!q)
			continue;
		*q = '\0';
		q = strrchr(line, ' ');
		if (!q || sscanf(q + 1, "%llu.%llu", &s, &us) != 2)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			t = realloc(t, (size_t)cap * sizeof(*t));
			if (!t)
				return -ENOMEM;
		}
		t[n++] = s * 1000000000ull + us * 1000ull;
	}
	fclose(f);
	*out = t;
	return n;
}


/* Write @s to the file @path (a sysfs or tracefs knob): 0 or -errno. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int trace_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	return write_file(path, val);
}

/*
 * The wake of a sleeping driver: edu computes the factorial in a QEMU
 * thread of its own and raises the MSI from there, so dbk_irq_wait()
 * finds the eventfd empty and sleeps in poll().  With --trace-irq, the
 * kernel's handler entry splits each sample: device + delivery up to the
 * handler (isr), and the handler to the driver running (above_isr).
 */
static void case_msi_wake(int n)
{
	uint64_t *t0s = calloc((size_t)n, sizeof(uint64_t)), *isr = NULL;
	struct fig f, fa, fb;
	struct dbk_dev *dev;
	int devfd, i, nisr = 0, j = 0, trace_irq, cpu;
	bool tr = trace_on;
	char extra[80], nm[3][40];

	if (!t0s)
		die("calloc", -ENOMEM);
	dev = open_dev(&devfd);
	msi_on(dev);
	trace_irq = find_irq(false);
	cpu = pin_to_irq(trace_irq);
	tr = tr && trace_irq >= 0;
	if (tr) {
		char filt[32];

		snprintf(filt, sizeof(filt), "irq==%d", trace_irq);
		if (trace_write("trace_clock", "mono") < 0 ||
		    trace_write("events/irq/irq_handler_entry/filter", filt) < 0 ||
		    trace_write("events/irq/irq_handler_entry/enable", "1") < 0 ||
		    trace_write("trace", "") < 0)
			tr = false;
	}
	fig_init(&f, fig_name(nm[0], sizeof(nm[0]), "msi_wake"), n);
	fig_start(&f);
	for (i = -5; i < n; i++) {
		uint64_t c0, t0;
		uint32_t v;

		w32(dev, EDU_STATUS, EDU_STATUS_IRQFACT);
		c0 = cpu_now();
		t0 = now_ns();
		w32(dev, EDU_FACT, 5);
		wait_irq(dev);
		if (i >= 0) {
			fig_add2(&f, now_ns() - t0, cpu_now() - c0);
			t0s[i] = t0;
		}
		ack_irq(dev);
		v = r32(dev, EDU_FACT);
		if (v != 120)
			die("5! is not 120", -EIO);
	}
	fig_stop(&f);
	f.ops = (uint64_t)n + 5;
	snprintf(extra, sizeof(extra), "\"trace\": %s, \"irq\": %d, \"irq_cpu\": %d",
		 tr ? "true" : "false", trace_irq, cpu);
	fig_print(&f, extra);
	if (tr) {
		trace_write("events/irq/irq_handler_entry/enable", "0");
		nisr = trace_times(trace_irq, &isr);
		trace_write("events/irq/irq_handler_entry/filter", "0");
	}
	if (tr && nisr > 0) {
		/* Each sample's handler: the first entry in [t0, t0 + sample]. */
		fig_init(&fa, fig_name(nm[1], sizeof(nm[1]), "msi_wake_to_isr"), n);
		fig_init(&fb, fig_name(nm[2], sizeof(nm[2]), "msi_wake_above_isr"), n);
		for (i = 0; i < n; i++) {
			uint64_t end = t0s[i] + f.t[i];

			while (j < nisr && isr[j] < t0s[i])
				j++;
			if (j < nisr && isr[j] <= end) {
				fig_add(&fa, isr[j] - t0s[i]);
				fig_add(&fb, end - isr[j]);
			}
		}
		fa.ops = fb.ops = (uint64_t)fa.n;
		fig_print(&fa, "");
		fig_print(&fb, "");
	}
	free(isr);
	free(t0s);
	close_dev(dev, devfd);
}

/* Raise, wake, acknowledge, unmask: INTx as a driver of a legacy device. */
/*
 * uio_pci_generic has no irqcontrol: its handler masks INTx with the
 * command register's Interrupt Disable bit, and the driver clears the bit
 * through config space (Documentation/driver-api/uio-howto.rst, "Generic
 * PCI UIO driver": a 1-byte read-modify-write of the command's high byte).
 */
static void uio_unmask(int cfd)
{
	uint8_t hi;

	if (pread(cfd, &hi, 1, PCI_COMMAND + 1) != 1)
		die("uio: config read", errno);
	hi &= (uint8_t)~(PCI_COMMAND_INTX_DISABLE >> 8);
	if (pwrite(cfd, &hi, 1, PCI_COMMAND + 1) != 1)
		die("uio: config write", errno);
}

static void case_intx(int n)
{
	volatile uint32_t *bar = NULL;
	struct dbk_dev *dev = NULL;
	int devfd = -1, ufd = -1, cfd = -1, i, r;
	char extra[32];
	uint32_t cnt;
	struct fig f;

	if (!strcmp(backend, "uio")) {
		char path[96];

		bar = uio_bar();
		ufd = uio_open();
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
		cfd = open(path, O_RDWR | O_CLOEXEC);
		if (cfd < 0)
			die(path, errno);
		uio_unmask(cfd);
	} else {
		dev = open_dev(&devfd);
		r = dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 1);
		if (r < 0)
			die("INTx", r);
	}
	snprintf(extra, sizeof(extra), "\"irq_cpu\": %d", pin_to_irq(find_irq(true)));
	fig_init(&f, "intx", n);
	fig_start(&f);
	for (i = -5; i < n; i++) {
		uint64_t c0 = cpu_now(), t0 = now_ns();

		if (bar) {
			struct pollfd p = { .fd = ufd, .events = POLLIN };

			bar[EDU_IRQ_RAISE / 4] = EDU_IRQ_FACT;
			if (poll(&p, 1, IRQ_WAIT_MS) != 1 || read(ufd, &cnt, 4) != 4)
				die("uio: no interrupt", -ETIMEDOUT);
			bar[EDU_IRQ_ACK / 4] = bar[EDU_IRQ_STATUS / 4];
			uio_unmask(cfd);
		} else {
			w32(dev, EDU_IRQ_RAISE, EDU_IRQ_FACT);
			wait_irq(dev);
			ack_irq(dev);
			r = dbk_irq_unmask(dev);
			if (r < 0)
				die("unmask", r);
		}
		if (i >= 0)
			fig_add2(&f, now_ns() - t0, cpu_now() - c0);
	}
	fig_stop(&f);
	f.ops = (uint64_t)n + 5;
	fig_print(&f, extra);
	if (dev)
		close_dev(dev, devfd);
	if (ufd >= 0)
		close(ufd);
	if (cfd >= 0)
		close(cfd);
}

/*
 * Map and unmap our own memory, 4 KiB to 64 MiB by powers of 4; fewer
 * samples as the size grows (a 64 MiB map pins 16384 pages).  The memory
 * is faulted in beforehand: what is timed is the pinning and the IOMMU
 * page tables, not page faults.
 */
static void case_dma(int n)
{
	struct dbk_dev *dev;
	uint64_t size;
	int devfd, i;
	char *mem;

	dev = open_dev(&devfd);
	mem = mmap(NULL, DMA_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap", errno);
	for (size = 4096; size <= DMA_MAX; size *= 4) {
		int reps = size <= (256u << 10) ? n : size <= (4u << 20) ? (n + 1) / 2 : (n + 4) / 5;
		char nm[2][32], extra[48];
		struct fig fm, fu;

		snprintf(nm[0], sizeof(nm[0]), "dma_map_%" PRIu64 "k", size >> 10);
		snprintf(nm[1], sizeof(nm[1]), "dma_unmap_%" PRIu64 "k", size >> 10);
		fig_init(&fm, nm[0], reps);
		fig_init(&fu, nm[1], reps);
		for (i = -1; i < reps; i++) {
			uint64_t t0, t1, t2, c0, c1, c2, b0, b1, b2;
			int r;

			b0 = busy_ns();
			c0 = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
			t0 = now_ns();
			r = dbk_dma_map_mem(dev, mem, DMA_IOVA, size,
					    DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE);
			t1 = now_ns();
			c1 = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
			b1 = busy_ns();
			if (r < 0)
				die("dbk_dma_map_mem", r);
			r = dbk_dma_unmap_mem(dev, DMA_IOVA, size);
			t2 = now_ns();
			c2 = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
			b2 = busy_ns();
			if (r < 0)
				die("dbk_dma_unmap_mem", r);
			if (i < 0)
				continue;
			fig_add2(&fm, t1 - t0, c1 - c0);
			fig_add2(&fu, t2 - t1, c2 - c1);
			fm.cpu += c1 - c0;
			fu.cpu += c2 - c1;
			fm.busy += b1 - b0;
			fu.busy += b2 - b1;
		}
		fm.ops = fu.ops = (uint64_t)reps;
		snprintf(extra, sizeof(extra), "\"size\": %" PRIu64, size);
		fig_print(&fm, extra);
		fig_print(&fu, extra);
	}
	munmap(mem, DMA_MAX);
	close_dev(dev, devfd);
}

/*
 * From nothing to the first MSI, as a driver starts: devbroker's grant
 * path (open the node, DBK_DEVICE_CREATE_GRANT, dbk_dev_adopt()) against
 * VFIO's (group, container, type1, device fd: dbk_dev_open_vfio()).  Each
 * sample starts settle_us() after the last one ended: devbroker makes a
 * grant that may master wait settle_ms after the previous grant of a
 * device without reset (edu has none), a delay reported apart from this.
 */
static void case_setup(int n)
{
	struct fig f, fo;
	int i;

	fig_init(&f, "setup", n);
	fig_init(&fo, "setup_open", n);
	for (i = 0; i < n; i++) {
		struct dbk_dev *dev;
		uint64_t t0, t1, c0, b0;
		int devfd;

		usleep(settle_us());
		b0 = busy_ns();
		c0 = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
		t0 = now_ns();
		dev = open_dev(&devfd);
		t1 = now_ns();
		msi_on(dev);
		w32(dev, EDU_IRQ_RAISE, EDU_IRQ_FACT);
		wait_irq(dev);
		fig_add2(&f, now_ns() - t0, cpu_now() - c0);
		fig_add(&fo, t1 - t0);
		f.cpu += ts_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
		f.busy += busy_ns() - b0;
		ack_irq(dev);
		close_dev(dev, devfd);
	}
	f.ops = fo.ops = (uint64_t)n;
	fig_print(&f, "");
	fig_print(&fo, "");
}

/*
 * A user holding the device: BAR 0 mapped and read, MSI enabled, 1 MiB of
 * its memory mapped for DMA.  Tells @ready, then waits to be killed (or
 * for its mapping to go: devbroker's revocation zaps it).
 */
static pid_t holder(int grant_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		static char mem[1 << 20] __attribute__((aligned(4096)));
		struct dbk_dev *dev;
		int r;

		close(p[0]);
		r = grant_fd >= 0 ? dbk_dev_adopt(grant_fd, &dev) : dbk_dev_open_vfio(bdf, &dev);
		if (r < 0)
			die("holder: open", r);
		msi_on(dev);
		memset(mem, 1, sizeof(mem));
		r = dbk_dma_map_mem(dev, mem, DMA_IOVA, sizeof(mem), DBK_DMA_MAP_F_READ);
		if (r < 0)
			die("holder: DMA map", r);
		(void)r32(dev, EDU_LIVENESS);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("the holder did not start", -EIO);
	close(p[0]);
	return pid;
}

/* Runs the unbind in a child, so that we can time out on it. */
static pid_t unbinder(const char *drv, int *donefd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		char path[96];

		close(p[0]);
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", drv);
		_exit(write_file(path, bdf) == 0 && write(p[1], "u", 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	*donefd = p[0];
	return pid;
}

static bool wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Back to the driver it was bound to (driver_override still names it). */
static void rebind(const char *node)
{
	struct stat st;
	int i;

	if (write_file("/sys/bus/pci/drivers_probe", bdf) < 0)
		die("drivers_probe", errno);
	for (i = 0; i < 100 && stat(node, &st) < 0; i++)
		usleep(20000);
}

/*
 * devbroker: DBK_DEVICE_REVOKE with the holder live (revoke), and the
 * unbind of the device from devbroker (unbind), which revokes too.
 * vfio-pci: the unbind blocks until the user lets go; after --limit
 * seconds the holder is killed and the unbind's return timed from there
 * (unbind_after_exit).  blocked: how many unbinds were still blocked at
 * the limit.
 */
static void case_revoke(int n)
{
	bool vfio = !strcmp(backend, "vfio");
	struct fig fr, fu, fx;
	char node[80], extra[80];
	int i, blocked = 0;

	fig_init(&fr, "revoke", n);
	fig_init(&fu, "unbind", n);
	fig_init(&fx, "unbind_after_exit", n);
	if (vfio) {
		char link[256];
		ssize_t k;

		snprintf(node, sizeof(node), "/sys/bus/pci/devices/%s/iommu_group", bdf);
		k = readlink(node, link, sizeof(link) - 1);
		if (k < 0)
			die("iommu_group", errno);
		link[k] = '\0';
		snprintf(node, sizeof(node), "/dev/vfio/%s", strrchr(link, '/') + 1);
	} else {
		snprintf(node, sizeof(node), "/dev/devbroker/%s", bdf);
	}
	for (i = 0; i < n; i++) {
		int devfd = -1, g = -1, done, st;
		pid_t h, u;
		uint64_t t0;

		usleep(settle_us());
		if (!vfio) {
			struct dbk_revoke rv = { .argsz = sizeof(rv) };

			g = dbk_grant(&devfd);
			h = holder(g);
			close(g);
			t0 = now_ns();
			if (ioctl(devfd, DBK_DEVICE_REVOKE, &rv) < 0)
				die("DBK_DEVICE_REVOKE", errno);
			fig_add(&fr, now_ns() - t0);
			kill(h, SIGKILL);
			waitpid(h, &st, 0);
			close(devfd);
			/* And unbinding under a live user. */
			usleep(settle_us());
			g = dbk_grant(&devfd);
			h = holder(g);
			close(g);
			close(devfd);
		} else {
			h = holder(-1);
		}
		t0 = now_ns();
		u = unbinder(vfio ? "vfio-pci" : "devbroker", &done);
		if (wait_fd(done, unbind_limit * 1000)) {
			fig_add(&fu, now_ns() - t0);
			kill(h, SIGKILL);
		} else {
			blocked++;
			t0 = now_ns();
			kill(h, SIGKILL);
			if (!wait_fd(done, 10000))
				die("the unbind did not return after the user exited", -ETIMEDOUT);
			fig_add(&fx, now_ns() - t0);
		}
		close(done);
		waitpid(u, &st, 0);
		waitpid(h, &st, 0);
		rebind(node);
	}
	fr.ops = fu.ops = fx.ops = (uint64_t)n;
	snprintf(extra, sizeof(extra), "\"blocked\": %d, \"limit_s\": %d", blocked, unbind_limit);
	if (!vfio)
		fig_print(&fr, "");
	fig_print(&fu, extra);
	if (fx.n)
		fig_print(&fx, extra);
}

int main(int argc, char **argv)
{
	const char *c;
	int i, n;

	if (argc < 6 || (n = atoi(argv[5])) < 1) {
		fprintf(stderr, "usage: side-bench dbk|vfio|uio CASE BDF ROUND N [--uio N] "
			"[--label L] [--trace 1] [--limit SEC] [--pin same|cross|none]\n");
		return 2;
	}
	ncpus = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	backend = label = argv[1];
	c = argv[2];
	bdf = argv[3];
	round_no = atoi(argv[4]);
	for (i = 6; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--uio"))
			uio_no = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--label"))
			label = argv[i + 1];
		else if (!strcmp(argv[i], "--trace"))
			trace_on = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--limit"))
			unbind_limit = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pin"))
			pin = argv[i + 1];
		else
			return 2;
	}
	if (i != argc || (strcmp(backend, "dbk") && strcmp(backend, "vfio") && strcmp(backend, "uio")))
		return 2;
	if (!strcmp(backend, "uio") && strcmp(c, "mmio_read") && strcmp(c, "mmio_write") &&
	    strcmp(c, "intx"))
		return 2;	/* uio_pci_generic: no MSI, no DMA API */
	if (!strcmp(c, "mmio_read"))
		case_mmio(n, false);
	else if (!strcmp(c, "mmio_write"))
		case_mmio(n, true);
	else if (!strcmp(c, "pread"))
		case_pread(n);
	else if (!strcmp(c, "msi_raise"))
		case_msi_raise(n);
	else if (!strcmp(c, "msi_wake"))
		case_msi_wake(n);
	else if (!strcmp(c, "intx"))
		case_intx(n);
	else if (!strcmp(c, "dma"))
		case_dma(n);
	else if (!strcmp(c, "setup"))
		case_setup(n);
	else if (!strcmp(c, "revoke"))
		case_revoke(n);
	else
		return 2;
	return 0;
}
