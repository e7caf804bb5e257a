/*
 * Helpers for the VM tests that drive devbroker.ko's UAPI directly: TAP
 * points, the device node, grants, the unprivileged driver side, BAR and
 * config accesses and edu's registers (QEMU hw/misc/edu.c).  Header-only,
 * for one test program each.
 */
#ifndef DBK_TEST_H
#define DBK_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>

#include "edu-regs.h"

#define CFG_COMMAND	0x04
#define CFG_STATUS	0x06
#define CMD_IO		0x1
#define CMD_MEMORY	0x2
#define CMD_MASTER	0x4
#define CMD_INTX_DISABLE 0x400

static int fails __attribute__((unused));

static inline void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok - ", ok ? "" : "not ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		fails++;
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline const char *err_name(int e)
{
	static const char *const names[] = {
		[0] = "ok", [EPERM] = "EPERM", [ENOENT] = "ENOENT", [EINTR] = "EINTR", [EIO] = "EIO",
		[E2BIG] = "E2BIG", [EBADF] = "EBADF", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
		[EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
		[ENODEV] = "ENODEV", [EINVAL] = "EINVAL", [ENOSPC] = "ENOSPC", [ENOTTY] = "ENOTTY",
		[EOPNOTSUPP] = "EOPNOTSUPP", [ETIMEDOUT] = "ETIMEDOUT", [EDQUOT] = "EDQUOT",
	};
	static char buf[2][24];
	static int n;

	if (e >= 0 && e < (int)(sizeof(names) / sizeof(names[0])) && names[e])
		return names[e];
	snprintf(buf[n ^= 1], sizeof(buf[0]), "errno %d", e);
	return buf[n];
}

/* A result (0 or an errno) against its expectation, as a TAP point. */
#define EXPECT(got, want, fmt, ...) do {					\
	int g_ = (got), w_ = (want);						\
	tap(g_ == w_, fmt ": %s%s%s", ##__VA_ARGS__, err_name(w_),		\
	    g_ == w_ ? "" : ", got ", g_ == w_ ? "" : err_name(g_));		\
} while (0)

/* 0, or the errno of a call that returned -1. */
#define ERR(call) ((call) == -1 ? errno : 0)

static inline void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int open_node(const char *bdf)
{
	char node[128];
	int fd;

	snprintf(node, sizeof(node), "/dev/devbroker/%s", bdf);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(node);
		exit(2);
	}
	return fd;
}

/* A grant fd, or -errno. */
static inline int mkgrant(const char *bdf, struct dbk_grant_spec *s)
{
	int dev = open_node(bdf), g = ioctl(dev, DBK_DEVICE_CREATE_GRANT, s);
	int e = errno;

	close(dev);
	return g < 0 ? -e : g;
}

static inline int dev_revoke(const char *bdf)
{
	struct dbk_revoke rv = { .argsz = sizeof(rv) };
	int dev = open_node(bdf), r = ERR(ioctl(dev, DBK_DEVICE_REVOKE, &rv));

	close(dev);
	return r;
}

static inline void drop_privs(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("drop privileges");
		exit(2);
	}
}

/* Start @fn as the unprivileged driver (a child); as_driver_wait() collects its points. */
static inline pid_t as_driver_start(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		exit(2);
	if (pid == 0) {
		drop_privs();
		fails = 0;
		fn(arg);
		fflush(stdout);
		_exit(fails > 100 ? 100 : fails);
	}
	return pid;
}

static inline void as_driver_wait(pid_t pid)
{
	int status;

	waitpid(pid, &status, 0);
	if (!WIFEXITED(status))
		tap(0, "the driver process died (status 0x%x)", status);
	else
		fails += WEXITSTATUS(status);
}

static inline void as_driver(void (*fn)(void *), void *arg)
{
	as_driver_wait(as_driver_start(fn, arg));
}

/* One access to region @region: 0 or the errno. */
static inline int region_rw(int g, int region, int write, int width, __u64 off, __u64 *val)
{
	__u64 v = val && write ? *val : 0;
	ssize_t r;

	errno = 0;
	r = write ? pwrite(g, &v, width, DBK_REGION_OFFSET(region) + off)
		  : pread(g, &v, width, DBK_REGION_OFFSET(region) + off);
	if (r == width && val && !write)
		*val = v;
	return r == width ? 0 : errno ? errno : EIO;
}

static inline int wr(int g, int width, __u64 off, __u64 val)
{
	return region_rw(g, 0, 1, width, off, &val);
}

static inline __u64 rd(int g, int width, __u64 off)
{
	__u64 v = ~0ULL;

	region_rw(g, 0, 0, width, off, &v);
	return v;
}

static inline int cfg_wr(int g, int width, uint32_t off, uint32_t val)
{
	__u64 v = val;

	return region_rw(g, DBK_REGION_CONFIG, 1, width, off, &v);
}

static inline uint32_t cfg_rd(int g, int width, uint32_t off)
{
	__u64 v = 0xdeadbeef;

	region_rw(g, DBK_REGION_CONFIG, 0, width, off, &v);
	return (uint32_t)v;
}

/* The position of standard capability @id in the grant's config space, or 0. */
static inline unsigned int cfg_find_cap(int g, unsigned int id)
{
	unsigned int pos = cfg_rd(g, 1, 0x34) & ~3U, hops;

	for (hops = 0; pos && hops < 48; hops++, pos = cfg_rd(g, 1, pos + 1) & ~3U)
		if (cfg_rd(g, 1, pos) == id)
			return pos;
	return 0;
}

/* The device's real config space, as root through sysfs. */
static inline uint32_t sysfs_cfg_rd(const char *bdf, int width, unsigned int off)
{
	char path[128];
	uint32_t v = 0;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, &v, width, off) != width)
		v = 0xdeadbeef;
	if (fd >= 0)
		close(fd);
	return v;
}

struct dmabuf {
	uint64_t iova;
	uint64_t offset;
	unsigned char *p;
};

static inline int dma_alloc(int g, uint64_t size, struct dmabuf *b)
{
	struct dbk_dma_alloc a = { .argsz = sizeof(a), .size = size };

	memset(b, 0, sizeof(*b));
	if (ioctl(g, DBK_GRANT_DMA_ALLOC, &a))
		return errno;
	b->iova = a.iova;
	b->offset = a.offset;
	b->p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g, a.offset);
	return b->p == MAP_FAILED ? errno : 0;
}

static inline int dma_unmap(int g, uint64_t iova, uint64_t size)
{
	struct dbk_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	return ERR(ioctl(g, DBK_GRANT_DMA_UNMAP, &u));
}

/* Wait for edu's DMA engine to finish (command bit 0 clear): 0, or -1 after 2 s. */
static inline int edu_dma_wait(int g)
{
	int i;

	for (i = 0; i < 400; i++) {
		if (!(rd(g, 8, EDU_DMA_CMD) & EDU_DMA_START))
			return 0;
		msleep(5);
	}
	return -1;
}

/* Program one edu transfer and start it, without waiting: 0 or the errno. */
static inline int edu_dma_start(int g, uint64_t src, uint64_t dst, uint64_t cnt, int to_ram)
{
	int r;

	if ((r = wr(g, 8, EDU_DMA_SRC, src)) || (r = wr(g, 8, EDU_DMA_DST, dst)) ||
	    (r = wr(g, 8, EDU_DMA_CNT, cnt)))
		return r;
	return wr(g, 8, EDU_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
}

static inline int edu_dma(int g, uint64_t src, uint64_t dst, uint64_t cnt, int to_ram)
{
	int r = edu_dma_start(g, src, dst, cnt, to_ram);

	return r ? r : edu_dma_wait(g) ? ETIMEDOUT : 0;
}

/*
 * The kernel log from the last kmsg_mark() on: does it hold @what?  Marks
 * are written through /dev/kmsg (root).
 */
static unsigned int kmsg_marks __attribute__((unused));

static inline void kmsg_mark(void)
{
	char m[64];
	int fd = open("/dev/kmsg", O_WRONLY);
	int n = snprintf(m, sizeof(m), "dbk-test: mark %u\n", ++kmsg_marks);

	if (fd < 0 || write(fd, m, n) != n)
		perror("/dev/kmsg");
	if (fd >= 0)
		close(fd);
}

static inline int kmsg_since_mark(const char *what)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n, found = 0;
	char *buf, m[64], *from;

	if (size <= 0 || !(buf = calloc(1, size + 1)))
		return -1;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	snprintf(m, sizeof(m), "dbk-test: mark %u\n", kmsg_marks);
	if (n > 0) {
		from = buf;
		for (char *p = strstr(buf, m); p; p = strstr(p + 1, m))
			from = p;
		found = strstr(from, what) != NULL;
	}
	free(buf);
	return found;
}

#endif /* DBK_TEST_H */
