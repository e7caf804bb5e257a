/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * irq-bench: how long an edu interrupt takes to wake a thread blocked on
 * its eventfd (libdev, grant at fd 3, MSI), next to a plain eventfd
 * ping-pong between two threads and to one MMIO write.
 *
 *   irq-bench N    prints lines "<name>_ns <median> <mean> <min>":
 *     mmio_write   one 32-bit write to the edu liveness register
 *     msi_wake     write edu's raise register (0x60), block in
 *                  dbk_irq_wait() until the MSI's eventfd wakes us
 *     efd_wake     one-way wake of a thread blocked in poll() on an
 *                  eventfd, written by another thread (round trip / 2)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/libdev.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *t, int n, uint64_t div)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("%s_ns %llu %llu %llu\n", name, (unsigned long long)(t[n / 2] / div),
	       (unsigned long long)(sum / (uint64_t)n / div),
	       (unsigned long long)(t[0] / div));
}

static int efd_ping, efd_pong, rounds;

static void wait_efd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		abort();
}

static void *ponger(void *arg)
{
	uint64_t one = 1;
	int i;

	(void)arg;
	for (i = 0; i < rounds; i++) {
		wait_efd(efd_ping);
		if (write(efd_pong, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct dbk_dev *dev;
	uint64_t *t, one = 1;
	pthread_t th;
	uint32_t st;
	int i, n, r;

	n = argc > 1 ? atoi(argv[1]) : 500;
	if (n < 1)
		return 2;
	t = calloc((size_t)n, sizeof(*t));
	r = dbk_dev_adopt(3, &dev);
	if (!t || r < 0) {
		fprintf(stderr, "irq-bench: adopt: %s\n", strerror(-r));
		return 1;
	}
	r = dbk_dev_set_bus_master(dev, 1);
	if (r == 0)
		r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1);
	if (r < 0) {
		fprintf(stderr, "irq-bench: MSI: %s\n", strerror(-r));
		return 1;
	}
	fprintf(stderr, "# BAR0 access: %s\n",
		dbk_dev_access_is_mapped(dev, 0, 0x60, 4) == 1 ? "mmap" : "mediated");

	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		dbk_write32(dev, 0, 0x04, (uint32_t)i);
		t[i] = now_ns() - t0;
	}
	report("mmio_write", t, n, 1);

	for (i = -5; i < n; i++) {
		uint64_t t0 = now_ns();

		if (dbk_write32(dev, 0, 0x60, 0x1) < 0 || dbk_irq_wait(dev, 0, 2000) < 1) {
			fprintf(stderr, "irq-bench: no interrupt\n");
			return 1;
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
		dbk_read32(dev, 0, 0x24, &st);
		dbk_write32(dev, 0, 0x64, st);
	}
	report("msi_wake", t, n, 1);

	efd_ping = eventfd(0, EFD_CLOEXEC);
	efd_pong = eventfd(0, EFD_CLOEXEC);
	rounds = n + 5;
	if (pthread_create(&th, NULL, ponger, NULL))
		return 1;
	for (i = -5; i < n; i++) {
		uint64_t t0 = now_ns();

		if (write(efd_ping, &one, sizeof(one)) != sizeof(one))
			return 1;
		wait_efd(efd_pong);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	pthread_join(th, NULL);
	report("efd_wake", t, n, 2);

	dbk_irq_disable(dev);
	dbk_dev_free(dev);
	return 0;
}
