/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usb-key-latency: how long a key typed into QEMU's usb-kbd takes to reach
 * an evdev reader, as the guest sees it.  Runs in the guest, next to
 * tests/vm/qmp-agent on the host (vm-run --qmp SOCK --host tests/vm/qmp-agent).
 *
 *   usb-key-latency DEVICE N
 *
 * N times: press 'a', then release it; each is one QMP input-send-event
 * asked of the agent (a request file in $DBK_VM_DIR/qmp).  For each, the
 * time from just before the request was handed over (CLOCK_MONOTONIC) to
 * the evdev timestamp of KEY_A 1 (or 0) on DEVICE.  One line per event:
 *
 *   press|release <request ns> <event ns>
 *
 * (the event timestamp also on CLOCK_MONOTONIC, which is usbmon's clock
 * too: bench/usb-key-latency.sh matches the URB completions).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libevdev/libevdev.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The agent's protocol: write N.req (atomically: rename), reply in N.rep. */
static int request(const char *dir, int seq, bool down, int64_t *t0, char *rep, size_t replen)
{
	char tmp[4096], req[4096];
	FILE *f;

	snprintf(rep, replen, "%s/bench-%d-%d.rep", dir, (int)getpid(), seq);
	snprintf(req, sizeof(req), "%s/bench-%d-%d.req", dir, (int)getpid(), seq);
	snprintf(tmp, sizeof(tmp), "%s/bench-%d-%d.tmp", dir, (int)getpid(), seq);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"execute\": \"input-send-event\", \"arguments\": {\"events\": [{\"type\": \"key\","
		" \"data\": {\"down\": %s, \"key\": {\"type\": \"qcode\", \"data\": \"a\"}}}]}}\n",
		down ? "true" : "false");
	if (fclose(f))
		return -errno;
	*t0 = now_ns();
	return rename(tmp, req) ? -errno : 0;
}

/* The next KEY_A event with @value (repeats, value 2, are skipped). */
static int wait_key(struct libevdev *dev, int fd, int value, int64_t *t)
{
	int64_t end = now_ns() + 10000000000LL;

	while (now_ns() < end) {
		struct input_event ev;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = libevdev_next_event(dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);

		if (rc == -EAGAIN) {
			poll(&pfd, 1, 100);
			continue;
		}
		if (rc == LIBEVDEV_READ_STATUS_SYNC) {
			while (libevdev_next_event(dev, LIBEVDEV_READ_FLAG_SYNC, &ev) ==
			       LIBEVDEV_READ_STATUS_SYNC)
				;
			continue;
		}
		if (rc < 0)
			return rc;
		if (ev.type == EV_KEY && ev.code == KEY_A && ev.value == value) {
			*t = ev.input_event_sec * 1000000000LL + ev.input_event_usec * 1000LL;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

/* Wait for the agent's reply: one request in flight at a time. */
static int wait_reply(const char *rep)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (access(rep, F_OK) == 0)
			return 0;
		usleep(2000);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	const char *vmdir = getenv("DBK_VM_DIR");
	char dir[2048], rep[4096];
	struct libevdev *dev;
	int n, i, fd, rc, seq = 0;

	if (argc != 3 || !vmdir || (n = atoi(argv[2])) <= 0) {
		fputs("usage: usb-key-latency DEVICE N  (in a vm-run guest, with tests/vm/qmp-agent)\n",
		      stderr);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/qmp", vmdir);
	mkdir(dir, 0777);
	fd = open(argv[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || libevdev_new_from_fd(fd, &dev) < 0) {
		perror(argv[1]);
		return 1;
	}
	libevdev_set_clock_id(dev, CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		int v;

		for (v = 1; v >= 0; v--) {
			int64_t t0 = 0, t1 = 0;

			rc = request(dir, ++seq, v == 1, &t0, rep, sizeof(rep));
			if (rc == 0)
				rc = wait_key(dev, fd, v, &t1);
			if (rc == 0)
				rc = wait_reply(rep);
			if (rc < 0) {
				fprintf(stderr, "usb-key-latency: keystroke %d: %s\n", i, strerror(-rc));
				return 1;
			}
			printf("%s %" PRId64 " %" PRId64 "\n", v ? "press" : "release", t0, t1);
		}
		/* Not in step with the agent's polling. */
		usleep((unsigned int)(rand() % 20000));
	}
	libevdev_free(dev);
	close(fd);
	return 0;
}
