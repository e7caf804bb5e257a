// SPDX-License-Identifier: GPL-2.0-only
/*
 * frontend-bench: the client side of bench/frontend-bench.sh, the same
 * loop on a libdev frontend and on its kernel-native equivalent.
 *
 *   frontend-bench read PATH SECONDS SIZE SPAN direct|buffered|cdev
 *       for SECONDS, preads of SIZE bytes at random SIZE-aligned offsets
 *       below SPAN (SPAN 0: always offset 0), O_DIRECT or not, one at a
 *       time (depth 1); cdev: read(2)s of up to SIZE bytes (a character
 *       device: no offsets; any count, end of file too, is a success)
 *   frontend-bench evdev NODE SECONDS
 *       for SECONDS, the events read from evdev NODE (tests/helpers/
 *       dbk-fe-driver input): each SYN_REPORT's latency from its frame's
 *       MSC_SCAN value (the sender's CLOCK_MONOTONIC, microseconds mod
 *       2^31) to this process's read returning (the first frame is left
 *       out if the open fell in its middle)
 *
 * Prints one JSON object: n, p50_us, p90_us, p99_us, mean_us, min_us,
 * max_us, ops_per_s (n over the loop's wall time), proc_cpu_us_per_op
 * (this process's own CPU time per operation), errors (failed reads), for
 * evdev dropped (how often evdev dropped events, SYN_DROPPED, plus the
 * partial frames around those drops: a lower bound on the frames lost,
 * each drop losing up to a buffer's worth; the reader ran too late; not
 * counted in n); and, for the
 * guest's CPU time over the loop alone (bench/bench-lib.sh's bench_cpu_ms,
 * without this process's start), loop_ms, idle0 and idle1 (/proc/stat's
 * idle + iowait ticks, all CPUs, at the loop's ends).  Exit 0 unless the
 * loop could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 4000000L

static double now_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* /proc/stat's idle + iowait ticks, all CPUs (bench-lib.sh's bench_cpu). */
static long long idle_ticks(void)
{
	long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return -1;
	if (fscanf(f, "cpu %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
		v[3] = v[4] = -1;
	fclose(f);
	return v[3] + v[4];
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of the sorted V[N]: the ceil(P * N)-th value. */
static double pct(const double *v, long n, double p)
{
	double r = p * n;
	long i = (long)r;

	if ((double)i < r)	/* ceil, without libm */
		i++;
	i--;

	return v[i < 0 ? 0 : i < n ? i : n - 1];
}

static void report(double *lat, long n, double wall_us, double cpu_us, long errors,
		   long long idle0, long long idle1, long dropped)
{
	double sum = 0;
	long i;

	if (n == 0) {
		printf("{\"n\": 0, \"errors\": %ld}\n", errors);
		return;
	}
	for (i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("{\"n\": %ld, \"p50_us\": %.3f, \"p90_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f, "
	       "\"min_us\": %.3f, \"max_us\": %.3f, \"ops_per_s\": %.1f, \"proc_cpu_us_per_op\": %.3f, "
	       "\"errors\": %ld, \"loop_ms\": %.0f, \"idle0\": %lld, \"idle1\": %lld",
	       n, pct(lat, n, 0.5), pct(lat, n, 0.9), pct(lat, n, 0.99), sum / n, lat[0], lat[n - 1],
	       n * 1e6 / wall_us, cpu_us / n, errors, wall_us / 1000, idle0, idle1);
	if (dropped >= 0)	/* evdev: drops (SYN_DROPPED) and the partial frames, not in n */
		printf(", \"dropped\": %ld", dropped);
	printf("}\n");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int do_read(char **argv)
{
	long secs = atol(argv[3]), n = 0, errors = 0;
	size_t size = (size_t)atol(argv[4]);
	uint64_t span = strtoull(argv[5], NULL, 0), seed = 0x9e3779b97f4a7c15ull, slots;
	int direct = !strcmp(argv[6], "direct"), cdev = !strcmp(argv[6], "cdev"), fd;
	double *lat, t0, t1, w0, c0, end;
	long long i0;
	ssize_t r;
	void *buf;

	if (secs < 1 || size < 1 || (span && span < size))
		return 2;
	fd = open(argv[2], O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0) {
		fprintf(stderr, "frontend-bench: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	lat = calloc((size_t)MAX_SAMPLES, sizeof(*lat));
	if (!lat || posix_memalign(&buf, 4096, size))
		return 1;
	memset(buf, 0, size);
	slots = span ? span / size : 1;
	/* One read first: the open's and the first touch's costs are not the loop's. */
	if ((cdev ? read(fd, buf, size) : pread(fd, buf, size, 0)) < 0) {
		fprintf(stderr, "frontend-bench: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	i0 = idle_ticks();
	w0 = t1 = now_us(CLOCK_MONOTONIC);
	c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	end = w0 + secs * 1e6;
	while (t1 < end && n < MAX_SAMPLES) {
		off_t off = (off_t)((rnd(&seed) % slots) * size);

		t0 = now_us(CLOCK_MONOTONIC);
		r = cdev ? read(fd, buf, size) : pread(fd, buf, size, off);
		t1 = now_us(CLOCK_MONOTONIC);
		if (r < 0 || (!cdev && r != (ssize_t)size))
			errors++;
		lat[n++] = t1 - t0;
	}
	report(lat, n, t1 - w0, now_us(CLOCK_PROCESS_CPUTIME_ID) - c0, errors, i0, idle_ticks(), -1);
	close(fd);
	return 0;
}

static int do_evdev(char **argv)
{
	long secs = atol(argv[3]), got = 0, errors = 0, dropped = 0;
	struct input_event ev[16];
	double *lat, w0, c0, t, end;
	struct pollfd pfd;
	long scan = -1;
	long long i0;
	int fd, i, started = 0;
	ssize_t r;

	if (secs < 1)
		return 2;
	fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "frontend-bench: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	lat = calloc((size_t)MAX_SAMPLES, sizeof(*lat));
	if (!lat)
		return 1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	i0 = idle_ticks();
	w0 = t = now_us(CLOCK_MONOTONIC);
	c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	end = w0 + secs * 1e6;
	while (t < end && got < MAX_SAMPLES) {
		if (poll(&pfd, 1, (int)((end - t) / 1000) + 1) < 0 && errno != EINTR)
			break;
		r = read(fd, ev, sizeof(ev));
		t = now_us(CLOCK_MONOTONIC);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "frontend-bench: read %s: %s\n", argv[2], strerror(errno));
			break;
		}
		for (i = 0; i < (int)(r / (ssize_t)sizeof(ev[0])) && got < MAX_SAMPLES; i++) {
			if (ev[i].type == EV_MSC && ev[i].code == MSC_SCAN) {
				scan = ev[i].value;
			} else if (ev[i].type == EV_SYN && ev[i].code == SYN_REPORT) {
				if (scan < 0) {
					/* A frame without its time: the open fell in
					 * the middle of the first one, or after a drop. */
					if (started)
						dropped++;
					continue;
				}
				started = 1;
				lat[got++] = (double)(((long long)t - scan) & 0x7fffffff);
				scan = -1;
			} else if (ev[i].type == EV_SYN && ev[i].code == SYN_DROPPED) {
				/* The reader fell behind evdev's buffer (64 events):
				 * this process was not run in time, not a lost emit. */
				dropped++;
				scan = -1;
			}
		}
	}
	report(lat, got, t - w0, now_us(CLOCK_PROCESS_CPUTIME_ID) - c0, errors, i0, idle_ticks(),
	       dropped);
	close(fd);
	return got ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "read"))
		return do_read(argv);
	if (argc == 4 && !strcmp(argv[1], "evdev"))
		return do_evdev(argv);
	fprintf(stderr, "usage: frontend-bench read PATH SECONDS SIZE SPAN direct|buffered|cdev\n"
		"       frontend-bench evdev NODE SECONDS\n");
	return 2;
}
