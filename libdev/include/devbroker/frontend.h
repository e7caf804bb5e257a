/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file frontend.h
 * @brief The frontends through which ordinary programs use a device:
 * a character device (CUSE), an input device (uinput) and a file (FUSE).
 *
 * Each frontend is served on an fd that devbrokerd opened (and, for FUSE,
 * mounted) for the driver and handed over (<devbroker/handover.h>); the
 * library never opens /dev/cuse, /dev/uinput or /dev/fuse itself.
 *  - a character device: dbk_cuse_new(), dbk_cuse_run();
 *  - an input device (keyboard, mouse...): dbk_input_new(),
 *    dbk_input_emit(), dbk_input_sync(), dbk_input_read();
 *  - a disk (or any fixed-size file), usable with losetup(8) and
 *    mount(8): dbk_fuse_file_new(), dbk_fuse_file_run().
 *
 * The input frontend takes a libevdev template: build with pkg-config's
 * devbroker and libevdev when the driver calls libevdev itself.
 *
 * The SDK's conventions: <devbroker/sdk.h>.
 */
#ifndef DEVBROKER_FRONTEND_H
#define DEVBROKER_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/input.h>
#include <devbroker/cuse-client.h>
#include <devbroker/sdk.h>

struct libevdev;

#ifdef __cplusplus
extern "C" {
#endif

/** A character device served through CUSE. Opaque. */
struct dbk_cuse;


/* ------------------------------------------------------------------ */
/** @defgroup cuse Character device frontend (CUSE)
 *
 * Serves /dev/<name> from a /dev/cuse fd that a privileged party opened and
 * handed over (the library never opens /dev/cuse).  The node appears as
 * root:root 0600; whoever handed over the fd sets its owner and mode.
 *
 * Offsets: the kernel's CUSE always sends offset 0 with reads and writes
 * (fs/fuse/cuse.c), so the library keeps a file position for each open
 * file.  It starts at 0, each read or write advances it by the bytes
 * transferred, and callers move it with the DBK_CUSE_IOC_SEEK ioctl (and
 * read it with DBK_CUSE_IOC_TELL).  That position is the @c off passed to
 * the callbacks.
 *
 * Requests are served one at a time, in the thread that calls
 * dbk_cuse_run(); callbacks may block (for example on dbk_irq_wait()).
 * @{ */

/* DBK_CUSE_IOC_SEEK and DBK_CUSE_IOC_TELL: <devbroker/cuse-client.h>. */

/** Callbacks of a CUSE device; any may be NULL. */
struct dbk_cuse_ops {
	/**
	 * A process opened the device.
	 * @param data the @c data of dbk_cuse_new()
	 * @param flags the open flags (O_RDONLY, O_NONBLOCK, ...)
	 * @param[out] fh a per-open pointer passed to the other callbacks
	 *        (preset to NULL)
	 * @return 0 or a negative errno for the open() caller
	 */
	int (*open)(void *data, int flags, void **fh);
	/**
	 * Read up to @p size bytes at position @p off.
	 * @return bytes read (0 for end of file) or a negative errno
	 */
	ssize_t (*read)(void *data, void *fh, void *buf, size_t size, uint64_t off);
	/**
	 * Write @p size bytes at position @p off.
	 * @return bytes written or a negative errno
	 */
	ssize_t (*write)(void *data, void *fh, const void *buf, size_t size,
			 uint64_t off);
	/**
	 * An ioctl other than DBK_CUSE_IOC_SEEK/TELL.  Only "restricted"
	 * ioctls work: the size and direction encoded in @p cmd say how many
	 * bytes are copied in (@p in, @p in_size) and out (@p out, @p out_size).
	 * @return a non-negative ioctl() result, or a negative errno
	 */
	int (*ioctl)(void *data, void *fh, unsigned int cmd, const void *in,
		     size_t in_size, void *out, size_t out_size);
	/**
	 * The last fd of an open file was closed.
	 * @param data the @c data of dbk_cuse_new()
	 * @param fh the pointer set by open
	 */
	void (*release)(void *data, void *fh);
};

/**
 * Create a CUSE device on an inherited /dev/cuse fd.
 *
 * Nothing appears in /dev until dbk_cuse_run() has answered the kernel's
 * CUSE_INIT.  On success the device owns @p cuse_fd (dbk_cuse_free()
 * closes it, which removes the node); on failure the fd is left open.
 *
 * @param cuse_fd an open /dev/cuse fd
 * @param name the device name: /dev/<name> (letters, digits, '-', '_', '.')
 * @param ops the callbacks (copied)
 * @param data passed to every callback
 * @param[out] cusep the device; set only on success
 * @return 0, -EINVAL (bad fd, NULL argument, bad name), -ENOMEM, -EIO
 *         (libfuse refused)
 */
int dbk_cuse_new(int cuse_fd, const char *name, const struct dbk_cuse_ops *ops,
		 void *data, struct dbk_cuse **cusep);

/**
 * Serve requests until dbk_cuse_stop() is called or the connection ends.
 *
 * @param cuse the device
 * @return 0 when stopped or when the kernel ended the connection,
 *         -EINVAL, or a negative errno of the /dev/cuse fd
 */
int dbk_cuse_run(struct dbk_cuse *cuse);

/**
 * Make dbk_cuse_run() return soon.  Async-signal-safe and thread-safe: it
 * only writes to an eventfd.
 *
 * @param cuse the device
 * @return 0 or -EINVAL
 */
int dbk_cuse_stop(struct dbk_cuse *cuse);

/**
 * Destroy the device: close the /dev/cuse fd (the node disappears and
 * blocked clients get an error) and free everything.
 *
 * @param cuse the device, or NULL
 */
void dbk_cuse_free(struct dbk_cuse *cuse);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup input Input device frontend (uinput)
 *
 * Makes the device an ordinary evdev input device (/dev/input/eventN)
 * through a /dev/uinput fd that the broker opened and handed over
 * (dbk_handover_take_fd(), DBK_HANDOVER_UINPUT); the library never opens /dev/uinput.  The device's
 * capabilities come from a libevdev template (libevdev_new(),
 * libevdev_set_name(), libevdev_enable_event_code()...).  Enabling EV_REP
 * gives the kernel's software key repeat.
 * @{ */

/** An input device served through uinput. Opaque. */
struct dbk_input;

/**
 * Create the input device (libevdev_uinput_create_from_device()).
 *
 * On success the object owns @p uinput_fd and has made it O_NONBLOCK (for
 * dbk_input_read()); on failure it is left open and unchanged.
 *
 * @param uinput_fd an open /dev/uinput fd
 * @param tmpl the capabilities, name and ids (only read)
 * @param[out] inputp the device; set only on success
 * @return 0, -EINVAL (bad fd, NULL argument), -ENOMEM, or the negative
 *         errno of the uinput ioctls
 */
int dbk_input_new(int uinput_fd, const struct libevdev *tmpl,
		  struct dbk_input **inputp);

/**
 * Queue one event (libevdev_uinput_write_event()); nothing is delivered
 * to readers before dbk_input_sync().
 *
 * @param input the device
 * @param type EV_KEY, EV_REL, EV_LED, ...
 * @param code KEY_A, REL_X, ...
 * @param value 1 pressed / 0 released for keys, a delta for EV_REL, ...
 * @return 0, -EINVAL (NULL @p input, @p type above EV_MAX or @p code
 *         above KEY_MAX), or a negative errno of write()
 */
int dbk_input_emit(struct dbk_input *input, unsigned int type,
		   unsigned int code, int value);

/**
 * Emit SYN_REPORT: the queued events reach readers as one frame.
 * @param input the device @return 0, -EINVAL or a negative errno
 */
int dbk_input_sync(struct dbk_input *input);

/**
 * The uinput fd, to poll() for events the kernel sends *to* the device
 * (EV_LED when a program or the console sets a keyboard LED, EV_UINPUT
 * force-feedback requests...).  Owned by @p input: do not close it.
 * @param input the device @return the fd, or -EINVAL
 */
int dbk_input_get_fd(const struct dbk_input *input);

/**
 * Read one event sent to the device without blocking.
 *
 * @param input the device
 * @param[out] ev the event
 * @return 1 with @p ev filled, 0 if none is pending, -EINVAL, or a
 *         negative errno of read()
 */
int dbk_input_read(struct dbk_input *input, struct input_event *ev);

/**
 * The device node, "/dev/input/eventN".
 * @param input the device
 * @return a string owned by @p input, or NULL (@p input NULL, or the
 *         kernel did not say)
 */
const char *dbk_input_get_devnode(const struct dbk_input *input);

/**
 * Destroy the input device (it disappears from /dev/input) and close the
 * uinput fd.
 * @param input the device, or NULL
 */
void dbk_input_free(struct dbk_input *input);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup fusefile File frontend (FUSE)
 *
 * Serves the device as one regular file, <mount point>/<name>, in a FUSE
 * filesystem that the broker mounted for the driver (the driver may not
 * mount) and handed over as a /dev/fuse fd (DBK_HANDOVER_FUSE; the mount point
 * is dbk_handover_fuse_mount()).  A disk served this way works with losetup(8) and
 * mount(8).
 *
 * Requests are served one at a time, in the thread that calls
 * dbk_fuse_file_run(): a driver needs no locking, and stays
 * single-threaded (which a USB request policy may require).
 *
 * The broker mounts without default_permissions, so the library checks
 * access itself: the file belongs to the serving process's effective uid
 * and gid, with the permission bits given to dbk_fuse_file_new(); uid 0
 * may read and write it (losetup); supplementary groups are not
 * considered.  Owner, mode and size cannot be changed (EPERM, also for
 * O_TRUNC); the times are fixed.  Writes are write-through (no FUSE
 * writeback cache), so a write error reaches the writer; O_DIRECT reads
 * and writes reach the callbacks as they are.
 * @{ */

/** A file served through FUSE. Opaque. */
struct dbk_fuse_file;

/** The file's callbacks.  Any may be NULL: then the operation fails with
 * EIO (read) or EROFS (write, and opening for writing), or succeeds doing
 * nothing (flush). */
struct dbk_fuse_file_ops {
	/**
	 * Read @p size bytes at @p off.  The library never asks beyond the
	 * file's size.
	 * @param data the @c data of dbk_fuse_file_new()
	 * @return bytes read (short only at the end or on error after some
	 *         bytes) or a negative errno (-EIO reaches the reader as EIO)
	 */
	ssize_t (*read)(void *data, void *buf, size_t size, uint64_t off);
	/**
	 * Write @p size bytes at @p off (never beyond the file's size: the
	 * file does not grow; a write starting at or past the end gets
	 * ENOSPC from the library, one crossing it is cut short).
	 * @return bytes written (a short count reaches the writer as a short
	 *         write; 0 is answered EIO) or a negative errno
	 */
	ssize_t (*write)(void *data, const void *buf, size_t size, uint64_t off);
	/**
	 * Make written data durable: on fsync(2) and fdatasync(2) (the loop
	 * driver's flushes too), and on the close(2) that follows writes
	 * (its error is close()'s).
	 * @return 0 or a negative errno
	 */
	int (*flush)(void *data);
};

/**
 * Create the file server on a mounted /dev/fuse fd.
 *
 * Nothing is served before dbk_fuse_file_run(); until then the mount's
 * users wait.  On success the server owns @p fuse_fd and has made it
 * O_NONBLOCK; on failure it is left open and unchanged.
 *
 * @param fuse_fd the /dev/fuse fd of a mount made for this process
 * @param name the file's name in the mount's root (no '/', not "." or
 *        "..", at most 255 bytes), e.g. "disk"
 * @param size the file's size in bytes (at most INT64_MAX)
 * @param mode its permission bits (at most 0777), e.g. 0600
 * @param ops the callbacks (copied)
 * @param data passed to every callback
 * @param[out] filep the server; set only on success
 * @return 0, -EINVAL (bad or closed fd, not /dev/fuse, NULL argument, bad
 *         name, mode or size), -ENOMEM, -EIO (libfuse refused)
 */
int dbk_fuse_file_new(int fuse_fd, const char *name, uint64_t size,
		      unsigned int mode, const struct dbk_fuse_file_ops *ops,
		      void *data, struct dbk_fuse_file **filep);

/**
 * Serve requests until dbk_fuse_file_stop() is called, the filesystem is
 * unmounted, or a callback returns -ENODEV (the device is gone: the
 * request fails with EIO and the loop ends).  After a stop it may be
 * called again; after an unmount it returns 0 and after -ENODEV it
 * returns -ENODEV at once.
 *
 * @param file the server
 * @return 0 when stopped or unmounted, -ENODEV when the device went away,
 *         -EINVAL, or a negative errno of the /dev/fuse fd
 */
int dbk_fuse_file_run(struct dbk_fuse_file *file);

/**
 * Make dbk_fuse_file_run() return soon (after the request it is serving,
 * if any; at once if called before it).  Async-signal-safe and
 * thread-safe: it only writes to an eventfd.
 * @param file the server @return 0 or -EINVAL
 */
int dbk_fuse_file_stop(struct dbk_fuse_file *file);

/**
 * Destroy the server and close the /dev/fuse fd (the broker unmounts).
 * @param file the server, or NULL
 */
void dbk_fuse_file_free(struct dbk_fuse_file *file);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_FRONTEND_H */
