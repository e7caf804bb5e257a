/*
 * uapi-test: drives devbroker.ko's UAPI directly, in the VM, against a real
 * edu device (1234:11e8) bound to devbroker.  Runs as root; everything a
 * driver does happens in a child that dropped to uid 65534 with no
 * capabilities and no_new_privs, holding only the grant fd.  TAP output.
 *
 * usage: uapi-test BDF GROUP   (GROUP: device, grant, mmio, irq, dma, revoke)
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>

#include "edu-regs.h"

static int tap_n, tap_failed;
static char node[128];
static const char *bdf;

#define CHECK(cond, ...) do {						\
	int ok_ = !!(cond);						\
	printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);		\
	printf(__VA_ARGS__);						\
	if (!ok_) {							\
		printf(" (line %d, errno %d %s)", __LINE__, errno, strerror(errno)); \
		tap_failed++;						\
	}								\
	printf("\n");							\
	fflush(stdout);							\
} while (0)

/* An ioctl that must fail with @err. */
#define EXPECT_ERR(err, call, ...) do {					\
	errno = 0;							\
	long r_ = (call);						\
	CHECK(r_ == -1 && errno == (err), __VA_ARGS__);			\
} while (0)

#define PCI_COMMAND_OFF	4

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_dev(void)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror(node);
		exit(2);
	}
	return fd;
}

static struct dbk_grant_spec spec_basic(void)
{
	struct dbk_grant_spec s = { .argsz = sizeof(s) };

	s.flags = DBK_GRANT_F_INTX | DBK_GRANT_F_MSI;
	s.bar_mask = 1;
	s.mmap_mask = 1;
	s.max_vectors = 1;
	return s;
}

static int grant(int dev, struct dbk_grant_spec *s)
{
	return ioctl(dev, DBK_DEVICE_CREATE_GRANT, s);
}

static void drop_privs(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("drop privileges");
		exit(2);
	}
}

static int rd(int g, uint64_t off, int size, uint64_t *val)
{
	uint64_t v = 0;
	ssize_t r = pread(g, &v, size, DBK_REGION_OFFSET(0) + off);

	if (val)
		*val = v;
	return r == size ? 0 : -1;
}

static int wr(int g, uint64_t off, int size, uint64_t val)
{
	return pwrite(g, &val, size, DBK_REGION_OFFSET(0) + off) == size ? 0 : -1;
}

static uint32_t cfg_read(int g, unsigned int off, int size)
{
	uint32_t v = 0;

	if (pread(g, &v, size, DBK_REGION_OFFSET(DBK_REGION_CONFIG) + off) != size)
		return 0xdeadbeef;
	return v;
}

static int cfg_write(int g, unsigned int off, int size, uint32_t v)
{
	return pwrite(g, &v, size, DBK_REGION_OFFSET(DBK_REGION_CONFIG) + off) == size ? 0 : -1;
}

/* ---------------------------------------------------------------- device */
static void group_device(void)
{
	struct dbk_device_info info;
	struct stat st;
	char big[8192];
	int dev, g, pid, status;

	CHECK(stat(node, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0600 &&
	      st.st_uid == 0, "node %s is a root-owned 0600 char device", node);
	pid = fork();
	if (pid == 0) {
		drop_privs();
		_exit(open(node, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody cannot open the device node (EACCES)");

	dev = open_dev();
	memset(&info, 0, sizeof(info));
	info.argsz = 0;
	EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_GET_INFO, &info), "GET_INFO argsz 0: EINVAL");
	info.argsz = 4;
	EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_GET_INFO, &info), "GET_INFO argsz too small: EINVAL");
	info.argsz = 1 << 20;
	EXPECT_ERR(E2BIG, ioctl(dev, DBK_DEVICE_GET_INFO, &info), "GET_INFO argsz huge: E2BIG");
	info.argsz = sizeof(info);
	info.flags = 1U << 31;
	EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_GET_INFO, &info), "GET_INFO unknown flags: EINVAL");
	EXPECT_ERR(EFAULT, ioctl(dev, DBK_DEVICE_GET_INFO, (void *)8), "GET_INFO bad pointer: EFAULT");
	memset(big, 0, sizeof(big));
	((struct dbk_device_info *)big)->argsz = 4096;
	CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, big) == 0 &&
	      ((struct dbk_device_info *)big)->argsz == sizeof(info),
	      "GET_INFO larger argsz, zero tail (a newer caller): accepted, argsz (out) the bytes written");
	big[4095] = 1;
	((struct dbk_device_info *)big)->argsz = 4096;
	EXPECT_ERR(E2BIG, ioctl(dev, DBK_DEVICE_GET_INFO, big),
		   "GET_INFO a newer caller's field this module does not know set: E2BIG");
	/* API 2: the numbers hold no size, so that a struct can grow. */
	CHECK(_IOC_DIR(DBK_DEVICE_GET_INFO) == _IOC_NONE && _IOC_SIZE(DBK_DEVICE_GET_INFO) == 0 &&
	      _IOC_SIZE(DBK_DEVICE_CREATE_GRANT) == 0 && _IOC_SIZE(DBK_GRANT_DMA_UNMAP) == 0 &&
	      DBK_API_VERSION == 2, "ioctl numbers are _IO(DBK_TYPE, n), API version 2");
	{
		/* A caller built when the struct ended at @reserved. */
		const size_t v1 = offsetof(struct dbk_device_info, reserved) + sizeof(info.reserved);
		struct dbk_device_info *o = (struct dbk_device_info *)big;
		size_t i, past = 0;

		memset(big, 0xa5, sizeof(big));
		o->argsz = v1;
		o->flags = 0;
		EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_GET_INFO, o), "GET_INFO reserved set: EINVAL");
		o->reserved = 0;
		CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, o) == 0 && o->argsz == v1 && o->vendor == 0x1234 &&
		      o->api_version == DBK_API_VERSION, "GET_INFO from an older caller (argsz ends at reserved)");
		for (i = v1; i < sizeof(big); i++)
			past += (unsigned char)big[i] != 0xa5;
		CHECK(past == 0, "GET_INFO writes nothing past a shorter argsz");
		o->argsz = v1 - 4;
		EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_GET_INFO, o), "GET_INFO argsz inside the first version: EINVAL");
	}
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, &info) == 0 && info.vendor == 0x1234 &&
	      info.device == 0x11e8 && info.num_regions == 8 && info.api_version == DBK_API_VERSION &&
	      !(info.flags & DBK_DEVICE_INFO_F_GRANTED), "GET_INFO: 1234:11e8, 8 regions, no grant");
	EXPECT_ERR(ENOTTY, ioctl(dev, _IO(DBK_TYPE, 0x7f)), "unknown ioctl: ENOTTY");
	EXPECT_ERR(ENOTTY, ioctl(dev, DBK_GRANT_SET_IRQS, big), "grant ioctl on the device fd: ENOTTY");
	{
		struct dbk_revoke rv = { .argsz = sizeof(rv) };

		EXPECT_ERR(ENOENT, ioctl(dev, DBK_DEVICE_REVOKE, &rv), "REVOKE with no grant: ENOENT");
		rv.flags = 1;
		EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_REVOKE, &rv), "REVOKE unknown flags: EINVAL");
		rv.argsz = 0;
		EXPECT_ERR(EINVAL, ioctl(dev, DBK_DEVICE_REVOKE, &rv), "REVOKE argsz 0: EINVAL");
	}
	g = grant(dev, &(struct dbk_grant_spec){ .argsz = sizeof(struct dbk_grant_spec), .bar_mask = 1 });
	CHECK(g >= 0 && (fcntl(g, F_GETFD) & FD_CLOEXEC), "CREATE_GRANT returns a close-on-exec fd");
	info.flags = 0;
	CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, &info) == 0 && (info.flags & DBK_DEVICE_INFO_F_GRANTED),
	      "GET_INFO reports the live grant");
	close(g);
	info.flags = 0;
	CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, &info) == 0 && !(info.flags & DBK_DEVICE_INFO_F_GRANTED) &&
	      info.grants_created == 1 && info.grants_revoked == 1, "closing the grant fd ends the grant");
	close(dev);
}

/* ---------------------------------------------------------------- grant */
static void group_grant(void)
{
	struct dbk_range r[DBK_MAX_MEDIATED + 1];
	struct dbk_grant_spec s;
	int dev = open_dev(), g, g2, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	memset(r, 0, sizeof(r));
#define BAD_SPEC(err, what, ...) do { s = spec_basic(); __VA_ARGS__; \
	EXPECT_ERR(err, grant(dev, &s), "CREATE_GRANT " what); } while (0)
	BAD_SPEC(EINVAL, "argsz 0: EINVAL", s.argsz = 0);
	BAD_SPEC(EINVAL, "argsz too small: EINVAL", s.argsz = 8);
	BAD_SPEC(E2BIG, "argsz huge: E2BIG", s.argsz = 0x7fffffff);
	BAD_SPEC(EINVAL, "argsz inside @mediated (the first version's last field): EINVAL",
		 s.argsz = offsetof(struct dbk_grant_spec, mediated) + 4);
	{
		/* An older caller, whose struct ended before policy_cookie: the garbage there is not read. */
		struct { struct dbk_grant_spec s; __u64 more[4]; } n = { .s = spec_basic() };

		n.s.argsz = offsetof(struct dbk_grant_spec, policy_cookie);
		n.s.policy_cookie = 0xdeadbeef;
		g = grant(dev, &n.s);
		CHECK(g >= 0, "CREATE_GRANT from an older caller (argsz ends before policy_cookie)");
		close(g);
		/* A newer caller: a longer struct whose tail this module does not know. */
		n.s = spec_basic();
		n.s.argsz = sizeof(n);
		g = grant(dev, &n.s);
		CHECK(g >= 0, "CREATE_GRANT from a newer caller, tail zero: accepted");
		close(g);
		n.more[3] = 1;
		EXPECT_ERR(E2BIG, grant(dev, &n.s), "CREATE_GRANT from a newer caller asking for more: E2BIG");
	}
	BAD_SPEC(EINVAL, "unknown flags: EINVAL", s.flags |= 1U << 30);
	BAD_SPEC(EINVAL, "BAR 6: EINVAL", s.bar_mask |= 1 << 6);
	BAD_SPEC(EINVAL, "absent BAR 1: EINVAL", s.bar_mask |= 1 << 1);
	BAD_SPEC(EINVAL, "mmap_mask outside bar_mask: EINVAL", s.bar_mask = 0);
	BAD_SPEC(EINVAL, "max_vectors 4096: EINVAL", s.max_vectors = 4096);
	BAD_SPEC(EINVAL, "vectors without MSI/MSI-X: EINVAL", s.flags = DBK_GRANT_F_INTX);
	BAD_SPEC(EINVAL, "17 mediated ranges: EINVAL", s.nr_mediated = DBK_MAX_MEDIATED + 1;
		 s.mediated = (uintptr_t)r);
	BAD_SPEC(EFAULT, "mediated bad pointer: EFAULT", s.nr_mediated = 1; s.mediated = 16);
	r[0] = (struct dbk_range){ .bar = 0, .offset = 0x100000, .size = 4 };
	BAD_SPEC(EINVAL, "mediated range past the BAR: EINVAL", s.nr_mediated = 1; s.mediated = (uintptr_t)r);
	r[0] = (struct dbk_range){ .bar = 0, .offset = 0xff000, .size = UINT64_MAX - 0xfff };
	BAD_SPEC(EINVAL, "mediated range wrapping U64_MAX: EINVAL", s.nr_mediated = 1; s.mediated = (uintptr_t)r);
	r[0] = (struct dbk_range){ .bar = 0, .offset = 0, .size = 0 };
	BAD_SPEC(EINVAL, "mediated range of size 0: EINVAL", s.nr_mediated = 1; s.mediated = (uintptr_t)r);
	r[0] = (struct dbk_range){ .bar = 0, .offset = 0, .size = 4, .reserved = 1 };
	BAD_SPEC(EINVAL, "mediated range reserved field: EINVAL", s.nr_mediated = 1; s.mediated = (uintptr_t)r);
	BAD_SPEC(EPERM, "DMA without IOMMU or unsafe flag: EPERM", s.flags |= DBK_GRANT_F_DMA; s.dma_quota = 4096);
	BAD_SPEC(EINVAL, "unsafe flag without DMA: EINVAL", s.flags |= DBK_GRANT_F_UNSAFE_DMA);
	BAD_SPEC(EINVAL, "DMA_GUARDED flag without DMA: EINVAL", s.flags |= DBK_GRANT_F_DMA_GUARDED);
	BAD_SPEC(EBADF, "DMA_GUARDED flag, guard_fd -1: EBADF",
		 s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED; s.dma_quota = 4096; s.guard_fd = -1);
	BAD_SPEC(EINVAL, "DMA_GUARDED flag, guard_fd not a BPF program (/dev/null): EINVAL",
		 s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED; s.dma_quota = 4096;
		 s.guard_fd = devnull);
	BAD_SPEC(EINVAL, "DMA_GUARDED flag, argsz ending before guard_fd: EINVAL",
		 s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED; s.dma_quota = 4096;
		 s.argsz = offsetof(struct dbk_grant_spec, guard_fd));
	BAD_SPEC(EINVAL, "DMA_GUARDED flag, reserved 1: EINVAL",
		 s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED; s.dma_quota = 4096; s.reserved = 1);
	BAD_SPEC(EINVAL, "unknown grant flag 1 << 7: EINVAL", s.flags |= 1U << 7);
	BAD_SPEC(EINVAL, "DMA quota 0: EINVAL", s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA);
	BAD_SPEC(EINVAL, "DMA quota huge: EINVAL", s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA;
		 s.dma_quota = UINT64_MAX);
	BAD_SPEC(EINVAL, "dma_bits 8: EINVAL", s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA;
		 s.dma_quota = 4096; s.dma_bits = 8);
	BAD_SPEC(EINVAL, "irq_rate over the cap: EINVAL", s.irq_rate = 0xffffffff);

	s = spec_basic();
	g = grant(dev, &s);
	CHECK(g >= 0, "CREATE_GRANT valid spec");
	EXPECT_ERR(EBUSY, grant(dev, &s), "second live grant: EBUSY");
	EXPECT_ERR(ENOTTY, ioctl(g, DBK_DEVICE_CREATE_GRANT, &s), "a grant fd cannot create grants (ENOTTY)");
	EXPECT_ERR(ENOTTY, ioctl(g, DBK_DEVICE_REVOKE, &(struct dbk_revoke){ sizeof(struct dbk_revoke) }),
		   "a grant fd cannot revoke (ENOTTY)");
	{
		struct dbk_grant_info gi = { .argsz = sizeof(gi) };

		CHECK(ioctl(g, DBK_GRANT_GET_INFO, &gi) == 0 && gi.bar_mask == 1 &&
		      gi.flags == (DBK_GRANT_F_INTX | DBK_GRANT_F_MSI) && gi.dma_quota == 0,
		      "GRANT_GET_INFO shows exactly the granted rights");
		gi.flags = 4;
		EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_GET_INFO, &gi), "GRANT_GET_INFO flags in: EINVAL");
	}
	/* A grant without rights stays without them: no way to widen. */
	close(g);
	g2 = grant(dev, &(struct dbk_grant_spec){ .argsz = sizeof(struct dbk_grant_spec) });
	CHECK(g2 >= 0, "grant with no rights at all");
	if (fork() == 0) {
		struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
					  .index = DBK_IRQ_INDEX_MSI, .count = 1 };
		struct dbk_dma_alloc da = { .argsz = sizeof(da), .size = 4096 };
		int32_t efd = eventfd(0, 0);
		uint64_t v;
		int bad = 0;

		drop_privs();
		is.fds = (uintptr_t)&efd;
		bad |= !(rd(g2, 0, 4, &v) && errno == EACCES);
		bad |= !(ioctl(g2, DBK_GRANT_SET_IRQS, &is) && errno == EPERM) << 1;
		bad |= !(ioctl(g2, DBK_GRANT_DMA_ALLOC, &da) && errno == EPERM) << 2;
		bad |= !(mmap(NULL, 4096, PROT_READ, MAP_SHARED, g2, 0) == MAP_FAILED && errno == EINVAL) << 3;
		bad |= !(cfg_write(g2, PCI_COMMAND_OFF, 2, 0x4) && errno == EPERM) << 4;
		_exit(bad);
	}
	{
		int st;

		wait(&st);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "unprivileged holder of a rightless grant: BAR EACCES, MSI EPERM, DMA EPERM, mmap EINVAL, "
		      "bus master EPERM (mask %d)", WEXITSTATUS(st));
	}
	close(g2);
	close(devnull);
	close(dev);
}

/* ---------------------------------------------------------------- mmio */
static void group_mmio(void)
{
	struct dbk_range med = { .bar = 0, .offset = 0x80, .size = 0x20 };	/* the DMA registers */
	struct dbk_area areas[8];
	struct dbk_region_info ri;
	struct dbk_grant_spec s = spec_basic();
	uint64_t v;
	volatile uint32_t *map;
	int dev = open_dev(), g;

	s.nr_mediated = 1;
	s.mediated = (uintptr_t)&med;
	g = grant(dev, &s);
	CHECK(g >= 0, "grant with the DMA registers (page 0) mediated");
	drop_privs();	/* from here on, the driver's view */

	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = 8;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri), "REGION_INFO index 8: EINVAL");
	ri.index = 0;
	ri.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri), "REGION_INFO flags in: EINVAL");
	ri.flags = 0;
	ri.areas_max = 8;
	ri.areas = 16;
	EXPECT_ERR(EFAULT, ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri), "REGION_INFO bad areas pointer: EFAULT");
	ri.areas = (uintptr_t)areas;
	CHECK(ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri) == 0 && ri.size == 0x100000 &&
	      (ri.flags & DBK_REGION_INFO_F_MMAP) && ri.nr_areas == 1 && areas[0].offset == 4096 &&
	      areas[0].size == 0x100000 - 4096, "BAR0: 1 MiB, one mappable area skipping the mediated page");
	ri.index = DBK_REGION_CONFIG;
	ri.flags = 0;
	CHECK(ioctl(g, DBK_GRANT_GET_REGION_INFO, &ri) == 0 && ri.size >= 256 &&
	      !(ri.flags & DBK_REGION_INFO_F_MMAP), "config region: readable, not mappable");

	CHECK(rd(g, EDU_ID, 4, &v) == 0 && (v & 0xff) == 0xed, "pread ID register (0x%" PRIx64 ")", v);
	CHECK(wr(g, EDU_LIVENESS, 4, 0x12345678) == 0 && rd(g, EDU_LIVENESS, 4, &v) == 0 && v == (uint32_t)~0x12345678,
	      "pwrite/pread liveness register inverts");
	EXPECT_ERR(EINVAL, rd(g, EDU_ID, 3, NULL), "pread width 3: EINVAL");
	EXPECT_ERR(EINVAL, rd(g, 2, 4, NULL), "pread unaligned: EINVAL");
	EXPECT_ERR(EINVAL, rd(g, 0x100000, 4, NULL), "pread past the BAR: EINVAL");
	EXPECT_ERR(EINVAL, rd(g, 0xffffc, 8, NULL), "pread straddling the BAR end: EINVAL");
	errno = 0;
	CHECK(pread(g, &v, 4, DBK_REGION_OFFSET(6)) < 0 && errno == EINVAL, "pread region 6 (ROM): EINVAL");
	CHECK(pread(g, &v, 4, 0x7ffffffffffffff8LL) < 0 && errno == EINVAL, "pread near the top of the offset space: EINVAL");
	CHECK(pread(g, &v, 4, -8) < 0 && errno == EINVAL, "pread negative offset: EINVAL");
	{
		char b16[16];

		CHECK(pread(g, b16, 16, 0) < 0 && errno == EINVAL, "pread 16 bytes: EINVAL");
	}
	CHECK(rd(g, EDU_DMA_CNT, 8, &v) == 0, "8-byte access to a mediated register works");

	CHECK(cfg_read(g, 0, 2) == 0x1234 && cfg_read(g, 2, 2) == 0x11e8, "config read: vendor/device");
	v = cfg_read(g, 0x10, 4);
	CHECK((v & ~0xfULL) == 0, "config read of BAR0 hides the bus address (0x%" PRIx64 ")", v);
	EXPECT_ERR(EPERM, cfg_write(g, 0x10, 4, 0xffffffff), "config write to BAR0: EPERM");
	EXPECT_ERR(EPERM, cfg_write(g, 0x30, 4, 0xffffffff), "config write to the ROM BAR: EPERM");
	EXPECT_ERR(EPERM, cfg_write(g, 0x3c, 1, 5), "config write to the interrupt line: EPERM");
	EXPECT_ERR(EPERM, cfg_write(g, PCI_COMMAND_OFF, 2, 0x7), "config: bus master without a DMA right: EPERM");
	EXPECT_ERR(EPERM, cfg_write(g, PCI_COMMAND_OFF, 1, 0x4), "config: bus master by a 1-byte write: EPERM");
	CHECK(!(cfg_read(g, PCI_COMMAND_OFF, 2) & 0x4), "config: bus mastering still off after those writes");
	CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0x2) == 0 && (cfg_read(g, PCI_COMMAND_OFF, 2) & 0x2),
	      "config: memory-enable write allowed");
	CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0x402) == 0, "config: command write of other bits is masked, not failed");
	EXPECT_ERR(EPERM, cfg_write(g, 0x40, 4, 0), "config write past the header without CONFIG_WRITE: EPERM");
	errno = 0;
	CHECK(pread(g, &v, 8, DBK_REGION_OFFSET(DBK_REGION_CONFIG)) < 0 && errno == EINVAL, "8-byte config read: EINVAL");
	EXPECT_ERR(EINVAL, cfg_read(g, 0x1000, 4) == 0xdeadbeef ? -1 : 0, "config read past the end: EINVAL");

	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0) == MAP_FAILED && errno == EACCES,
	      "mmap of the mediated page: EACCES");
	errno = 0;
	CHECK(mmap(NULL, 8192, PROT_READ, MAP_SHARED, g, 0x100000 - 4096) == MAP_FAILED && errno == EINVAL,
	      "mmap past the BAR end: EINVAL");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, g, 4096) == MAP_FAILED && errno == EINVAL,
	      "mmap MAP_PRIVATE: EINVAL");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, g, 4096) == MAP_FAILED && errno == EINVAL,
	      "mmap write-only: EINVAL");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, g, 4096) == MAP_FAILED && errno == EACCES,
	      "mmap PROT_EXEC: EACCES");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, DBK_REGION_OFFSET(DBK_REGION_CONFIG)) == MAP_FAILED &&
	      errno == EINVAL, "mmap of config space: EINVAL");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, DBK_REGION_OFFSET(DBK_REGION_DMA_FIRST)) == MAP_FAILED &&
	      errno == EINVAL, "mmap of a DMA slot never allocated: EINVAL");
	map = mmap(NULL, 0x100000 - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 4096);
	CHECK(map != MAP_FAILED, "mmap of the whole mappable area");
	if (map != MAP_FAILED)
		munmap((void *)map, 0x100000 - 4096);
	/* The device fd, still open, makes a grant with page 0 mappable. */
	close(g);
	s = spec_basic();
	g = grant(dev, &s);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
	CHECK(g >= 0 && map != MAP_FAILED, "unmediated grant: page 0 mapped");
	if (map != MAP_FAILED) {
		CHECK((map[EDU_ID / 4] & 0xff) == 0xed, "ID register read through the mapping");
		map[EDU_LIVENESS / 4] = 0xcafe0001;
		CHECK(rd(g, EDU_LIVENESS, 4, &v) == 0 && v == (uint32_t)~0xcafe0001,
		      "a store through the mapping is seen by pread");
		errno = 0;
		CHECK(mprotect((void *)map, 4096, PROT_READ | PROT_EXEC) != 0, "mprotect to PROT_EXEC refused");
		/* Memory decoding off: no BAR access at all until it is back on. */
		CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0) == 0, "config: memory decoding off");
		EXPECT_ERR(EIO, rd(g, EDU_ID, 4, &v), "pread of the BAR with decoding off: EIO");
		{
			int pid = fork(), st;

			if (pid == 0) {
				(void)map[EDU_ID / 4];
				_exit(0);
			}
			waitpid(pid, &st, 0);
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
			      "a mapped access with decoding off: SIGBUS (mappings were zapped)");
		}
		CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0x2) == 0 && (map[EDU_ID / 4] & 0xff) == 0xed &&
		      rd(g, EDU_ID, 4, &v) == 0, "decoding back on: mapped and mediated accesses work again");
	}
	exit(tap_failed ? 1 : 0);
}

/* ---------------------------------------------------------------- irq */
static int irq_wait(int efd, int ms)
{
	struct timespec ts = { 0, 1000000 };
	uint64_t c;
	int i;

	for (i = 0; i < ms; i++) {
		if (read(efd, &c, 8) == 8)
			return (int)c;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void group_irq(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	int32_t efd, pipefd[2];
	uint64_t v;
	int dev = open_dev(), g, i;

	{
		int32_t e = eventfd(0, 0);
		struct dbk_irq_set m = { .argsz = sizeof(m), .flags = DBK_IRQ_SET_TRIGGER,
					 .index = DBK_IRQ_INDEX_MSI, .count = 1, .fds = (uintptr_t)&e };

		g = grant(dev, &s);
		EXPECT_ERR(EPERM, ioctl(g, DBK_GRANT_SET_IRQS, &m),
			   "MSI without an IOMMU or a DMA right (it needs bus mastering): EPERM");
		close(g);
		close(e);
	}
	s.irq_rate = 200;
	s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA;
	s.dma_quota = 4096;
	g = grant(dev, &s);
	CHECK(g >= 0, "grant with INTx, 1 MSI vector and unsafe DMA, rate cap 200/s");
	drop_privs();
	efd = eventfd(0, EFD_NONBLOCK);
	if (pipe(pipefd))
		exit(2);

	ii.index = 3;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii), "IRQ_INFO index 3: EINVAL");
	ii.index = DBK_IRQ_INDEX_MSI;
	CHECK(ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii) == 0 && ii.count == 1, "IRQ_INFO MSI: 1 vector");
	ii.index = DBK_IRQ_INDEX_MSIX;
	ii.flags = 0;
	CHECK(ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii) == 0 && ii.count == 0, "IRQ_INFO MSI-X: none (not granted)");

	is.fds = (uintptr_t)&efd;
	is.index = 5; is.count = 1;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS index 5: EINVAL");
	is.index = DBK_IRQ_INDEX_MSI; is.count = 2;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS 2 vectors of 1: EINVAL");
	is.index = DBK_IRQ_INDEX_MSIX; is.count = 1;
	EXPECT_ERR(EPERM, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS MSI-X not granted: EPERM");
	is.index = DBK_IRQ_INDEX_MSI; is.start = 1;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS start 1: EINVAL");
	is.start = 0; is.flags = DBK_IRQ_SET_TRIGGER | DBK_IRQ_SET_UNMASK;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS two actions: EINVAL");
	is.flags = DBK_IRQ_SET_TRIGGER;
	is.fds = (uintptr_t)&pipefd[0];
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS with a pipe, not an eventfd: EINVAL");
	{
		int32_t closed = 999;

		is.fds = (uintptr_t)&closed;
		EXPECT_ERR(EBADF, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS with a closed fd: EBADF");
	}
	is.fds = 8;
	EXPECT_ERR(EFAULT, ioctl(g, DBK_GRANT_SET_IRQS, &is), "SET_IRQS bad fds pointer: EFAULT");
	is.fds = (uintptr_t)&efd;
	CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &is) == 0, "SET_IRQS MSI vector 0 -> eventfd");
	wr(g, EDU_IRQ_RAISE, 4, 0x1);
	CHECK(irq_wait(efd, 2000) >= 1, "edu raise-interrupt register -> MSI -> eventfd");
	rd(g, EDU_IRQ_STATUS, 4, &v);
	wr(g, EDU_IRQ_ACK, 4, v);

	/*
	 * A storm: far past the cap.  It must be masked and counted, never a
	 * livelock.  Raise until the cap trips (at most 10 s): on a loaded host
	 * TCG runs the raising loop slowly enough to stay under 200/s.
	 */
	ii.index = DBK_IRQ_INDEX_MSI;
	{
		double t0 = now();

		for (i = 0; i < 200000 && now() - t0 < 10; i++) {
			wr(g, EDU_IRQ_RAISE, 4, 0x2);
			ii.flags = 0;
			if ((i & 63) == 63 && ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii) == 0 && ii.throttled)
				break;
		}
	}
	wr(g, EDU_IRQ_ACK, 4, 0xffffffff);
	ii.flags = 0;
	CHECK(ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii) == 0 && ii.throttled >= 1 && ii.delivered <= (__u64)i + 2,
	      "storm of %d MSIs over a 200/s cap: masked and reported (delivered %llu, throttled %llu)",
	      i, (unsigned long long)ii.delivered, (unsigned long long)ii.throttled);
	sleep(2);
	irq_wait(efd, 1);
	wr(g, EDU_IRQ_RAISE, 4, 0x1);
	CHECK(irq_wait(efd, 2000) >= 1, "after the storm second the vector is unmasked again");
	wr(g, EDU_IRQ_ACK, 4, 0xffffffff);

	/* INTx: enabling another index disables MSI first. */
	is.index = DBK_IRQ_INDEX_INTX; is.count = 1;
	CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &is) == 0, "SET_IRQS INTx -> eventfd (MSI off)");
	irq_wait(efd, 1);
	wr(g, EDU_IRQ_RAISE, 4, 0x1);
	CHECK(irq_wait(efd, 2000) >= 1, "edu interrupt over INTx -> eventfd");
	wr(g, EDU_IRQ_ACK, 4, 0x1);
	{
		struct dbk_irq_set um = { .argsz = sizeof(um), .flags = DBK_IRQ_SET_UNMASK,
					  .index = DBK_IRQ_INDEX_INTX };

		CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &um) == 0, "INTx unmask");
		wr(g, EDU_IRQ_RAISE, 4, 0x1);
		CHECK(irq_wait(efd, 2000) >= 1, "a second INTx after unmask");
		wr(g, EDU_IRQ_ACK, 4, 0x1);
		CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &um) == 0, "INTx unmask again");
		um.count = 1;
		EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_SET_IRQS, &um), "INTx unmask with count 1: EINVAL");
	}
	is.count = 0;
	CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &is) == 0, "SET_IRQS count 0 disables INTx");
	ii.index = DBK_IRQ_INDEX_INTX;
	ii.flags = 0;
	CHECK(ioctl(g, DBK_GRANT_GET_IRQ_INFO, &ii) == 0 && !(ii.flags & DBK_IRQ_INFO_F_ENABLED),
	      "IRQ_INFO: INTx disabled");

	/* Close while interrupts fire: a second thread keeps raising them. */
	is.index = DBK_IRQ_INDEX_MSI; is.count = 1;
	for (i = 0; i < 20; i++) {
		int pid = fork();

		if (pid == 0) {
			for (;;)
				if (wr(g, EDU_IRQ_RAISE, 4, 0x4))
					_exit(0);
		}
		ioctl(g, DBK_GRANT_SET_IRQS, &is);
		usleep(2000);
		is.count = (i & 1);
		ioctl(g, DBK_GRANT_SET_IRQS, &is);
		is.count = 1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECK(1, "20 enable/disable cycles while interrupts fire");
	close(g);
	exit(tap_failed ? 1 : 0);
}


/* ---------------------------------------------------------------- dma */
static int edu_dma(int g, uint64_t src, uint64_t dst, uint64_t cnt, int to_ram)
{
	uint64_t v = 1;
	int i;

	wr(g, EDU_DMA_SRC, 8, src);
	wr(g, EDU_DMA_DST, 8, dst);
	wr(g, EDU_DMA_CNT, 8, cnt);
	wr(g, EDU_DMA_CMD, 8, 1 | (to_ram ? 2 : 0));
	for (i = 0; i < 100000 && (v & 1); i++)
		rd(g, EDU_DMA_CMD, 8, &v);
	return (v & 1) ? -1 : 0;
}

static void group_dma(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_dma_alloc a = { .argsz = sizeof(a) };
	struct dbk_dma_unmap u = { .argsz = sizeof(u) };
	struct dbk_dma_map m = { .argsz = sizeof(m), .flags = DBK_DMA_MAP_F_READ };
	unsigned char *buf;
	int dev = open_dev(), g, i, ok;

	s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA;
	s.dma_quota = 16384;
	s.dma_bits = 28;	/* edu's default DMA mask */
	g = grant(dev, &s);
	CHECK(g >= 0, "grant with unsafe DMA (no IOMMU), quota 16 KiB, 28-bit");
	drop_privs();

	a.size = 0;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_ALLOC, &a), "DMA_ALLOC size 0: EINVAL");
	a.size = UINT64_MAX;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_ALLOC, &a), "DMA_ALLOC size U64_MAX: EINVAL");
	a.size = 32768;
	EXPECT_ERR(EDQUOT, ioctl(g, DBK_GRANT_DMA_ALLOC, &a), "DMA_ALLOC over the quota: EDQUOT");
	a.size = 8 << 20;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_ALLOC, &a),
		   "DMA_ALLOC of 8 MiB without an IOMMU (one contiguous block): EINVAL");
	a.size = 4096; a.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_ALLOC, &a), "DMA_ALLOC unknown flags: EINVAL");
	a.flags = 0;
	m.size = 4096; m.vaddr = 0x10000; m.iova = 0x100000;
	EXPECT_ERR(EOPNOTSUPP, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP without an IOMMU: EOPNOTSUPP");
	u.iova = 0x1000; u.size = 4096;
	EXPECT_ERR(ENOENT, ioctl(g, DBK_GRANT_DMA_UNMAP, &u), "DMA_UNMAP of nothing: ENOENT");
	u.size = 0;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_UNMAP, &u), "DMA_UNMAP size 0: EINVAL");

	a.size = 4096;
	CHECK(ioctl(g, DBK_GRANT_DMA_ALLOC, &a) == 0 && a.iova && a.iova < (1ULL << 28) &&
	      DBK_OFFSET_TO_REGION(a.offset) == DBK_REGION_DMA_FIRST,
	      "DMA_ALLOC 4 KiB: bus address 0x%llx below 2^28", (unsigned long long)a.iova);
	{
		struct dbk_dma_alloc b = { .argsz = sizeof(b), .size = 12288 };
		struct dbk_dma_alloc c = { .argsz = sizeof(c), .size = 1 };

		CHECK(ioctl(g, DBK_GRANT_DMA_ALLOC, &b) == 0, "DMA_ALLOC up to the quota");
		EXPECT_ERR(EDQUOT, ioctl(g, DBK_GRANT_DMA_ALLOC, &c), "DMA_ALLOC 1 byte past the quota: EDQUOT");
		u.iova = b.iova; u.size = 12288;
		CHECK(ioctl(g, DBK_GRANT_DMA_UNMAP, &u) == 0, "DMA_UNMAP frees quota");
	}
	errno = 0;
	CHECK(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, g, a.offset) == MAP_FAILED && errno == EINVAL,
	      "mmap past the DMA buffer: EINVAL");
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, a.offset);
	CHECK(buf != MAP_FAILED, "mmap the DMA buffer");
	if (buf == MAP_FAILED)
		exit(1);
	CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0x6) == 0, "bus mastering allowed under the unsafe-DMA flag");
	for (i = 0; i < 2048; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	memset(buf + 2048, 0, 2048);
	ok = edu_dma(g, a.iova, EDU_DMA_BASE, 2048, 0) == 0 && edu_dma(g, EDU_DMA_BASE, a.iova + 2048, 2048, 1) == 0;
	CHECK(ok && memcmp(buf, buf + 2048, 2048) == 0, "edu DMA round trip RAM -> device -> RAM is byte-exact");
	u.iova = a.iova; u.size = 4096;
	CHECK(ioctl(g, DBK_GRANT_DMA_UNMAP, &u) == 0, "DMA_UNMAP of a mapped buffer");
	{
		int pid = fork(), st;

		if (pid == 0) {
			(void)*(volatile unsigned char *)buf;
			_exit(0);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "an unmapped DMA buffer's mapping gives SIGBUS");
	}
	exit(tap_failed ? 1 : 0);
}

/* ---------------------------------------------------------------- revoke */
static void group_revoke(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_revoke rv = { .argsz = sizeof(rv) };
	int dev = open_dev(), g, sync[2], drv, child = 0, st, i;
	double t0, dt;
	uint64_t v;
	char c;

	s.flags |= DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA;
	s.dma_quota = 8192;
	s.dma_bits = 28;
	g = grant(dev, &s);
	CHECK(g >= 0, "grant for the revocation test");
	if (pipe(sync))
		exit(2);
	drv = fork();
	if (drv == 0) {
		/* The driver: mappings, an MSI vector and a DMA buffer, and a fork child. */
		struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
					  .index = DBK_IRQ_INDEX_MSI, .count = 1 };
		struct dbk_dma_alloc a = { .argsz = sizeof(a), .size = 4096 };
		volatile uint32_t *bar;
		volatile unsigned char *dma;
		int32_t efd = eventfd(0, 0);
		int kid, kst;

		close(dev);
		drop_privs();
		is.fds = (uintptr_t)&efd;
		bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
		if (bar == MAP_FAILED || ioctl(g, DBK_GRANT_SET_IRQS, &is) ||
		    ioctl(g, DBK_GRANT_DMA_ALLOC, &a))
			_exit(10);
		dma = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, a.offset);
		if (dma == MAP_FAILED || cfg_write(g, PCI_COMMAND_OFF, 2, 0x6))
			_exit(11);
		dma[0] = 1;
		if ((bar[0] & 0xff) != 0xed)
			_exit(12);
		kid = fork();
		if (kid == 0) {
			raise(SIGSTOP);
			(void)bar[0];		/* after revocation: SIGBUS */
			_exit(0);
		}
		if (write(sync[1], "r", 1) != 1)
			_exit(13);
		raise(SIGSTOP);
		/* Continued after revocation. */
		if (ioctl(g, DBK_GRANT_DMA_ALLOC, &a) == 0 || errno != ENODEV)
			_exit(20);
		if (pread(g, &v, 4, 0) >= 0 || errno != ENODEV)
			_exit(21);
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, 0) != MAP_FAILED || errno != ENODEV)
			_exit(22);
		kill(kid, SIGCONT);
		waitpid(kid, &kst, 0);
		if (!WIFSIGNALED(kst) || WTERMSIG(kst) != SIGBUS)
			_exit(23);
		(void)dma[0];		/* SIGBUS: the expected end of this process */
		_exit(24);
	}
	close(g);
	if (read(sync[0], &c, 1) != 1)
		exit(2);
	/* Wait until the driver and its child are both stopped. */
	waitpid(drv, &st, WUNTRACED);
	CHECK(WIFSTOPPED(st), "driver stopped while holding mappings, an MSI vector and DMA");
	usleep(200000);
	t0 = now();
	i = ioctl(dev, DBK_DEVICE_REVOKE, &rv);
	dt = now() - t0;
	CHECK(i == 0 && dt < 1.0, "revocation of a SIGSTOPped driver took %.3f s (< 1 s)", dt);
	EXPECT_ERR(ENOENT, ioctl(dev, DBK_DEVICE_REVOKE, &rv), "double revocation: ENOENT");
	kill(drv, SIGCONT);
	waitpid(drv, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
	      "driver saw ENODEV on ioctl/pread/mmap, its fork child and then itself got SIGBUS (status 0x%x)", st);
	(void)child;

	g = grant(dev, &s);
	CHECK(g >= 0 && rd(g, EDU_ID, 4, &v) == 0 && (v & 0xff) == 0xed, "a fresh grant works after revocation");
	CHECK((cfg_read(g, PCI_COMMAND_OFF, 2) & 0x4) == 0, "bus mastering was cleared by revocation");
	close(g);
	close(dev);
}


/* ---------------------------------------------------------------- iommu */
static void group_iommu(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_dma_alloc a = { .argsz = sizeof(a), .size = 4096 };
	struct dbk_dma_map m = { .argsz = sizeof(m), .flags = DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE };
	struct dbk_dma_unmap u = { .argsz = sizeof(u) };
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_device_info di = { .argsz = sizeof(di) };
	unsigned char *mine, *abuf;
	int dev = open_dev(), g, i;

	CHECK(ioctl(dev, DBK_DEVICE_GET_INFO, &di) == 0 && (di.flags & DBK_DEVICE_INFO_F_IOMMU),
	      "the device sits behind an IOMMU");
	{
		/* MSI without a DMA right: bus mastering, but into the grant's own empty domain. */
		struct dbk_grant_spec ms = spec_basic();
		struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
					  .index = DBK_IRQ_INDEX_MSI, .count = 1 };
		int32_t efd = eventfd(0, EFD_NONBLOCK);
		uint64_t c = 0;

		g = grant(dev, &ms);
		is.fds = (uintptr_t)&efd;
		CHECK(g >= 0 && ioctl(g, DBK_GRANT_GET_INFO, &gi) == 0 && (gi.flags & DBK_GRANT_INFO_F_IOMMU),
		      "a grant without DMA still gets its own (empty) IOMMU domain");
		EXPECT_ERR(EPERM, cfg_write(g, PCI_COMMAND_OFF, 2, 0x6),
			   "the driver itself cannot set bus mastering without a DMA right");
		CHECK(ioctl(g, DBK_GRANT_SET_IRQS, &is) == 0, "MSI without a DMA right behind an IOMMU: allowed");
		wr(g, EDU_IRQ_RAISE, 4, 1);
		for (i = 0; i < 2000 && read(efd, &c, 8) != 8; i++)
			usleep(1000);
		CHECK(c >= 1, "and its MSI arrives");
		wr(g, EDU_IRQ_ACK, 4, 1);
		close(g);
		close(efd);
		gi.flags = 0;
	}
	s.flags |= DBK_GRANT_F_DMA;		/* no unsafe flag needed */
	s.dma_quota = 3 * 4096;
	s.dma_bits = 28;
	g = grant(dev, &s);
	CHECK(g >= 0 && ioctl(g, DBK_GRANT_GET_INFO, &gi) == 0 && (gi.flags & DBK_GRANT_INFO_F_IOMMU),
	      "DMA grant without the unsafe flag: its own IOMMU domain");
	drop_privs();
	CHECK(cfg_write(g, PCI_COMMAND_OFF, 2, 0x6) == 0, "bus mastering allowed behind the IOMMU");
	if (posix_memalign((void **)&mine, 4096, 8192))
		exit(2);
	memset(mine, 0, 8192);
	m.vaddr = (uintptr_t)mine + 1;
	m.iova = 0x200000; m.size = 4096;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP unaligned vaddr: EINVAL");
	m.vaddr = (uintptr_t)mine;
	m.flags = 0;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP no direction: EINVAL");
	m.flags = DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE;
	m.iova = 1ULL << 28;
	EXPECT_ERR(EINVAL, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP beyond dma_bits: EINVAL");
	m.iova = 0x200000; m.size = 4 * 4096;
	EXPECT_ERR(EDQUOT, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP over the quota: EDQUOT");
	m.size = 4096; m.vaddr = 4096;
	EXPECT_ERR(EFAULT, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP of unmapped memory: EFAULT");
	{
		/* File pages are not the driver's to pin (and must never be dirtied by us). */
		int f = open("/etc/hostname", O_RDONLY);
		void *fp = f >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f, 0) : MAP_FAILED;
		struct dbk_dma_map fm = m;

		fm.vaddr = (uintptr_t)fp;
		fm.flags = DBK_DMA_MAP_F_READ;
		if (fp != MAP_FAILED)
			(void)*(volatile char *)fp;
		EXPECT_ERR(EINVAL, fp == MAP_FAILED ? (errno = 0, -1) : ioctl(g, DBK_GRANT_DMA_MAP, &fm),
			   "DMA_MAP of a file-backed page: EINVAL");
	}
	m.vaddr = (uintptr_t)mine;
	CHECK(ioctl(g, DBK_GRANT_DMA_MAP, &m) == 0, "DMA_MAP the driver's own page at IOVA 0x200000");
	m.vaddr = (uintptr_t)mine + 4096;
	EXPECT_ERR(EEXIST, ioctl(g, DBK_GRANT_DMA_MAP, &m), "DMA_MAP overlapping IOVA: EEXIST");
	CHECK(ioctl(g, DBK_GRANT_DMA_ALLOC, &a) == 0 && a.iova && a.iova != 0x200000,
	      "DMA_ALLOC picks a free IOVA (0x%llx)", (unsigned long long)a.iova);
	abuf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, a.offset);
	CHECK(abuf != MAP_FAILED, "mmap the allocated buffer");
	if (abuf == MAP_FAILED)
		exit(1);
	for (i = 0; i < 1024; i++)
		mine[i] = (unsigned char)(i * 13 + 5);
	CHECK(edu_dma(g, 0x200000, EDU_DMA_BASE, 1024, 0) == 0 && edu_dma(g, EDU_DMA_BASE, a.iova, 1024, 1) == 0 &&
	      memcmp(mine, abuf, 1024) == 0, "round trip driver memory -> device -> allocated buffer is byte-exact");
	/* Unmap the driver's page, then aim the device at its old IOVA. */
	memset(mine, 0x5a, 4096);
	u.iova = 0x200000; u.size = 4096;
	CHECK(ioctl(g, DBK_GRANT_DMA_UNMAP, &u) == 0, "DMA_UNMAP the driver's page");
	edu_dma(g, EDU_DMA_BASE, 0x200000, 1024, 1);
	edu_dma(g, EDU_DMA_BASE, 0x300000, 1024, 1);
	for (i = 0; i < 4096 && mine[i] == 0x5a; i++)
		;
	CHECK(i == 4096, "a DMA aimed at an unmapped IOVA does not reach memory (canary intact)");
	exit(tap_failed ? 1 : 0);
}

/* An IOMMU without interrupt remapping: mastering is not safe without consent. */
static void group_noir(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
				  .index = DBK_IRQ_INDEX_MSI, .count = 1 };
	int32_t efd = eventfd(0, EFD_NONBLOCK);
	int dev = open_dev(), g;

	is.fds = (uintptr_t)&efd;
	s.flags |= DBK_GRANT_F_DMA;
	s.dma_quota = 4096;
	s.dma_bits = 28;
	EXPECT_ERR(EPERM, grant(dev, &s), "DMA grant behind an IOMMU without interrupt remapping, "
		   "without the unsafe flag: EPERM (stray writes could forge interrupts)");
	s.flags &= ~DBK_GRANT_F_DMA;
	s.dma_quota = 0;
	s.dma_bits = 0;
	g = grant(dev, &s);
	CHECK(g >= 0, "an MSI grant without DMA there: created");
	EXPECT_ERR(EPERM, ioctl(g, DBK_GRANT_SET_IRQS, &is), "but MSI (it needs bus mastering): EPERM");
	close(g);
	s.flags |= DBK_GRANT_F_DMA;
	s.dma_quota = 4096;
	s.dma_bits = 28;
	s.flags |= DBK_GRANT_F_UNSAFE_DMA;
	g = grant(dev, &s);
	CHECK(g >= 0 && cfg_write(g, PCI_COMMAND_OFF, 2, 0x6) == 0 && ioctl(g, DBK_GRANT_SET_IRQS, &is) == 0,
	      "with the administrator's unsafe flag: bus mastering and MSI allowed");
	close(g);
	close(dev);
}

/* Config writes to capabilities no driver may write, on a PCIe device (e1000e). */
static void group_cfgdeny(void)
{
	struct dbk_grant_spec s = { .argsz = sizeof(s), .flags = DBK_GRANT_F_CONFIG_WRITE };
	int dev = open_dev(), g, pos, hops = 0, seen_pm = 0, seen_exp = 0;

	g = grant(dev, &s);
	CHECK(g >= 0, "grant with the config-write right");
	for (pos = cfg_read(g, 0x34, 1) & ~3; pos && hops < 48; pos = cfg_read(g, pos + 1, 1) & ~3, hops++) {
		int id = cfg_read(g, pos, 1);

		if (id == 0x01) {	/* PM: PMCSR would put the device in D3hot */
			seen_pm = 1;
			EXPECT_ERR(EPERM, cfg_write(g, pos + 4, 2, 3), "config write to PM control (D3hot): EPERM");
		} else if (id == 0x10) {	/* PCIe: Device Control (FLR, MPS, MRRS) */
			seen_exp = 1;
			EXPECT_ERR(EPERM, cfg_write(g, pos + 8, 2, 0x8000), "config write to PCIe Device Control: EPERM");
			/* v2 runs to 0x3c, not PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 (0x32). */
			EXPECT_ERR(EPERM, cfg_write(g, pos + 0x38, 2, 0), "config write to PCIe Slot Control 2 (0x38): EPERM");
		}
	}
	CHECK(seen_pm && seen_exp, "the device has PM and PCIe capabilities to try");
	CHECK(cfg_write(g, 0x40, 4, cfg_read(g, 0x40, 4)) == 0,
	      "a write outside any capability is allowed with the config-write right");
	close(g);
	close(dev);
}

/* A driver that holds mappings and an INTx vector until the device goes away. */
static void group_hold(void)
{
	struct dbk_grant_spec s = spec_basic();
	struct dbk_irq_set is = { .argsz = sizeof(is), .flags = DBK_IRQ_SET_TRIGGER,
				  .index = DBK_IRQ_INDEX_INTX, .count = 1 };
	int dev = open_dev(), g, i;
	int32_t efd = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	g = grant(dev, &s);
	close(dev);
	drop_privs();
	is.fds = (uintptr_t)&efd;
	if (g < 0 || ioctl(g, DBK_GRANT_SET_IRQS, &is) ||
	    mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, 0) == MAP_FAILED) {
		perror("hold setup");
		exit(1);
	}
	printf("holding\n");
	fflush(stdout);
	for (i = 0; i < 3000; i++) {
		if (rd(g, EDU_ID, 4, &v)) {
			printf("access after unplug: %s\n", strerror(errno));
			exit(errno == ENODEV ? 0 : 1);
		}
		usleep(10000);
	}
	printf("the device never went away\n");
	exit(1);
}

int main(int argc, char **argv)
{
	const char *group;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BDF GROUP\n", argv[0]);
		return 2;
	}
	bdf = argv[1];
	group = argv[2];
	snprintf(node, sizeof(node), "/dev/devbroker/%s", bdf);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(group, "device"))
		group_device();
	else if (!strcmp(group, "grant"))
		group_grant();
	else if (!strcmp(group, "mmio"))
		group_mmio();
	else if (!strcmp(group, "irq"))
		group_irq();
	else if (!strcmp(group, "dma"))
		group_dma();
	else if (!strcmp(group, "revoke-now"))
		return ioctl(open_dev(), DBK_DEVICE_REVOKE, &(struct dbk_revoke){ sizeof(struct dbk_revoke) }) ? 1 : 0;
	else if (!strcmp(group, "noir"))
		group_noir();
	else if (!strcmp(group, "cfgdeny"))
		group_cfgdeny();
	else if (!strcmp(group, "hold"))
		group_hold();
	else if (!strcmp(group, "iommu"))
		group_iommu();
	else if (!strcmp(group, "revoke"))
		group_revoke();
	else
		return 2;
	return tap_failed ? 1 : 0;
}
