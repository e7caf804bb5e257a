/*
 * failnth-test: every success path of the UAPI with its 1st, 2nd, ...
 * fault-injection point failed (/proc/thread-self/fail-nth: allocations
 * with failslab and fail_page_alloc on), until the path runs to its end
 * with no point left to fail.  Each failure must be a clean error or a
 * success, and leave the grant consistent: its DMA accounting back to what
 * it was, the device usable by the next call.  The kernel log must stay
 * clean (vm-run); kmemleak is asked for leaks at the end of the campaign.
 * Needs a kernel with CONFIG_FAULT_INJECTION (the debug kernel).
 *
 * usage: failnth-test BDF     (TAP; run as root: the driver side drops to uid 65534)
 */
#include <inttypes.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "../helpers/dbk-test.h"

static const char *bdf;
static int iommu;

/* Arm the calling thread: its @n-th fault-injection point fails. */
static void fail_nth(unsigned int n)
{
	char s[16];
	int fd = open("/proc/thread-self/fail-nth", O_WRONLY);

	snprintf(s, sizeof(s), "%u", n);
	if (fd < 0 || write(fd, s, strlen(s)) < 0) {
		perror("fail-nth");
		exit(2);
	}
	close(fd);
}

/* Did the armed point fail (the counter reached 0), or was the path shorter? */
static int fail_nth_left(void)
{
	char s[16] = "";
	int fd = open("/proc/thread-self/fail-nth", O_RDWR);
	int n = fd >= 0 && read(fd, s, sizeof(s) - 1) > 0 ? atoi(s) : -1;

	if (fd >= 0) {
		if (write(fd, "0", 1) < 0)	/* disarm */
			n = -1;
		close(fd);
	}
	return n;
}

static uint64_t dma_used(int g)
{
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };

	return ioctl(g, DBK_GRANT_GET_INFO, &gi) ? ~0ULL : gi.dma_used;
}

/* One path: @call under fail-nth 1, 2, ... until it no longer fails; @undo between. */
struct path {
	const char *name;
	int (*call)(int g, void *state);
	void (*undo)(int g, void *state, int ret);
	void (*prep)(int g, void *state);	/* before arming */
};

static unsigned long injected, paths_done;

static void sweep(int g, const struct path *p, void *state)
{
	unsigned int n;
	int ret, left, bad = 0, errs = 0;
	uint64_t before = dma_used(g);

	for (n = 1; n < 500; n++) {
		if (p->prep)
			p->prep(g, state);
		fail_nth(n);
		errno = 0;
		ret = p->call(g, state);
		left = fail_nth_left();
		if (ret && errno != ENOMEM && errno != EFAULT && errno != ENOSPC && errno != EINTR &&
		    errno != EIO && errno != EAGAIN) {
			bad++;
			diag("%s: fail-nth %u: unexpected errno %d (%s)", p->name, n, errno, strerror(errno));
		}
		errs += ret != 0;
		if (p->undo)
			p->undo(g, state, ret);
		if (dma_used(g) != before) {
			bad++;
			diag("%s: fail-nth %u: dma_used %" PRIu64 ", was %" PRIu64, p->name, n,
			     dma_used(g), before);
		}
		if (left > 0)	/* the path ended before its n-th point: all covered */
			break;
		injected++;
	}
	paths_done++;
	tap(!bad && n < 500, "%s: %u fault points, each failed once: %d errors, all clean", p->name, n - 1,
	    errs);
}

/* ------------------------------------------------------------ the paths */

struct dma_state {
	uint64_t iova;
	void *anon;
};

static int do_alloc(int g, void *s)
{
	struct dbk_dma_alloc a = { .argsz = sizeof(a), .size = 3 * 4096 };
	int r = ioctl(g, DBK_GRANT_DMA_ALLOC, &a);

	((struct dma_state *)s)->iova = r ? 0 : a.iova;
	return r;
}

static void undo_alloc(int g, void *s, int ret)
{
	if (!ret)
		dma_unmap(g, ((struct dma_state *)s)->iova, 3 * 4096);
}

static int do_map(int g, void *s)
{
	struct dbk_dma_map m = { .argsz = sizeof(m), .flags = DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE,
				 .vaddr = (uintptr_t)((struct dma_state *)s)->anon, .iova = 0x800000,
				 .size = 4 * 4096 };

	return ioctl(g, DBK_GRANT_DMA_MAP, &m);
}

static void undo_map(int g, void *s, int ret)
{
	if (!ret)
		dma_unmap(g, 0x800000, 4 * 4096);
}

static void prep_unmap(int g, void *s)
{
	struct dbk_dma_alloc a = { .argsz = sizeof(a), .size = 4096 };

	((struct dma_state *)s)->iova = ioctl(g, DBK_GRANT_DMA_ALLOC, &a) ? 0 : a.iova;
}

static int do_unmap(int g, void *s)
{
	int r = dma_unmap(g, ((struct dma_state *)s)->iova, 4096);

	errno = r;
	return r ? -1 : 0;
}

static void undo_unmap(int g, void *s, int ret)
{
	if (ret)	/* an unmap that failed leaves the buffer: take it back unarmed */
		dma_unmap(g, ((struct dma_state *)s)->iova, 4096);
}

static int efds[2];

static int do_irq(int g, void *s)
{
	struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
				  .index = *(int *)s, .count = 1, .fds = (uintptr_t)efds };

	return ioctl(g, DBK_GRANT_SET_IRQS, &is);
}

static void undo_irq(int g, void *s, int ret)
{
	struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
				  .index = *(int *)s };

	ioctl(g, DBK_GRANT_SET_IRQS, &is);
}

static int do_region_info(int g, void *s)
{
	struct dbk_area areas[4];
	struct dbk_region_info ri = { .argsz = sizeof(ri), .index = 0, .areas_max = 4,
				      .areas = (uintptr_t)areas };

	return ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri);
}

/* A mapping and its first touch: the fault handler's page-table allocations. */
static int do_fault(int g, void *s)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0) {
		volatile uint32_t *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, 4096);

		if (p == MAP_FAILED)
			_exit(3);
		fail_nth(*(unsigned int *)s);
		(void)p[0];
		_exit(0);
	}
	waitpid(pid, &st, 0);
	errno = WIFSIGNALED(st) ? EFAULT : 0;
	return WIFSIGNALED(st) ? -1 : 0;
}

static int do_rw(int g, void *s)
{
	uint64_t v = 0x12345678;

	if (pwrite(g, &v, 4, 4) != 4)
		return -1;
	return pread(g, &v, 4, 0) == 4 ? 0 : -1;
}

static void driver(void *arg)
{
	int g = *(int *)arg;
	struct dma_state d = { 0 };
	int msi = DBK_IRQ_INDEX_MSI, intx = DBK_IRQ_INDEX_INTX;
	const struct path paths[] = {
		{ "DMA_ALLOC", do_alloc, undo_alloc },
		{ "DMA_UNMAP", do_unmap, undo_unmap, prep_unmap },
		{ "SET_IRQS MSI", do_irq, undo_irq },
		{ "SET_IRQS INTx", do_irq, undo_irq },
		{ "GET_REGION_INFO", do_region_info, NULL },
		{ "pwrite/pread", do_rw, NULL },
	};
	void *states[] = { &d, &d, &msi, &intx, NULL, NULL };
	size_t i;

	/* Dumpable again after the uid change, so that /proc/thread-self/fail-nth is ours. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	efds[0] = eventfd(0, EFD_NONBLOCK);
	efds[1] = eventfd(0, EFD_NONBLOCK);
	d.anon = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(d.anon, 1, 4 * 4096);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		sweep(g, &paths[i], states[i]);
	if (iommu)
		sweep(g, &(struct path){ "DMA_MAP", do_map, undo_map }, &d);
	{
		unsigned int n;
		int bad = 0;

		/* The fault path: a fresh child per point (fail-nth is per task). */
		for (n = 1; n <= 8; n++)
			bad += do_fault(g, &n) && errno != EFAULT;
		tap(!bad, "mmap fault: the first 8 fault points failed in turn: SIGBUS or success");
	}
	{
		uint64_t id = rd(g, 4, 0);

		tap((id & 0xff) == 0xed, "afterwards the grant still works (ID 0x%" PRIx64 ")", id);
	}
}

/* Root's paths: grant creation and revocation, swept the same way. */
static int do_create(int dev, void *s)
{
	struct dbk_grant_spec sp = { .argsz = sizeof(sp), .flags = DBK_GRANT_F_INTX | DBK_GRANT_F_MSI |
				     DBK_GRANT_F_DMA, .bar_mask = 1, .mmap_mask = 1, .max_vectors = 1,
				     .dma_quota = 1 << 20, .dma_bits = 28 };
	int g;

	if (!iommu)
		sp.flags |= DBK_GRANT_F_UNSAFE_DMA;
	g = ioctl(dev, DBK_DEVICE_CREATE_GRANT, &sp);
	*(int *)s = g;
	return g < 0 ? -1 : 0;
}

static void undo_create(int dev, void *s, int ret)
{
	if (!ret)
		close(*(int *)s);
}

int main(int argc, char **argv)
{
	struct dbk_grant_spec sp = { .argsz = sizeof(sp), .flags = DBK_GRANT_F_INTX | DBK_GRANT_F_MSI |
				     DBK_GRANT_F_DMA, .bar_mask = 1, .mmap_mask = 1, .max_vectors = 1,
				     .dma_quota = 1 << 20, .dma_bits = 28 };
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int dev, g, created;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BDF\n", argv[0]);
		return 2;
	}
	bdf = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access("/proc/thread-self/fail-nth", W_OK)) {
		printf("# no /proc/thread-self/fail-nth: a kernel without CONFIG_FAULT_INJECTION\n");
		return 77;
	}
	/* Every allocation may fail, sleeping ones too; no log line per failure. */
	system("for d in failslab fail_page_alloc; do cd /sys/kernel/debug/$d || exit 1; "
	       "echo N > ignore-gfp-wait; echo 0 > verbose; cd /; done; "
	       "echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem; "
	       "echo 0 > /sys/kernel/debug/fail_page_alloc/min-order");
	setrlimit(RLIMIT_MEMLOCK, &rl);
	dev = open_node(bdf);
	iommu = !ioctl(dev, DBK_DEVICE_GET_INFO, &di) && (di.flags & DBK_DEVICE_INFO_F_IOMMU);
	sweep(dev, &(struct path){ "CREATE_GRANT", do_create, undo_create }, &created);
	if (!iommu)
		sp.flags |= DBK_GRANT_F_UNSAFE_DMA;
	g = ioctl(dev, DBK_DEVICE_CREATE_GRANT, &sp);
	tap(g >= 0, "a grant after the sweep");
	if (g >= 0) {
		as_driver(driver, &g);
		close(g);
	}
	printf("# fail-nth: %lu paths, %lu injected failures\n", paths_done, injected);
	close(dev);
	return fails ? 1 : 0;
}
