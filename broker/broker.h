/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devbrokerd's internal model, shared by the daemon, the CLI and the unit
 * tests.  Pure logic lives in libbroker-core (manifest.c, limits.c,
 * match.c, backoff.c): no I/O besides reading manifest files, so that it
 * is unit-testable on the host.
 */
#ifndef DBK_BROKER_H
#define DBK_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/devbroker.h>

#define DBK_MAX_MATCH		16
#define DBK_MAX_ARGS		32
#define DBK_NAME_MAX		64
#define DBK_PATH_MAX		256
#define DBK_MAX_USB_DENY	40	/* manifest (16) + limits (16) + built-in (4) */
#define DBK_USB_DENY_PER_FILE	16
/* BlockQueues= at most: DBK_HANDOVER_BLOCK_MAX of <devbroker/handover.h> (nbd.c checks). */
#define DBK_BLOCK_QUEUES_MAX	16

/* Bus kinds: one device model, one flow for both. */
enum dbk_bus {
	DBK_BUS_PCI,
	DBK_BUS_USB,
};

/* Interrupt types, as a bit set (same bits as DBK_GRANT_F_INTX/MSI/MSIX). */
#define DBK_IRQ_INTX	(1u << 0)
#define DBK_IRQ_MSI	(1u << 1)
#define DBK_IRQ_MSIX	(1u << 2)

struct dbk_range_spec {
	uint32_t bar;
	uint64_t offset;
	uint64_t size;
};

/* USB control request types (bits 5-6 of bmRequestType), as a bit set. */
#define DBK_USB_STANDARD	(1u << 0)
#define DBK_USB_CLASS		(1u << 1)
#define DBK_USB_VENDOR		(1u << 2)
#define DBK_USB_ALL_TYPES	(DBK_USB_STANDARD | DBK_USB_CLASS | DBK_USB_VENDOR)

/*
 * A refused USB control request: (bmRequestType & type_mask) == type_val,
 * and bRequest == request unless any_request.
 */
struct dbk_usb_deny {
	uint8_t type_mask;
	uint8_t type_val;
	uint8_t request;
	bool any_request;
};

/*
 * What a driver may get.  A manifest requests a set; the administrator's
 * limits bound it; the driver receives the intersection.
 */
struct dbk_rights {
	uint32_t bars;			/* BAR bit mask for pread/pwrite */
	uint32_t map_bars;		/* subset of bars that may be mmap()ed */
	struct dbk_range_spec mediated[DBK_MAX_MEDIATED];
	unsigned int nr_mediated;
	uint32_t irqs;			/* DBK_IRQ_* */
	uint32_t vectors;		/* MSI/MSI-X vectors */
	uint32_t irq_rate;		/* per second, 0: module default */
	uint64_t dma;			/* DMA quota in bytes, 0: no DMA */
	uint32_t dma_bits;		/* 0: 32 */
	bool unsafe_dma;		/* DMA without an IOMMU */
	char dma_guard[DBK_NAME_MAX];	/* DMAGuard=: the policy (Policy=) trusted to guard DMA, "" none */
	bool config_write;
	/* USB: control requests the driver may issue (the usb_requests policy) */
	uint32_t usb_types;		/* DBK_USB_* */
	struct dbk_usb_deny usb_deny[DBK_MAX_USB_DENY];
	unsigned int nr_usb_deny;
};

enum dbk_restart {
	DBK_RESTART_NO,
	DBK_RESTART_ON_FAILURE,		/* default */
	DBK_RESTART_ALWAYS,
};

/* A frontend the broker opens for the driver before it starts. */
struct dbk_frontend {
	char cuse[DBK_NAME_MAX];	/* CUSE device name template, "" if none; %i = instance */
	unsigned int cuse_mode;		/* mode applied to /dev/<name> once it appears */
	uid_t cuse_uid;
	gid_t cuse_gid;
	bool uinput;			/* open /dev/uinput for the driver */
	char fuse_mount[DBK_PATH_MAX];	/* mount point template, "" if none */
	/*
	 * Block= (nbd over socketpairs): the disk's name template, "" if
	 * none; /dev/devbroker/block/NAME and /dev/disk/by-id/devbroker-NAME
	 * link to the /dev/nbdN the broker connects.
	 */
	char block[DBK_NAME_MAX];
	unsigned int block_queues;	/* BlockQueues=: connections, 1..DBK_BLOCK_QUEUES_MAX (1) */
	unsigned int block_timeout;	/* BlockTimeoutSec=: the kernel's I/O timeout (30) */
	unsigned int block_dead_conn;	/* BlockDeadConnSec=: how long I/O waits for a restart (60) */
	/*
	 * Network= (a TAP, net-frontend.c): the interface's name template,
	 * "" if none; expanded, at most IFNAMSIZ - 1 characters.
	 */
	char network[DBK_NAME_MAX];
	/*
	 * NetworkOffloads=yes: the TAP is made with IFF_VNET_HDR, so that
	 * the driver may take checksum and segmentation offloads (and write
	 * frames with the kernel's virtio-net header).  Default no.
	 */
	bool network_offloads;
};

/*
 * One driver package's manifest: /usr/share/devbroker/drivers.d/NAME.conf,
 * overridden by a file of the same name in /etc/devbroker/drivers.d/.
 * Format: devbroker-manifest(5).
 */
/*
 * DynamicUser='s range: uids (and gids of the same numbers) devbrokerd
 * gives drivers, 2108686336-2108751871, in the ids systemd's UIDS-GIDS.md
 * leaves unused (dynuser.c says why these; devbroker-manifest(5)).
 */
#define DBK_DYNAMIC_UID_MIN	0x7db00000u
#define DBK_DYNAMIC_UID_COUNT	0x10000u

struct dbk_manifest {
	char name[DBK_NAME_MAX];
	char path[DBK_PATH_MAX];		/* the file it came from */
	char *argv[DBK_MAX_ARGS + 1];		/* Exec=, split; %i and %d expanded at start */
	unsigned int argc;
	/*
	 * DynamicUser= (yes): the driver runs as a uid and gid devbrokerd
	 * allocates for its device (dynuser.c), shared with no other process;
	 * User= and Group= are then unused.  No: it runs as User=.
	 */
	bool dynamic_user;
	char user[DBK_NAME_MAX];		/* User= (name or number), DynamicUser=no only */
	char group[DBK_NAME_MAX];		/* Group= ("" : the user's group) */
	enum dbk_restart restart;
	unsigned int restart_burst;		/* crashes within the window before quarantine (5) */
	unsigned int restart_window;		/* seconds (600) */
	/*
	 * StopTimeoutSec=: on an orderly stop (unbind, manifest removed,
	 * devbrokerd stopping) the driver gets SIGTERM and this long to exit
	 * by itself before SIGKILL and revocation; 0: at once (5).
	 */
	unsigned int stop_timeout;
	char policy[DBK_NAME_MAX];		/* Policy= (issue 5) */
	bool auto_bind;				/* AutoBind= (yes): start on sight, with the limits' */
	enum dbk_bus bus;
	char match[DBK_MAX_MATCH][DBK_PATH_MAX];	/* modalias globs (PCI device, USB interface) */
	unsigned int nr_match;
	struct dbk_rights rights;
	struct dbk_frontend frontend;
	bool valid;
	char error[256];			/* "FILE:LINE: message" when !valid */
};

/* The administrator's bounds: /etc/devbroker/limits.conf (devbroker-manifest(5)). */
struct dbk_limits {
	struct dbk_rights max;			/* rights no driver may exceed */
	unsigned int cuse_mode_mask;		/* bits a CUSE node may have (0666) */
	bool auto_bind;				/* bind matching devices without being asked */
	char deny_drivers[DBK_MAX_MATCH][DBK_NAME_MAX];
	unsigned int nr_deny;
	/* AllowDMAGuards=: policies a manifest's DMAGuard= may name (edu_dma_guard) */
	char dma_guards[DBK_MAX_MATCH][DBK_NAME_MAX];
	unsigned int nr_dma_guards;
};

/*
 * A device as the broker sees it, on any bus.  For USB, one entry is the
 * set of a device's interfaces that one manifest drives (its id names the
 * first, as sysfs does: "1-2:1.0"), or the whole device when no manifest
 * matches any of its interfaces ("1-2").
 */
struct dbk_devinfo {
	enum dbk_bus bus;
	char id[32];			/* "0000:00:04.0", "1-2:1.0" or "1-2" */
	char modalias[DBK_PATH_MAX];	/* "pci:v00001234d000011E8sv...", "usb:v0627p0001d0000dc00...in00" */
	uint16_t vendor, device, subvendor, subdevice;	/* USB: idVendor, idProduct */
	uint32_t class_code;		/* USB: the first interface's class, subclass, protocol */
	/* USB only */
	char usb_port[32];		/* sysfs name of the device: "1-2", "3-1.4" */
	uint8_t busnum, devnum;		/* /dev/bus/usb/BBB/DDD */
	uint8_t config;			/* bConfigurationValue of the active configuration */
	uint32_t usb_ifaces;		/* the interfaces of this entry (bit N: bInterfaceNumber N) */
	char serial[64];		/* the device's serial number, sanitized ("" if none) */
};

/* One interface of a USB device's active configuration (altsetting 0). */
struct dbk_usb_iface {
	uint8_t number, cls, subclass, protocol;
};

/* manifest.c */
/** Parse one manifest file.  Always fills @m; @m->valid says whether it is usable. */
int dbk_manifest_parse(const char *path, struct dbk_manifest *m);
void dbk_manifest_free(struct dbk_manifest *m);
/**
 * Load every *.conf of @sysdir, then of @etcdir (same file name replaces).
 * Returns the number of manifests in *@out (valid or not), or -errno.
 */
int dbk_manifest_load_dirs(const char *sysdir, const char *etcdir,
			   struct dbk_manifest **out);
/**
 * Expand a manifest template (an Exec= word, CUSE=, FUSEMount=) into @buf:
 * %i = @instance, %d = @dev_id, %s = @serial (the USB serial number; the
 * device id when it has none), %% = %.  Returns the length, -EINVAL for
 * another specifier, -ENAMETOOLONG when @len is too small.
 */
int dbk_template_expand(const char *tmpl, unsigned int instance,
			const char *dev_id, const char *serial, char *buf, size_t len);
/**
 * A string from a device (a USB serial number: untrusted) made safe for a
 * path component, an argument or an environment value: [A-Za-z0-9._-]
 * kept, anything else '_', at most @len - 1 bytes, never "." or "..",
 * never a leading '-'.
 */
void dbk_sanitize_name(const char *in, char *out, size_t len);

/* limits.c */
/**
 * Defaults (permissive but safe: no unsafe DMA, no config writes) then the
 * file, if any.  On an error (<0, err set): the defaults with AllowDMAGuards=
 * empty and AllowUnsafeDMA=no, never a consent the file may have withdrawn.
 */
int dbk_limits_load(const char *path, struct dbk_limits *l, char *err, size_t errlen);
/** dbk_limits_load() into *l; on an error a reload keeps *l unchanged. */
int dbk_limits_update(const char *path, struct dbk_limits *l, bool reload, char *err, size_t errlen);
/**
 * @out = @want bounded by @l.  Each cut is described in @cuts (one line each,
 * "dma 1048576 -> 65536"), for the log.  Returns the number of cuts.
 */
int dbk_rights_intersect(const struct dbk_rights *want, const struct dbk_limits *l,
			 struct dbk_rights *out, char *cuts, size_t cutslen);

/* match.c */
/** Does @dev match @m (any of its globs, fnmatch on the modalias)? */
bool dbk_manifest_matches(const struct dbk_manifest *m, const struct dbk_devinfo *dev);
/**
 * The requests every USB driver is refused, whatever its manifest: usbfs
 * checks the recipient of standard requests to interfaces and endpoints
 * but lets those to the device through, and these change the device
 * behind the kernel's back for every interface (SET_ADDRESS,
 * SET_CONFIGURATION, SET_DESCRIPTOR, SET_FEATURE: test modes, link
 * power).  Appended to @r unless present.  Returns 0, or -E2BIG.
 */
int dbk_usb_deny_builtin(struct dbk_rights *r);
/** A deny rule as USBDenyRequests= spells it: "0x21:0x01", "0x20/0xe0:0x01", "0x40:*". */
void dbk_usb_deny_text(const struct dbk_usb_deny *d, char *buf, size_t len);
/** The first valid, not denied manifest matching @dev, or NULL. */
const struct dbk_manifest *dbk_match(const struct dbk_manifest *ms, int n,
				     const struct dbk_limits *l, const struct dbk_devinfo *dev);
/** "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", as the kernel writes it. */
void dbk_pci_modalias(const struct dbk_devinfo *dev, char *buf, size_t len);
/**
 * A USB interface's modalias, as the kernel writes it:
 * "usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02Xic%02Xisc%02Xip%02Xin%02X".
 */
void dbk_usb_modalias(uint16_t vendor, uint16_t product, uint16_t bcd_device,
		      uint8_t dev_class, uint8_t dev_subclass, uint8_t dev_protocol,
		      const struct dbk_usb_iface *intf, char *buf, size_t len);

/* backoff.c: restart policy */
struct dbk_backoff {
	uint64_t crashes[16];		/* monotonic ms of recent crashes (ring) */
	unsigned int nr;
	unsigned int restarts;		/* lifetime, for display */
};
/**
 * Record a crash at @now_ms.  Returns the delay in ms before restarting
 * (100 ms doubling per crash in the window, capped at 30 s), or -1 when
 * @burst crashes fell within @window_s: quarantine.
 */
long dbk_backoff_crash(struct dbk_backoff *b, uint64_t now_ms, unsigned int burst,
		       unsigned int window_s);
void dbk_backoff_reset(struct dbk_backoff *b);

/*
 * outlog.c: a driver's standard output and error, cut into lines fit for
 * devbrokerd's log.  Each line is at most DBK_OUTLOG_LINE bytes (a longer
 * one is cut, its rest a line of its own), its control characters (C0,
 * C1, Unicode line breaks and bidirectional controls) and malformed UTF-8
 * shown as '?' (no escape sequence, no forged line break reaches a
 * terminal, the journal or a reader of either), and at most
 * DBK_OUTLOG_BURST lines per DBK_OUTLOG_WINDOW_MS are logged: the rest of
 * what was read is counted, and the count reported when the window is
 * over.  The window outlives a driver's restart (dbk_outlog_flush keeps
 * it): a driver that floods and crashes gets no fresh budget.
 */
#define DBK_OUTLOG_LINE		480
#define DBK_OUTLOG_BURST	200
#define DBK_OUTLOG_WINDOW_MS	10000
struct dbk_outlog {
	char line[DBK_OUTLOG_LINE + 1];
	unsigned int len;		/* bytes of the line begun */
	uint64_t window;		/* monotonic ms: the window's start; 0: none yet */
	unsigned int lines;		/* logged in this window */
	unsigned int dropped;		/* not logged in this window */
};
/**
 * Called with each line to log (NUL-terminated, sanitized), or with @line
 * NULL and @dropped lines that were not logged.
 */
typedef void dbk_outlog_emit_fn(void *ctx, const char *line, unsigned int dropped);
/** @n bytes the driver wrote, read at @now_ms. */
void dbk_outlog_feed(struct dbk_outlog *o, const char *buf, size_t n, uint64_t now_ms,
		     dbk_outlog_emit_fn *emit, void *ctx);
/** The driver is gone: its last unterminated line, and what was dropped.  The window stays. */
void dbk_outlog_flush(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit, void *ctx);
/**
 * Is this window's budget spent at @now_ms?  Its end (monotonic ms), when
 * the reader should read again; 0: not spent.
 */
uint64_t dbk_outlog_spent(const struct dbk_outlog *o, uint64_t now_ms);
/** At a window's end: the count of lines it dropped reported, a new window begun. */
void dbk_outlog_tick(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit, void *ctx);

#endif /* DBK_BROKER_H */
