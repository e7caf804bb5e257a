/*
 * policy-bench: the cost of a mediated register read (one pread on a grant
 * fd, through the module's access hook) against a null syscall (getppid).
 * Run as root in the VM on an edu device bound to devbroker; it creates
 * the grant, then drops privileges like a driver.
 * usage: policy-bench BDF LABEL   -> "LABEL ns_per_read ns_per_getppid"
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>

#define N 20000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct dbk_range all = { .bar = 0, .offset = 0, .size = 0x100000 };
	struct dbk_grant_spec s = { .argsz = sizeof(s), .bar_mask = 1, .nr_mediated = 1,
				    .mediated = (uintptr_t)&all };
	char node[64];
	double t0, best_read = 1e18, best_null = 1e18, t;
	uint32_t v;
	int dev, g, i, round;

	if (argc != 3)
		return 2;
	snprintf(node, sizeof(node), "/dev/devbroker/%s", argv[1]);
	dev = open(node, O_RDWR);
	g = dev < 0 ? -1 : ioctl(dev, DBK_DEVICE_CREATE_GRANT, &s);
	if (g < 0) {
		perror("grant");
		return 1;
	}
	/* Best of 5 rounds of each, interleaved: TCG timing is noisy. */
	for (round = 0; round < 5; round++) {
		t0 = now_ns();
		for (i = 0; i < N; i++)
			if (pread(g, &v, 4, 0) != 4)
				return 1;
		t = (now_ns() - t0) / N;
		best_read = t < best_read ? t : best_read;
		t0 = now_ns();
		for (i = 0; i < N; i++)
			getppid();
		t = (now_ns() - t0) / N;
		best_null = t < best_null ? t : best_null;
	}
	printf("%s %.0f %.0f\n", argv[2], best_read, best_null);
	return 0;
}
