/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usb-storage: an unprivileged userspace driver for USB mass-storage
 * devices that speak SCSI over Bulk-Only Transport (interface class 08,
 * subclass 06, protocol 50), built on libdev and libusb.  It serves the
 * disk as a block device (the block frontend, [Frontend] Block=: NBD
 * connections to the kernel's nbd) or as one regular file, "disk", in the
 * FUSE mount devbrokerd made for it (FUSEMount=: losetup(8) and mount(8)
 * work on that file), whichever the manifest asks for.
 *
 *   bot.c   Bulk-Only Transport 1.0: CBW, data, CSW, reset recovery
 *   scsi.c  SPC-4/SBC-3: INQUIRY, TEST UNIT READY, REQUEST SENSE, READ
 *           CAPACITY(10)/(16), READ/WRITE(10), SYNCHRONIZE CACHE(10)
 *   disk.c  byte ranges on blocks (read-modify-write of partial blocks)
 *   selftest.c  --selftest: provoke transport errors, check the recovery
 *   main.c  adoption, the disk or the FUSE file, the lifecycle (this file)
 *
 * The broker hands us (<devbroker/handover.h>; devbroker-manifest(5),
 * [Frontend] Block= or FUSEMount=) a usbfs fd whose granted interfaces are
 * detached from the kernel's usb-storage and claimed for us, and the NBD
 * sockets or a /dev/fuse fd already mounted.  --usb-fd, --interfaces and
 * --fuse-fd override them.
 *
 * Exit status: 0 when stopped (SIGTERM, unmount) or when the device went
 * away (unplugged, revoked: the FUSE file answers EIO meanwhile); 1 on any
 * other failure, a device that no longer takes reset recovery included
 * (the broker restarts us); 2 for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devbroker/block.h>
#include <devbroker/handover.h>
#include <devbroker/frontend.h>
#include <devbroker/usb.h>

#include "bot.h"
#include "disk.h"
#include "scsi.h"
#include "selftest.h"
#include "util.h"

/*
 * Data per READ/WRITE command, as Linux's usb-storage (scsiglue.c): 240
 * sectors (120 KiB), which every device copes with, and 2048 (1 MiB) from
 * SuperSpeed on, which USB 3 devices handle faster.
 */
#define MAX_KIB_USB2		120
#define MAX_KIB_USB3		1024
#define DEFAULT_TIMEOUT_MS	20000
#define SYNC_TIMEOUT_MS		60000
#define READY_TRIES		100	/* TEST UNIT READY, 100 ms apart */

struct usbs {
	struct dbk_usb *usb;
	struct bot bot;
	struct scsi_disk scsi;
	struct disk disk;
	struct dbk_fuse_file *file;
	struct dbk_block *blk;
	pthread_mutex_t lock;	/* one command at a time: BOT has no queue */
	bool gone;		/* the device went away: stop quietly */
	bool wedged;		/* it stopped answering reset recovery */
	bool dirty;		/* written since the last cache flush */
	bool verbose;
	char serial[128];	/* the USB device's serial number (devbrokerd's, sanitized), or "" */
};

static struct dbk_fuse_file *stop_target;
static struct dbk_block *stop_block;

static void on_signal(int sig)
{
	(void)sig;
	if (stop_target)
		dbk_fuse_file_stop(stop_target);
	if (stop_block)
		dbk_block_stop(stop_block);
}

/* Whichever frontend serves: stop it (from its own loop's thread too). */
static void frontend_stop(struct usbs *s)
{
	if (s->file)
		dbk_fuse_file_stop(s->file);
	if (s->blk)
		dbk_block_stop(s->blk);
}

/* ---- the file ---- */

/* What a program reading or writing the file sees. */
static int file_errno(struct usbs *s, int r)
{
	if (r == -ENODEV) {
		if (!s->gone)
			usbs_log("the device is gone; stopping");
		s->gone = true;
		return -ENODEV;	/* libdev answers EIO and ends its loop */
	}
	if (s->bot.wedged && !s->wedged) {
		/* Stop with a failure: the broker gives the interface to the
		 * kernel's driver (which may reset the port), then restarts
		 * us. */
		usbs_log("the device does not take reset recovery any more; stopping");
		s->wedged = true;
		frontend_stop(s);
	}
	if (r == -ENOSPC || r == -EROFS || r == -ENOMEDIUM)
		return r;
	return -EIO;
}

static ssize_t file_read(void *data, void *buf, size_t size, uint64_t off)
{
	struct usbs *s = data;
	ssize_t n = disk_pread(&s->disk, buf, size, off);

	return n < 0 ? file_errno(s, (int)n) : n;
}

static ssize_t file_write(void *data, const void *buf, size_t size, uint64_t off)
{
	struct usbs *s = data;
	ssize_t n;

	s->dirty = true;	/* even a failed write may have written a part */
	n = disk_pwrite(&s->disk, buf, size, off);
	return n < 0 ? file_errno(s, (int)n) : n;
}

static int file_flush(void *data)
{
	struct usbs *s = data;
	int r;

	if (!s->dirty)
		return 0;
	r = scsi_disk_sync(&s->scsi);
	if (r < 0)
		return file_errno(s, r);
	s->dirty = false;
	return 0;
}

/* ---- the disk (block frontend) ---- */

static void close_frontends(int fuse_fd, const int *block_fds, int nr_block)
{
	int i;

	if (fuse_fd >= 0)
		close(fuse_fd);
	for (i = 0; i < nr_block; i++)
		close(block_fds[i]);
}


/*
 * Each request whole, in the thread of its queue: the library has checked
 * that it is in range and aligned to the block size, so disk.c splits it
 * into READ(10)/WRITE(10) of at most max_blocks with no read-modify-write.
 */
static void blk_submit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	struct usbs *s = ctx;
	uint64_t off = dbk_block_req_offset(req);
	uint32_t len = dbk_block_req_length(req);
	ssize_t n = 0;
	int r;

	(void)queue;
	pthread_mutex_lock(&s->lock);
	if (s->gone || s->wedged) {
		n = -EIO;
	} else if (dbk_block_req_op(req) == DBK_BLOCK_READ) {
		n = disk_pread(&s->disk, dbk_block_req_buf(req), len, off);
	} else if (dbk_block_req_op(req) == DBK_BLOCK_WRITE) {
		s->dirty = true;
		n = disk_pwrite(&s->disk, dbk_block_req_buf(req), len, off);
		/* Forced Unit Access: the device's cache, flushed (SBC-3 5.24). */
		if (n >= 0 && dbk_block_req_fua(req) && (r = scsi_disk_sync(&s->scsi)) < 0)
			n = r;
	} else if (dbk_block_req_op(req) == DBK_BLOCK_FLUSH && s->dirty) {
		n = scsi_disk_sync(&s->scsi);
		if (n == 0)
			s->dirty = false;
	}
	r = n < 0 ? file_errno(s, (int)n) : 0;
	pthread_mutex_unlock(&s->lock);
	dbk_block_complete(req, r == -ENODEV ? -EIO : r);
	if (r == -ENODEV)
		dbk_block_stop(s->blk);
}

static int blk_serve(struct usbs *s, const int *fds, unsigned int nr)
{
	/* Whole KiB of whole blocks, as devbrokerd's max_sectors_kb wants. */
	uint32_t max = s->scsi.max_blocks * s->scsi.block_size / 1024 * 1024;
	const struct dbk_block_params p = {
		.size = disk_size(&s->disk),
		.block_size = s->scsi.block_size,
		.max_transfer = max < 4096 ? 4096 : max,
		.flags = DBK_BLOCK_F_FLUSH | DBK_BLOCK_F_FUA,
	};
	const struct dbk_block_ops ops = { .submit = blk_submit };
	int r;

	r = dbk_block_new(fds, nr, &p, &ops, s, &s->blk);
	if (r < 0) {
		usbs_log("serving the disk: %s", strerror(-r));
		close_frontends(-1, fds, (int)nr);	/* still ours on failure */
		return r;
	}
	/*
	 * The disk's identity, as udev's ID_SERIAL of a USB disk (INQUIRY's
	 * vendor and product, SPC-4 6.4.2, then the device's serial number):
	 * only with a serial number, the one part that tells two sticks apart.
	 */
	if (s->serial[0]) {
		/* Room for all: one too long is refused whole, never cut (two would agree). */
		char id[sizeof(s->scsi.inq.vendor) + sizeof(s->scsi.inq.product) + sizeof(s->serial)];

		snprintf(id, sizeof(id), "%s_%s_%s", s->scsi.inq.vendor, s->scsi.inq.product,
			 s->serial);
		r = dbk_block_set_id(s->blk, id);
		if (r < 0)
			usbs_log("the disk's identity %s: %s", id, strerror(-r));
	}
	stop_block = s->blk;
	if (s->verbose)
		usbs_log("serving the disk on %u NBD connection%s", nr, nr == 1 ? "" : "s");
	r = dbk_block_run(s->blk);
	stop_block = NULL;
	if (r < 0 && !s->gone && !s->wedged)
		usbs_log("block frontend: %s", strerror(-r));
	dbk_block_free(s->blk);
	s->blk = NULL;
	return r;
}

static int blocks_read(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
	return scsi_disk_read(ctx, lba, n, buf);
}

static int blocks_write(void *ctx, uint64_t lba, uint32_t n, const void *buf)
{
	return scsi_disk_write(ctx, lba, n, buf);
}

static const struct disk_ops block_ops = {
	.read = blocks_read,
	.write = blocks_write,
};

/* ---- setup ---- */

/*
 * The first granted interface that is SCSI over BOT, in the active
 * configuration, and its bulk endpoints.  An alternate setting other than
 * the current one is selected (BOT 4.3 allows any).
 */
static int find_interface(struct usbs *s, uint32_t granted)
{
	libusb_device_handle *h = dbk_usb_get_handle(s->usb);
	const struct libusb_interface_descriptor *bot = NULL;
	struct libusb_config_descriptor *cfg;
	int i, j, r;

	r = libusb_get_active_config_descriptor(libusb_get_device(h), &cfg);
	if (r < 0) {
		usbs_log("reading the configuration descriptor: %s", libusb_error_name(r));
		return dbk_usb_errno(r);
	}
	for (i = 0; i < cfg->bNumInterfaces && !bot; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		for (j = 0; j < itf->num_altsetting && !bot; j++) {
			const struct libusb_interface_descriptor *alt = &itf->altsetting[j];

			if (alt->bInterfaceNumber >= 32 ||
			    !(granted & (1u << alt->bInterfaceNumber)))
				break;
			r = bot_find_endpoints(alt, &s->bot.ep_in, &s->bot.ep_out);
			if (r == -ENOENT)
				usbs_log("interface %u is SCSI/BOT but lacks a bulk endpoint pair",
					 alt->bInterfaceNumber);
			if (r == 0)
				bot = alt;
		}
	}
	r = 0;
	if (!bot) {
		usbs_log("no granted interface (mask 0x%x) is mass storage, SCSI transparent, "
			 "Bulk-Only (08/06/50)", granted);
		r = -ENXIO;
	} else {
		s->bot.ifno = bot->bInterfaceNumber;
		if (bot->bAlternateSetting != 0)
			r = libusb_set_interface_alt_setting(h, s->bot.ifno,
							     bot->bAlternateSetting);
		if (r < 0) {
			usbs_log("selecting alternate setting %u: %s", bot->bAlternateSetting,
				 libusb_error_name(r));
			r = dbk_usb_errno(r);
		}
	}
	libusb_free_config_descriptor(cfg);
	return r;
}

static int setup(struct usbs *s, unsigned int max_kib)
{
	int r, maxlun, speed;

	r = find_interface(s, dbk_usb_get_interfaces(s->usb));
	if (r < 0)
		return r;
	s->bot.h = dbk_usb_get_handle(s->usb);
	s->bot.timeout_ms = DEFAULT_TIMEOUT_MS;
	s->bot.retries = 2;
	s->bot.verbose = s->verbose;
	maxlun = bot_get_max_lun(&s->bot);
	if (maxlun < 0)
		return maxlun;
	s->bot.lun = 0;
	if (s->verbose)
		usbs_log("interface %u, bulk in 0x%02x, out 0x%02x, LUNs 0..%d (serving 0)",
			 s->bot.ifno, s->bot.ep_in, s->bot.ep_out, maxlun);

	s->scsi.bot = &s->bot;
	s->scsi.sync_timeout_ms = SYNC_TIMEOUT_MS;
	r = scsi_disk_inquiry(&s->scsi);
	if (r < 0)
		return r;
	if (s->scsi.inq.qualifier != 0 || s->scsi.inq.type != SCSI_TYPE_DISK) {
		usbs_log("LUN 0 is not a connected direct-access block device (qualifier %u, "
			 "peripheral device type 0x%02x)", s->scsi.inq.qualifier, s->scsi.inq.type);
		return -ENXIO;
	}
	r = scsi_disk_wait_ready(&s->scsi, READY_TRIES);
	if (r < 0)
		return r;
	r = scsi_disk_read_capacity(&s->scsi);
	if (r < 0)
		return r;
	speed = libusb_get_device_speed(libusb_get_device(s->bot.h));
	if (!max_kib)
		max_kib = speed >= LIBUSB_SPEED_SUPER ? MAX_KIB_USB3 : MAX_KIB_USB2;
	/* Whole blocks per command; READ(10) counts at most 65535. */
	s->scsi.max_blocks = max_kib * 1024 / s->scsi.block_size;
	if (s->scsi.max_blocks == 0)
		s->scsi.max_blocks = 1;
	if (s->scsi.max_blocks > 0xffff)
		s->scsi.max_blocks = 0xffff;
	r = disk_init(&s->disk, &block_ops, &s->scsi, s->scsi.block_size, s->scsi.blocks,
		      s->scsi.max_blocks);
	if (r < 0)
		return r;
	usbs_log("%s %s %s: %" PRIu64 " blocks of %u bytes (%" PRIu64 " MiB)%s; up to %u "
		 "blocks per command", s->scsi.inq.vendor, s->scsi.inq.product,
		 s->scsi.inq.revision, s->scsi.blocks, s->scsi.block_size,
		 disk_size(&s->disk) >> 20, s->scsi.inq.removable ? ", removable" : "",
		 s->scsi.max_blocks);
	return 0;
}

static int parse_uint(const char *arg, unsigned long max, unsigned long *out, int base)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, base);
	return errno || !*arg || *end || *arg == '-' || *out > max ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fputs("usage: usb-storage [--usb-fd N [--interfaces MASK]] [--fuse-fd N]\n"
	      "                   [--name NAME] [--mode OCTAL] [--max-kib N]\n"
	      "                   [--selftest] [--verbose]\n"
	      "Serves a USB mass-storage device (SCSI over Bulk-Only Transport) as a\n"
	      "disk on the NBD sockets devbrokerd handed over (Block=), or as the file\n"
	      "NAME (default \"disk\") in the FUSE mount of the fd given (FUSEMount=).\n"
	      "Without options the fds are the ones devbrokerd handed over.\n"
	      "--max-kib: data per READ/WRITE command (default 120,\n"
	      "1024 for SuperSpeed devices, as Linux's usb-storage).\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usb-fd", required_argument, NULL, 'u' },
		{ "interfaces", required_argument, NULL, 'i' },
		{ "fuse-fd", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "max-kib", required_argument, NULL, 'k' },
		{ "selftest", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct dbk_fuse_file_ops ops = {
		.read = file_read,
		.write = file_write,
		.flush = file_flush,
	};
	unsigned long usb_fd = ~0ul, fuse_fd = ~0ul, mask = ~0ul, mode = 0600,
		      max_kib = 0;
	int block_fds[DBK_HANDOVER_BLOCK_MAX], nr_block = 0;
	struct usbs s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *name = "disk";
	struct dbk_handover *ho;
	char mount[4096] = "";
	bool selftest = false;
	struct sigaction sa;
	int c, r, li = 0, rc = 1;

	while ((c = getopt_long(argc, argv, "hv", opts, &li)) != -1) {
		r = 0;
		switch (c) {
		case 'u': r = parse_uint(optarg, 65535, &usb_fd, 10); break;
		case 'i': r = parse_uint(optarg, 0xffffffffu, &mask, 0); break;
		case 'f': r = parse_uint(optarg, 65535, &fuse_fd, 10); break;
		case 'n': name = optarg; break;
		case 'm': r = parse_uint(optarg, 0777, &mode, 8); break;
		case 'k': r = parse_uint(optarg, 2048, &max_kib, 10);
			  r = r ? r : max_kib ? 0 : -EINVAL; break;
		case 's': selftest = true; break;
		case 'v': s.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (r < 0) {
			usbs_log("bad value for --%s: '%s'", opts[li].name, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !*name || strchr(name, '/')) {
		usage(stderr);
		return 2;
	}
	/* Options override what devbrokerd handed over. */
	r = dbk_handover_get(&ho);
	if (r < 0 && r != -ENOENT)
		usbs_log("the hand-over from devbrokerd: %s", strerror(-r));
	if (r == 0) {
		snprintf(mount, sizeof(mount), "%s", dbk_handover_fuse_mount(ho));
		snprintf(s.serial, sizeof(s.serial), "%s", dbk_handover_usb_serial(ho));
		if (fuse_fd == ~0ul && (r = dbk_handover_take_fd(ho, DBK_HANDOVER_FUSE)) >= 0)
			fuse_fd = (unsigned long)r;
		if (usb_fd == ~0ul && (r = dbk_handover_take_fd(ho, DBK_HANDOVER_USB)) >= 0)
			usb_fd = (unsigned long)r;
		if (mask == ~0ul)
			mask = dbk_handover_usb_interfaces(ho);
		nr_block = dbk_handover_take_block_fds(ho, block_fds, DBK_HANDOVER_BLOCK_MAX);
		if (nr_block < 0)
			nr_block = 0;
		dbk_handover_free(ho);
	}
	if ((fuse_fd == ~0ul) == !nr_block) {
		usbs_log(nr_block ? "both a disk and a FUSE file to serve: the manifest names one, "
			 "Block= or FUSEMount=" : "no FUSE fd and no disk: give --fuse-fd, or run under "
			 "devbrokerd with Block= or FUSEMount= in the manifest");
		close_frontends((int)fuse_fd, block_fds, nr_block);
		if (usb_fd != ~0ul)
			close((int)usb_fd);
		return 2;
	}
	if (usb_fd == ~0ul) {
		usbs_log("no USB fd: give --usb-fd, or run under devbrokerd");
		close_frontends((int)fuse_fd, block_fds, nr_block);
		return 2;
	}
	/* The interfaces it was granted for (given by hand, or else the first). */
	r = dbk_usb_adopt((int)usb_fd, mask == ~0ul ? 0x1 : (uint32_t)mask, &s.usb);
	if (r < 0) {
		usbs_log("adopting the USB fd: %s", strerror(-r));
		close_frontends((int)fuse_fd, block_fds, nr_block);
		return r == -ENODEV ? 0 : 1;
	}

	r = setup(&s, (unsigned int)max_kib);
	if (r == 0 && selftest) {
		r = usbs_selftest(&s.scsi);
		if (r > 0) {
			usbs_log("selftest: %d checks failed", r);
			r = -EIO;
		}
	}
	if (r < 0) {
		if (r == -ENODEV)
			usbs_log("the device went away during setup");
		close_frontends((int)fuse_fd, block_fds, nr_block);
		rc = r == -ENODEV ? 0 : 1;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (nr_block) {
		r = blk_serve(&s, block_fds, (unsigned int)nr_block);
		/* Unplugged or revoked: a clean stop; a wedged device or a broken link: restart. */
		rc = s.gone ? 0 : s.wedged || r < 0 ? 1 : 0;
		if (!s.gone && !s.wedged && s.dirty && scsi_disk_sync(&s.scsi) < 0)
			usbs_log("flushing the cache on the way out failed");
		if (s.verbose)
			usbs_log("%lu commands, %lu reset recoveries, %lu halts cleared",
				 s.bot.stats.commands, s.bot.stats.resets, s.bot.stats.stalls);
		goto out;
	}

	r = dbk_fuse_file_new((int)fuse_fd, name, disk_size(&s.disk), (unsigned int)mode,
			      &ops, &s, &s.file);
	if (r < 0) {
		usbs_log("serving the FUSE file: %s", strerror(-r));
		close((int)fuse_fd);
		goto out;
	}
	stop_target = s.file;
	if (s.verbose)
		usbs_log("serving %s/%s", mount[0] ? mount : "<the FUSE mount>", name);

	r = dbk_fuse_file_run(s.file);
	stop_target = NULL;
	if (r == -ENODEV || s.gone) {
		rc = 0;			/* unplugged or revoked: a clean stop */
	} else if (s.wedged) {
		rc = 1;
	} else if (r < 0) {
		usbs_log("FUSE loop: %s", strerror(-r));
	} else {
		/* Stopped or unmounted: leave nothing in the device's cache. */
		rc = 0;
		if (s.dirty && scsi_disk_sync(&s.scsi) < 0)
			usbs_log("flushing the cache on the way out failed");
	}
	dbk_fuse_file_free(s.file);
	if (s.verbose)
		usbs_log("%lu commands, %lu reset recoveries, %lu halts cleared",
			 s.bot.stats.commands, s.bot.stats.resets, s.bot.stats.stalls);
out:
	disk_fini(&s.disk);
	dbk_usb_free(s.usb);
	return rc;
}
