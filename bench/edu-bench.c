/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-bench: time the factorial round trip through /dev/edu0 as an
 * ordinary program sees it: write "5\n", seek back (DBK_CUSE_IOC_SEEK),
 * read "120\n", seek back.  Each round trip crosses CUSE four times and
 * waits for one device interrupt in the driver (in the write).
 *   edu-bench DEV N [RAW]
 * prints "fact_rt_ns <median> <mean> <min> <p90> <max>", then the same for
 * each step alone (fact_write, fact_seek: the first seek, fact_read); with RAW, every
 * round's four step times in ns, one line per round, go to that file.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/cuse-client.h>	/* the seek ioctl: no driver SDK */

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

/* Sorts @t. */
static void report(const char *name, uint64_t *t, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("%s_ns %llu %llu %llu %llu %llu\n", name,
	       (unsigned long long)t[n / 2], (unsigned long long)(sum / (uint64_t)n),
	       (unsigned long long)t[0], (unsigned long long)t[(n * 9) / 10],
	       (unsigned long long)t[n - 1]);
}

enum { S_WRITE, S_SEEK1, S_READ, S_SEEK2, S_N };

int main(int argc, char **argv)
{
	uint64_t *t, *s[S_N], zero = 0;
	FILE *raw = NULL;
	char buf[32];
	int fd, i, k, n;

	if (argc < 3 || argc > 4 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: edu-bench DEV N [RAW]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	for (k = 0; k < S_N; k++)
		if (!(s[k] = calloc((size_t)n, sizeof(**s))))
			return 1;
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (!t || fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (argc == 4 && !(raw = fopen(argv[3], "we"))) {
		perror(argv[3]);
		return 1;
	}
	for (i = -5; i < n; i++) {	/* 5 warm-up rounds */
		uint64_t ts[S_N + 1];
		ssize_t r;

		ts[0] = now_ns();
		if (write(fd, "5\n", 2) != 2) {
			perror("write");
			return 1;
		}
		ts[1] = now_ns();
		if (ioctl(fd, DBK_CUSE_IOC_SEEK, &zero) < 0) {
			perror("seek");
			return 1;
		}
		ts[2] = now_ns();
		if ((r = read(fd, buf, sizeof(buf) - 1)) != 4 || memcmp(buf, "120\n", 4)) {
			perror("read");
			return 1;
		}
		ts[3] = now_ns();
		if (ioctl(fd, DBK_CUSE_IOC_SEEK, &zero) < 0) {
			perror("seek");
			return 1;
		}
		ts[4] = now_ns();
		if (i < 0)
			continue;
		t[i] = ts[S_N] - ts[0];
		for (k = 0; k < S_N; k++)
			s[k][i] = ts[k + 1] - ts[k];
		if (raw)
			fprintf(raw, "%llu %llu %llu %llu\n", (unsigned long long)s[0][i],
				(unsigned long long)s[1][i], (unsigned long long)s[2][i],
				(unsigned long long)s[3][i]);
	}
	if (raw)
		fclose(raw);
	report("fact_rt", t, n);
	report("fact_write", s[S_WRITE], n);
	report("fact_seek", s[S_SEEK1], n);
	report("fact_read", s[S_READ], n);
	return 0;
}
