/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evdev-read: the VM tests' evdev client, on libevdev.
 *
 *   evdev-read --find NAME
 *       print the /dev/input/eventN whose device name is NAME (exit 1: none)
 *   evdev-read [--count N] [--until TYPE:CODE:VALUE] [--timeout-ms MS]
 *              [--ready FILE] [--syn] DEVICE
 *       print the events DEVICE delivers, one a line,
 *           <CLOCK_MONOTONIC seconds.microseconds> <TYPE> <CODE> <VALUE>
 *       e.g. "123.456789 EV_KEY KEY_A 1" (EV_SYN only with --syn), until N
 *       events were printed, or the --until event came, or MS ms passed.
 *       FILE is created once the device is open: events after that are
 *       seen.  Exit 0, or 1 if the timeout ended it before N/--until.
 *   evdev-read --led LED_CAPSL=1 DEVICE
 *       write EV_LED + SYN_REPORT to DEVICE (what a console does to set a
 *       keyboard LED), then exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libevdev/libevdev.h>

static void usage(FILE *f)
{
	fputs("usage: evdev-read --find NAME\n"
	      "       evdev-read [--count N] [--until TYPE:CODE:VALUE] [--timeout-ms MS]\n"
	      "                  [--ready FILE] [--syn] DEVICE\n"
	      "       evdev-read --led LED_NAME=VALUE DEVICE\n", f);
}

static int find(const char *name)
{
	struct dirent **list;
	int n, i, found = 0;

	n = scandir("/dev/input", &list, NULL, versionsort);
	if (n < 0) {
		perror("/dev/input");
		return 2;
	}
	for (i = 0; i < n; i++) {
		char path[300];
		struct libevdev *dev;
		int fd;

		if (!found && strncmp(list[i]->d_name, "event", 5) == 0) {
			snprintf(path, sizeof(path), "/dev/input/%s", list[i]->d_name);
			fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0 && libevdev_new_from_fd(fd, &dev) == 0) {
				if (strcmp(libevdev_get_name(dev), name) == 0) {
					printf("%s\n", path);
					found = 1;
				}
				libevdev_free(dev);
			}
			if (fd >= 0)
				close(fd);
		}
		free(list[i]);
	}
	free(list);
	return found ? 0 : 1;
}

/* "EV_KEY:KEY_A:1" (names or numbers) -> type, code, value. */
static int parse_event(const char *s, int *type, int *code, int *value)
{
	char buf[128], *c, *v, *end;

	snprintf(buf, sizeof(buf), "%s", s);
	c = strchr(buf, ':');
	v = c ? strchr(c + 1, ':') : NULL;
	if (!v)
		return -1;
	*c++ = '\0';
	*v++ = '\0';
	*type = libevdev_event_type_from_name(buf);
	if (*type < 0)
		*type = (int)strtol(buf, NULL, 0);
	*code = libevdev_event_code_from_name(*type, c);
	if (*code < 0)
		*code = (int)strtol(c, NULL, 0);
	*value = (int)strtol(v, &end, 0);
	return *end ? -1 : 0;
}

static int set_led(const char *spec, const char *path)
{
	struct input_event ev[2];
	char name[64], *eq;
	int fd, code;

	snprintf(name, sizeof(name), "%s", spec);
	eq = strchr(name, '=');
	if (!eq)
		return 2;
	*eq = '\0';
	code = libevdev_event_code_from_name(EV_LED, name);
	if (code < 0) {
		fprintf(stderr, "evdev-read: unknown LED %s\n", name);
		return 2;
	}
	memset(ev, 0, sizeof(ev));
	ev[0].type = EV_LED;
	ev[0].code = (unsigned short)code;
	ev[0].value = atoi(eq + 1);
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, ev, sizeof(ev)) != (ssize_t)sizeof(ev)) {
		perror(path);
		return 1;
	}
	close(fd);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "find", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "until", required_argument, NULL, 'u' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "ready", required_argument, NULL, 'r' },
		{ "syn", no_argument, NULL, 's' },
		{ "led", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ready = NULL, *led = NULL;
	int count = -1, timeout_ms = -1, printed = 0, c, fd, rc;
	int ut = -1, uc = -1, uv = 0;
	bool syn = false, done = false;
	struct libevdev *dev;
	long long end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': return find(optarg);
		case 'n': count = atoi(optarg); break;
		case 'u':
			if (parse_event(optarg, &ut, &uc, &uv) < 0) {
				fprintf(stderr, "evdev-read: bad event '%s'\n", optarg);
				return 2;
			}
			break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'r': ready = optarg; break;
		case 's': syn = true; break;
		case 'l': led = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (led)
		return set_led(led, argv[optind]);

	fd = open(argv[optind], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[optind]);
		return 2;
	}
	rc = libevdev_new_from_fd(fd, &dev);
	if (rc < 0) {
		fprintf(stderr, "evdev-read: %s: %s\n", argv[optind], strerror(-rc));
		return 2;
	}
	/* The same clock as the tests' own timestamps (and usbmon's). */
	libevdev_set_clock_id(dev, CLOCK_MONOTONIC);
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (rfd >= 0)
			close(rfd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	while (!done) {
		struct input_event ev;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait = -1;

		if (end >= 0) {
			wait = (int)(end - now_ms());
			if (wait <= 0)
				break;
		}
		rc = libevdev_next_event(dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
		if (rc == -EAGAIN) {
			if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
				break;
			continue;
		}
		if (rc == LIBEVDEV_READ_STATUS_SYNC) {
			/* The reader fell behind (SYN_DROPPED): say so, resync. */
			printf("# SYN_DROPPED\n");
			while (libevdev_next_event(dev, LIBEVDEV_READ_FLAG_SYNC, &ev) ==
			       LIBEVDEV_READ_STATUS_SYNC)
				;
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "evdev-read: %s\n", strerror(-rc));
			break;
		}
		if (ev.type == EV_SYN && !syn)
			continue;
		printf("%ld.%06ld %s %s %d\n", (long)ev.input_event_sec,
		       (long)ev.input_event_usec, libevdev_event_type_get_name(ev.type),
		       libevdev_event_code_get_name(ev.type, ev.code) ?: "?", ev.value);
		printed++;
		if ((count >= 0 && printed >= count) ||
		    (ev.type == ut && ev.code == uc && ev.value == uv))
			done = true;
	}
	libevdev_free(dev);
	close(fd);
	if (done || (count < 0 && ut < 0))
		return 0;
	return 1;
}
