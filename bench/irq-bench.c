/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * irq-bench: reference numbers for the edu factorial round trip through
 * /dev/edu0 (edu-bench): the edu device driven directly with libdev (grant
 * at fd 3, MSI), and eventfd wakes between two threads or two processes,
 * on one vCPU or across two.
 *
 *   irq-bench N    prints lines "<name>_ns <median> <mean> <min> <p90> <max>":
 *     mmio_write   one 32-bit write to the edu liveness register
 *     msi_raise    write edu's raise register (0x60), then dbk_irq_wait():
 *                  the MSI arrives during the write, so the read finds the
 *                  eventfd already signalled; nobody sleeps
 *     msi_fact     the device half of a /dev/edu0 round trip, what
 *                  edu-driver does for a write: start 5! (IRQFACT),
 *                  dbk_irq_wait() for the MSI (edu computes in a QEMU
 *                  thread), acknowledge, read the result
 *     efd_wake     one-way wake of a thread blocked in poll() on an
 *                  eventfd, written by another thread (round trip / 2),
 *                  both unpinned
 *     efd_{thr,proc}_{same,cross}   the same between two threads or two
 *                  processes, pinned to one vCPU or to two.  A CUSE request
 *                  is two such wakes between two processes (client, driver).
 * With one vCPU the _cross lines are left out.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "edu-regs.h"

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
	printf("%s_ns %llu %llu %llu %llu %llu\n", name,
	       (unsigned long long)(t[n / 2] / div),
	       (unsigned long long)(sum / (uint64_t)n / div),
	       (unsigned long long)(t[0] / div),
	       (unsigned long long)(t[(n * 9) / 10] / div),
	       (unsigned long long)(t[n - 1] / div));
	fflush(stdout);
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s) < 0)
		perror("irq-bench: sched_setaffinity");
}

static int efd_ping, efd_pong, rounds, pong_cpu = -1;

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
	if (pong_cpu >= 0)
		pin(pong_cpu);
	for (i = 0; i < rounds; i++) {
		wait_efd(efd_ping);
		if (write(efd_pong, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	return NULL;
}

/*
 * One-way eventfd wake, as half a ping-pong round trip.  @proc: the ponger
 * is a child process (another address space, like a CUSE client and its
 * driver) instead of a thread.  @ping_cpu/@pong_cpu: -1 for unpinned.
 */
static int efd_bench(const char *name, uint64_t *t, int n, bool proc,
		     int ping_cpu, int pong_cpu_)
{
	cpu_set_t saved;
	uint64_t one = 1;
	pthread_t th;
	pid_t pid = -1;
	int i, st;

	sched_getaffinity(0, sizeof(saved), &saved);
	efd_ping = eventfd(0, EFD_CLOEXEC);
	efd_pong = eventfd(0, EFD_CLOEXEC);
	rounds = n + 5;
	pong_cpu = pong_cpu_;
	if (efd_ping < 0 || efd_pong < 0)
		return -1;
	if (proc) {
		pid = fork();
		if (pid == 0) {
			ponger(NULL);
			_exit(0);
		}
		if (pid < 0)
			return -1;
	} else if (pthread_create(&th, NULL, ponger, NULL)) {
		return -1;
	}
	if (ping_cpu >= 0)
		pin(ping_cpu);
	for (i = -5; i < n; i++) {
		uint64_t t0 = now_ns();

		if (write(efd_ping, &one, sizeof(one)) != sizeof(one))
			return -1;
		wait_efd(efd_pong);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	if (proc)
		waitpid(pid, &st, 0);
	else
		pthread_join(th, NULL);
	sched_setaffinity(0, sizeof(saved), &saved);
	close(efd_ping);
	close(efd_pong);
	report(name, t, n, 2);
	return 0;
}

int main(int argc, char **argv)
{
	struct dbk_dev *dev;
	uint64_t *t;
	uint32_t st, v;
	int i, n, r, cpu0 = -1, cpu1 = -1;
	cpu_set_t cs;

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

		if (dbk_write32(dev, 0, EDU_IRQ_RAISE, 0x1) < 0 ||
		    dbk_irq_wait(dev, 0, 2000) < 1) {
			fprintf(stderr, "irq-bench: no interrupt\n");
			return 1;
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
		dbk_read32(dev, 0, EDU_IRQ_STATUS, &st);
		dbk_write32(dev, 0, EDU_IRQ_ACK, st);
	}
	report("msi_raise", t, n, 1);

	for (i = -5; i < n; i++) {
		uint64_t t0 = now_ns();

		v = 0;
		if (dbk_write32(dev, 0, EDU_STATUS, EDU_STATUS_IRQFACT) < 0 ||
		    dbk_write32(dev, 0, EDU_FACT, 5) < 0 ||
		    dbk_irq_wait(dev, 0, 2000) < 1 ||
		    dbk_read32(dev, 0, EDU_IRQ_STATUS, &st) < 0 ||
		    dbk_write32(dev, 0, EDU_IRQ_ACK, st) < 0 ||
		    dbk_read32(dev, 0, EDU_FACT, &v) < 0 || v != 120) {
			fprintf(stderr, "irq-bench: factorial failed (%u)\n", v);
			return 1;
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	report("msi_fact", t, n, 1);
	dbk_irq_disable(dev);
	dbk_dev_free(dev);

	/* The first two CPUs we may run on. */
	sched_getaffinity(0, sizeof(cs), &cs);
	for (i = 0; i < CPU_SETSIZE && cpu1 < 0; i++)
		if (CPU_ISSET(i, &cs)) {
			if (cpu0 < 0)
				cpu0 = i;
			else
				cpu1 = i;
		}
	if (efd_bench("efd_wake", t, n, false, -1, -1) < 0 ||
	    efd_bench("efd_thr_same", t, n, false, cpu0, cpu0) < 0 ||
	    efd_bench("efd_proc_same", t, n, true, cpu0, cpu0) < 0)
		return 1;
	if (cpu1 >= 0 &&
	    (efd_bench("efd_thr_cross", t, n, false, cpu0, cpu1) < 0 ||
	     efd_bench("efd_proc_cross", t, n, true, cpu0, cpu1) < 0))
		return 1;
	return 0;
}
