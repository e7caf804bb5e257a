// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dbk-fe-driver: a test driver for the frontend benchmark
 * (bench/frontend-bench.sh), started by devbrokerd on any device (it never
 * touches the device), serving one of libdev's frontends on what the
 * hand-over carries:
 *
 *   dbk-fe-driver fuse FILE   FILE's bytes as the FUSE file "disk" in the
 *                             mount devbrokerd made (FUSEMount=), through
 *                             dbk_fuse_file_*: pread/pwrite on FILE
 *   dbk-fe-driver cuse NAME   the character device /dev/NAME (CUSE=),
 *                             through dbk_cuse_*, whose reads answer end of
 *                             file at once: a bare round trip
 *   dbk-fe-driver input HZ    an input device (UInput=yes) that emits,
 *                             HZ times a second, a key press or release
 *                             through dbk_input_emit()/dbk_input_sync(),
 *                             its MSC_SCAN value the CLOCK_MONOTONIC time
 *                             in microseconds (mod 2^31) taken just
 *                             before the first emit: a reader
 *                             (frontend-bench evdev) gets each event's
 *                             emit-to-read latency from it
 *
 * SIGTERM stops it; exit 0.  Messages on stderr (devbrokerd's log).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libevdev/libevdev.h>

#include <devbroker/frontend.h>
#include <devbroker/handover.h>

static struct dbk_fuse_file *volatile the_file;
static struct dbk_cuse *volatile the_cuse;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	int saved = errno;

	(void)sig;
	stop = 1;
	if (the_file)
		dbk_fuse_file_stop(the_file);	/* async-signal-safe */
	if (the_cuse)
		dbk_cuse_stop(the_cuse);
	errno = saved;
}

static ssize_t f_read(void *data, void *buf, size_t size, uint64_t off)
{
	ssize_t n = pread(*(int *)data, buf, size, (off_t)off);

	return n < 0 ? -errno : n;
}

static ssize_t f_write(void *data, const void *buf, size_t size, uint64_t off)
{
	ssize_t n = pwrite(*(int *)data, buf, size, (off_t)off);

	return n < 0 ? -errno : n;
}

static int serve_fuse(struct dbk_handover *h, const char *path)
{
	static const struct dbk_fuse_file_ops ops = { .read = f_read, .write = f_write };
	struct dbk_fuse_file *file;
	struct stat st;
	int fd, ffd, r;

	ffd = dbk_handover_take_fd(h, DBK_HANDOVER_FUSE);
	if (ffd < 0) {
		fprintf(stderr, "dbk-fe-driver: no FUSE fd handed over (FUSEMount=): %s\n",
			strerror(-ffd));
		return 1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "dbk-fe-driver: %s: %s\n", path, strerror(errno));
		return 1;
	}
	r = dbk_fuse_file_new(ffd, "disk", (uint64_t)st.st_size, 0600, &ops, &fd, &file);
	if (r < 0) {
		fprintf(stderr, "dbk-fe-driver: dbk_fuse_file_new: %s\n", strerror(-r));
		return 1;
	}
	the_file = file;
	if (stop)	/* SIGTERM before the handler could see the file */
		dbk_fuse_file_stop(file);
	fprintf(stderr, "dbk-fe-driver: serving %s/disk (%lld bytes)\n",
		dbk_handover_fuse_mount(h), (long long)st.st_size);
	r = dbk_fuse_file_run(file);
	the_file = NULL;
	fprintf(stderr, "dbk-fe-driver: dbk_fuse_file_run: %s\n", r ? strerror(-r) : "done");
	dbk_fuse_file_free(file);
	close(fd);
	return r ? 1 : 0;
}

static ssize_t c_read(void *data, void *fh, void *buf, size_t size, uint64_t off)
{
	(void)data, (void)fh, (void)buf, (void)size, (void)off;
	return 0;
}

static int serve_cuse(struct dbk_handover *h, const char *name)
{
	static const struct dbk_cuse_ops ops = { .read = c_read };
	struct dbk_cuse *cuse;
	int cfd, r;

	cfd = dbk_handover_take_fd(h, DBK_HANDOVER_CUSE);
	if (cfd < 0) {
		fprintf(stderr, "dbk-fe-driver: no CUSE fd handed over (CUSE=): %s\n", strerror(-cfd));
		return 1;
	}
	r = dbk_cuse_new(cfd, name, &ops, NULL, &cuse);
	if (r < 0) {
		fprintf(stderr, "dbk-fe-driver: dbk_cuse_new: %s\n", strerror(-r));
		close(cfd);
		return 1;
	}
	the_cuse = cuse;
	if (stop)	/* SIGTERM before the handler could see the device */
		dbk_cuse_stop(cuse);
	fprintf(stderr, "dbk-fe-driver: serving /dev/%s\n", name);
	r = dbk_cuse_run(cuse);
	the_cuse = NULL;
	fprintf(stderr, "dbk-fe-driver: dbk_cuse_run: %s\n", r ? strerror(-r) : "done");
	dbk_cuse_free(cuse);
	return r ? 1 : 0;
}

static int serve_input(struct dbk_handover *h, long hz)
{
	struct timespec ts, gap = { hz == 1, hz == 1 ? 0 : 1000000000L / hz };
	struct dbk_input *in;
	struct libevdev *tmpl;
	unsigned long n = 0;
	int ufd, r;

	ufd = dbk_handover_take_fd(h, DBK_HANDOVER_UINPUT);
	if (ufd < 0) {
		fprintf(stderr, "dbk-fe-driver: no uinput fd handed over (UInput=yes): %s\n",
			strerror(-ufd));
		return 1;
	}
	tmpl = libevdev_new();
	if (!tmpl)
		return 1;
	libevdev_set_name(tmpl, "devbroker frontend bench");
	libevdev_enable_event_code(tmpl, EV_KEY, KEY_A, NULL);
	libevdev_enable_event_code(tmpl, EV_MSC, MSC_SCAN, NULL);
	r = dbk_input_new(ufd, tmpl, &in);
	libevdev_free(tmpl);
	if (r < 0) {
		fprintf(stderr, "dbk-fe-driver: dbk_input_new: %s\n", strerror(-r));
		return 1;
	}
	fprintf(stderr, "dbk-fe-driver: input device %s, %ld events/s\n",
		dbk_input_get_devnode(in) ? dbk_input_get_devnode(in) : "?", hz);
	while (!stop) {
		nanosleep(&gap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = dbk_input_emit(in, EV_MSC, MSC_SCAN,
				   (int)((ts.tv_sec * 1000000LL + ts.tv_nsec / 1000) & 0x7fffffff));
		if (!r)
			r = dbk_input_emit(in, EV_KEY, KEY_A, (int)(++n & 1));
		if (!r)
			r = dbk_input_sync(in);
		if (r < 0) {
			fprintf(stderr, "dbk-fe-driver: emit: %s\n", strerror(-r));
			break;
		}
	}
	fprintf(stderr, "dbk-fe-driver: %lu events\n", n);
	dbk_input_free(in);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct dbk_handover *h;
	int r;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc != 3 || (strcmp(argv[1], "fuse") && strcmp(argv[1], "input") && strcmp(argv[1], "cuse")) ||
	    (!strcmp(argv[1], "input") && (atol(argv[2]) < 1 || atol(argv[2]) > 100000))) {
		fprintf(stderr, "usage: dbk-fe-driver fuse FILE | cuse NAME | input HZ\n");
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	r = dbk_handover_get(&h);
	if (r) {
		fprintf(stderr, "dbk-fe-driver: hand-over: %s\n", strerror(-r));
		return 1;
	}
	if (!strcmp(argv[1], "fuse"))
		r = serve_fuse(h, argv[2]);
	else if (!strcmp(argv[1], "cuse"))
		r = serve_cuse(h, argv[2]);
	else
		r = serve_input(h, atol(argv[2]));
	dbk_handover_free(h);
	return r;
}
