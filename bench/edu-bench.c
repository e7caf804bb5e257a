/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-bench: time the factorial round trip through /dev/edu0 as an
 * ordinary program sees it: write "5\n", seek back (DBK_CUSE_IOC_SEEK),
 * read "120\n".  Each round trip crosses CUSE twice and waits for one
 * device interrupt in the driver.
 *   edu-bench DEV N      prints "fact_rt_ns <median> <mean> <min>"
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/libdev.h>	/* DBK_CUSE_IOC_SEEK only */

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

int main(int argc, char **argv)
{
	uint64_t *t, sum = 0, zero = 0;
	char buf[32];
	int fd, i, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: edu-bench DEV N\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (!t || fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (i = -5; i < n; i++) {	/* 5 warm-up rounds */
		uint64_t t0 = now_ns();
		ssize_t r;

		if (write(fd, "5\n", 2) != 2 || ioctl(fd, DBK_CUSE_IOC_SEEK, &zero) < 0 ||
		    (r = read(fd, buf, sizeof(buf) - 1)) != 4 || memcmp(buf, "120\n", 4)) {
			perror("round trip");
			return 1;
		}
		if (ioctl(fd, DBK_CUSE_IOC_SEEK, &zero) < 0)
			return 1;
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	for (i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("fact_rt_ns %llu %llu %llu\n", (unsigned long long)t[n / 2],
	       (unsigned long long)(sum / (uint64_t)n), (unsigned long long)t[0]);
	return 0;
}
