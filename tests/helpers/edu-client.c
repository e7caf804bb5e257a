/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-client: an ordinary, unprivileged program using /dev/edu0 (served by
 * drivers/edu).  It needs nothing but open/read/write/ioctl: the one
 * devbroker-specific thing it knows is the position ioctl of libdev's CUSE
 * frontend (the kernel's CUSE drops pread/pwrite offsets).
 *
 *   edu-client fact DEV N          print N! as computed by the device
 *   edu-client dma DEV IN OUT      write IN (<= 4096 bytes) into the device
 *                                  buffer at 0x40000, read as many bytes
 *                                  back into OUT
 *   edu-client seekread DEV POS LEN   read LEN bytes at POS to stdout
 *   edu-client load DEV IN         fact 10 and dma IN, over and over, until
 *                                  SIGTERM, then print the rounds done and
 *                                  failed: a campaign's load without an
 *                                  exec per operation (a round is a fork,
 *                                  which also contains its errors)
 * Exit status: 0 on success, 1 on any error (with a message).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/cuse-client.h>	/* the seek ioctl: no driver SDK */

#include "edu-regs.h"

static int fail(const char *what)
{
	fprintf(stderr, "edu-client: %s: %s\n", what, strerror(errno));
	return 1;
}

static int seek_to(int fd, uint64_t pos)
{
	return ioctl(fd, DBK_CUSE_IOC_SEEK, &pos);
}

static int cmd_fact(const char *dev, const char *n)
{
	char text[32], out[64];
	ssize_t r;
	int fd;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(dev);
	snprintf(text, sizeof(text), "%s\n", n);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return fail("write");
	if (seek_to(fd, 0) < 0)
		return fail("DBK_CUSE_IOC_SEEK");
	r = read(fd, out, sizeof(out) - 1);
	if (r < 0)
		return fail("read");
	out[r] = '\0';
	fputs(out, stdout);
	close(fd);
	return 0;
}

static int cmd_dma(const char *dev, const char *in, const char *outp)
{
	char buf[4096], back[4096];
	ssize_t n, r;
	int fd, f;

	f = open(in, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return fail(in);
	n = read(f, buf, sizeof(buf));
	if (n <= 0)
		return fail("reading the input");
	close(f);

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(dev);
	if (seek_to(fd, EDU_DMA_BASE) < 0)
		return fail("DBK_CUSE_IOC_SEEK");
	r = write(fd, buf, (size_t)n);
	if (r != n) {
		if (r >= 0)
			errno = EIO;
		return fail("DMA write");
	}
	if (seek_to(fd, EDU_DMA_BASE) < 0)
		return fail("DBK_CUSE_IOC_SEEK");
	r = read(fd, back, (size_t)n);
	if (r != n) {
		if (r >= 0)
			errno = EIO;
		return fail("DMA read");
	}
	close(fd);
	f = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0)
		return fail(outp);
	if (write(f, back, (size_t)r) != r)
		return fail("writing the output");
	close(f);
	return 0;
}

static int cmd_seekread(const char *dev, const char *pos, const char *len)
{
	size_t n = strtoul(len, NULL, 0);
	char *buf = malloc(n ? n : 1);
	ssize_t r;
	int fd;

	if (!buf)
		return fail("malloc");
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(dev);
	if (seek_to(fd, strtoull(pos, NULL, 0)) < 0)
		return fail("DBK_CUSE_IOC_SEEK");
	r = read(fd, buf, n);
	if (r < 0)
		return fail("read");
	if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
		return fail("stdout");
	free(buf);
	close(fd);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_load(const char *dev, const char *in)
{
	const struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	unsigned long rounds = 0, failed = 0;
	int status;
	pid_t pid;

	signal(SIGTERM, on_term);
	while (!stop) {
		pid = fork();
		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(cmd_fact(dev, "10") || cmd_dma(dev, in, "/dev/null"));
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return fail("waitpid");
		rounds++;
		/* The driver is down (restarting): do not spin on open(). */
		if (status != 0) {
			failed++;
			nanosleep(&pause, NULL);
		}
	}
	printf("%lu rounds, %lu failed\n", rounds, failed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fact"))
		return cmd_fact(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "dma"))
		return cmd_dma(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "seekread"))
		return cmd_seekread(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "load"))
		return cmd_load(argv[2], argv[3]);
	fprintf(stderr, "usage: edu-client fact DEV N | dma DEV IN OUT | seekread DEV POS LEN | load DEV IN\n");
	return 2;
}
