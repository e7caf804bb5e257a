/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devbrokerd internals: the daemon object, its device table, and the two
 * ops tables it drives devices through (a bus: PCI, USB; a frontend:
 * CUSE, uinput, FUSE).  There is no global: main() owns the one struct
 * dbk_daemon and every part takes it as an argument.
 *
 * Files: devbrokerd.c (main, the event loop), entry.c (the table and its
 * state machine), launch.c (one driver start, top to bottom), pci.c and
 * usb.c (the buses), frontend.c (the frontends), state.c (the state
 * file), denied.c (policy denials as events), event.c (log and events),
 * control.c (the control socket), uevent.c.
 */
#ifndef DBK_DAEMON_H
#define DBK_DAEMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <devbroker/block.h>
#include <devbroker/handover.h>

#include "broker.h"
#include "usbpolicy.h"

struct nl_sock;	/* libnl's */

struct dbk_denials;

enum dbk_state {
	DBK_ST_UNMATCHED,	/* no manifest matches */
	DBK_ST_IDLE,		/* matched, no driver (auto-bind off, or clean exit) */
	DBK_ST_RUNNING,
	DBK_ST_BACKOFF,		/* crashed; restart pending */
	DBK_ST_QUARANTINED,	/* crashed too often; bound, no grant */
	DBK_ST_REVOKED,		/* revoked by the administrator */
	DBK_ST_GONE,		/* unplugged; forgotten once its driver is reaped */
};

/*
 * One device in the daemon's table, and what it knows of its driver.
 * (libdev's struct dbk_dev is something else: a driver's adopted grant.)
 */
struct dbk_entry {
	struct dbk_devinfo info;
	char driver[DBK_NAME_MAX];	/* matched manifest's name, "" if none */
	enum dbk_state state;
	pid_t pid;			/* running driver, 0 if none */
	bool stopping;			/* we are stopping it: its exit is no crash */
	int devfd;			/* PCI: /dev/devbroker/<id> while bound, else -1 */
	int instance;			/* %i, -1 until first start */
	struct dbk_rights rights;	/* what the running driver was granted */
	char cuts[512];			/* what the limits cut, one per line */
	struct dbk_backoff backoff;
	uint64_t restart_at;		/* monotonic ms, in DBK_ST_BACKOFF */
	/*
	 * monotonic ms: the driver's time to exit by itself, then SIGKILL:
	 * an unplugged driver's, or (@stop_grace) one sent SIGTERM by an
	 * orderly stop, which is revoked as well then.
	 */
	uint64_t kill_at;
	bool stop_grace;		/* SIGTERM sent, kill_at is its StopTimeoutSec= */
	bool unbind_after;		/* `devbrokerctl unbind`: the device goes back once the driver is gone */
	unsigned int stop_timeout;	/* the running driver's StopTimeoutSec=, from its start */
	uint64_t denied_window;		/* monotonic ms: start of the second denials are counted in */
	unsigned int denied_shown, denied_hidden;	/* in that second */
	char last_exit[32];
	/*
	 * DynamicUser= (dynuser.c): the uid (and gid) its driver runs as,
	 * held from the first start until no driver runs and no restart is
	 * pending.
	 */
	bool dyn_held;
	uid_t dyn_uid;
	uid_t uid;			/* the running driver's uid, dynamic or not; 0: none */
	/*
	 * The CUSE node, "/dev/edu0" ("" if none): stat()ed until it appears.
	 * Never a path in a driver-served FUSE mount: a stat() there waits
	 * on the driver, which could hold devbrokerd for as long as it likes.
	 */
	char frontend[DBK_PATH_MAX];
	char fuse_mount[DBK_PATH_MAX];	/* mounted for the driver, "" if none */
	bool frontend_ready;		/* owner and mode applied */
	bool seen;			/* present in the last scan */
	/*
	 * The block frontend (nbd-frontend.c).  The device outlives a driver
	 * that is restarted: its new connections replace the dead ones.
	 */
	int nbd_index;			/* the /dev/nbdN connected for the driver, -1: none */
	char block_name[DBK_NAME_MAX];	/* Block= expanded: /dev/devbroker/block/NAME */
	/* The driver's dbk_block_set_id(), sanitized; "": none */
	char block_id[DBK_BLOCK_ID_MAX + 1];
	/* Its link as made, /dev/disk/by-id/devbroker-DRIVER+ID; "": none made */
	char block_id_link[DBK_PATH_MAX];
	bool nbd_reserved;		/* a start holds block_name (until the frontend's close) */
	uint64_t nbd_size;		/* what it was connected with */
	uint32_t nbd_block;
	uint16_t nbd_flags;
	unsigned int nbd_queues;
	/*
	 * Our ends of the socket pairs: one start's handshake, then, once the
	 * kernel has them (nbd_watched), kept to see which connection ended
	 * when nbd announces one dead (never read, never in the epoll set).
	 */
	int nbd_socks[DBK_BLOCK_QUEUES_MAX];
	unsigned int nr_nbd_socks;
	bool nbd_watched;
	uint64_t nbd_check_at;		/* ms: nbd said a connection died; look then (0: no) */
	unsigned int nbd_looks;		/* looks after that one, when it finds none ended */
	/* A connection ended while the driver ran: it is killed then unless it exited (ms; 0: none). */
	uint64_t nbd_drop_at;
	pid_t nbd_drop_pid;		/* the driver it was, that deadline's */
	unsigned int nbd_drop_queue;
	pid_t nbd_helper;		/* the child making the handshake, 0: none or reaped */
	int nbd_pipe;			/* its result, in the loop; -1: none */
	uint64_t nbd_deadline;		/* monotonic ms: the helper is killed then; 0: none */
	const char *nbd_killed;		/* why the frontend killed the driver (its last_exit), or NULL */
	/*
	 * The network frontend (net-frontend.c): the TAP, while a driver runs
	 * or a restart is coming (it outlives the driver's queue).
	 */
	bool net_open;			/* net_keeper, net_name and net_ifindex are set */
	int net_keeper;			/* devbrokerd's own queue, detached: keeps the TAP alive */
	char net_name[16];		/* Network= expanded, the name it was made with (IFNAMSIZ) */
	unsigned int net_ifindex;	/* which interface it is, whatever its name now */
	/*
	 * The driver's standard output and error (drvlog.c): a pipe of its
	 * own, read in the loop and logged as its lines, never the daemon's.
	 */
	int log_fd;			/* the read end, -1: none */
	pid_t log_pid;			/* the driver that holds the write end */
	uint64_t log_resume_at;		/* monotonic ms: out of the loop (flooding) until then; 0: in it */
	bool log_draining;		/* asked to stop: read, never paused */
	struct dbk_outlog log;
};

#define DBK_MAX_EVENT_CLIENTS	64

/*
 * What an fd in the epoll set is.  Its event carries the kind, a serial
 * and the fd (dbk_epoll_add), and is served only while the daemon's table
 * still holds that same tag for the fd: an event left over for an fd that
 * was closed, and whose number now is another fd's (a driver's socket
 * pair end), is dropped, never read as a control request.
 */
enum dbk_ep_kind {
	DBK_EP_SIGNAL = 1, DBK_EP_TIMER, DBK_EP_UEVENT, DBK_EP_WATCH, DBK_EP_LISTEN,
	DBK_EP_DENIALS, DBK_EP_NBD, DBK_EP_NBD_EVENTS, DBK_EP_CLIENT, DBK_EP_DRVLOG,
};

struct dbk_daemon {
	/* Configuration: the command line's, else the FHS defaults. */
	const char *socket_path;
	const char *sysdir, *etcdir, *limits_path, *state_path;
	const char *policy_dir, *policy_loader;
	bool autobind_cli;		/* --no-autobind clears */
	/* Manifests and limits (reloaded on SIGHUP), and the devices. */
	struct dbk_manifest *manifests;
	int nr_manifests;
	struct dbk_limits limits;
	struct dbk_entry *devs;
	int nr_devs;
	/* The event loop. */
	int epfd, timerfd;
	uint64_t *ep_tags;		/* by fd: its tag in the epoll set, 0: none */
	int nr_ep_tags;
	uint32_t ep_serial;
	/* The manifests changed: reload at reload_at (ms; 0: no), settled from reload_first. */
	uint64_t reload_at, reload_first;
	int watchfd;			/* watch.c's inotify fd, -1 if none */
	bool quitting;			/* shutting down: no driver starts any more, they are stopped */
	bool force_quit;		/* a second SIGTERM: revoke and kill what still runs, at once */
	int events[DBK_MAX_EVENT_CLIENTS];	/* control clients subscribed to events */
	int nr_events;
	/*
	 * `unbind` requests with "wait": the client's fd and the device, to
	 * be answered when the device is given back (dbk_control_unbound).
	 */
	struct dbk_unbind_waiter {
		int fd;
		char id[sizeof(((struct dbk_devinfo *)0)->id)];
	} unbind_waiters[DBK_MAX_EVENT_CLIENTS];
	int nr_unbind_waiters;
	/* Policy denials (denied.c). */
	struct dbk_denials *denials;
	int denials_watched;		/* its fd in the epoll set, -1 until then */
	bool denials_pci_failed;
	/* DynamicUser=: the next id to try, offset in the range (dynuser.c). */
	uint32_t dyn_next;
	bool dyn_seeded;
	/* nbd's announcements (nbd-frontend.c), once a disk is connected; NULL: none. */
	struct nl_sock *nbd_events;
};

/*
 * At most one fd of each kind (grant or usbfs, CUSE, uinput, FUSE, TAP),
 * and the block frontend's, one per queue.
 */
#define DBK_LAUNCH_FDS	(5 + DBK_BLOCK_QUEUES_MAX)

/* One driver start, as launch.c carries it through its bus and frontends. */
struct dbk_launch {
	const struct dbk_manifest *m;
	uid_t uid;			/* the driver's, never 0 */
	gid_t gid;
	int fds[DBK_LAUNCH_FDS];	/* fds[i] becomes fd 3 + i in the driver */
	int nfds;
	int at[DBK_HANDOVER_NR_FDS];	/* index in fds[] of each hand-over fd, -1: none */
	int block_at;			/* index in fds[] of the first block fd */
	unsigned int nr_block;		/* block fds, one per queue (DBK_BLOCK_FDS) */
	int log_wr;			/* the write end of the driver's log pipe: its fd 1 and 2 */
	/* USB: the request policy's rules, marked on the child before its sandbox. */
	bool usb_marked;
	struct dbk_usb_rules usb_rules;
};

/*
 * A bus: how devices are found, granted and taken back.  The daemon has
 * no PCI or USB branch of its own: what differs lives here.
 */
struct dbk_bus_ops {
	const char *name;		/* "pci", "usb": in events and `devbrokerctl` */
	enum dbk_handover_fd handover;	/* what the driver's access is handed over as */
	/* Report every device, in bus order; the count or a negative errno. */
	int (*scan)(struct dbk_daemon *dd,
		    void (*found)(struct dbk_daemon *dd, const struct dbk_devinfo *info));
	/* The manifest for a device, or NULL. */
	const struct dbk_manifest *(*match)(struct dbk_daemon *dd, const struct dbk_devinfo *info);
	/* Before the grant (may be NULL): what the driver's child needs besides. */
	int (*prepare)(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l);
	/* The driver's access, bounded by d->rights: an fd, or a negative errno (logged). */
	int (*grant)(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m);
	/*
	 * Forced revocation of a running driver's access: before its SIGKILL
	 * (PCI: it loses the device at once, whatever it is doing) or, with
	 * @revoke_after_kill, after it (USB: else the dying driver could
	 * claim an interface again with its next transfer).
	 */
	void (*revoke)(struct dbk_daemon *dd, struct dbk_entry *d);
	bool revoke_after_kill;
	/* The driver is gone or did not start: its access ends, the device goes back. */
	void (*release)(struct dbk_daemon *dd, struct dbk_entry *d);
	/* `devbrokerctl unbind`, after the stop: the device back to the kernel. */
	void (*unbind)(struct dbk_daemon *dd, struct dbk_entry *d);
	/* Is the device still plugged in (NULL: the module's remove() tells)? */
	bool (*present)(const struct dbk_devinfo *info);
	/* How long a driver may take to exit by itself once its device is unplugged. */
	unsigned int unplug_grace_ms;
	/* A state file's @id is this bus's; a previous daemon's driver on it is cleaned up after. */
	bool (*owns_id)(const char *id);
	void (*recover)(const char *id, uint32_t mask);
};

extern const struct dbk_bus_ops dbk_bus_pci, dbk_bus_usb;
/* Every bus, NULL-terminated; the bus of an entry. */
extern const struct dbk_bus_ops *const dbk_buses[];
const struct dbk_bus_ops *dbk_bus_of(const struct dbk_devinfo *info);

/*
 * A frontend the broker opens for a driver (the driver may not): the
 * manifest's [Frontend] keys.  Block (nbd) and network (TAP) frontends
 * plug in here the same way.
 */
struct dbk_frontend_ops {
	const char *name;
	enum dbk_handover_fd handover;
	bool (*wanted)(const struct dbk_manifest *m);
	/* The fd to hand over, or a negative errno (logged). */
	int (*open)(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l);
	/* Instead of open: put several fds into @l itself; 0 or a negative errno (logged). */
	int (*add)(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l);
	/* The driver @pid was forked with its fds (may be NULL). */
	void (*started)(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l,
			pid_t pid);
	/* The driver is gone or did not start (may be NULL). */
	void (*close)(struct dbk_daemon *dd, struct dbk_entry *d);
};
extern const struct dbk_frontend_ops *const dbk_frontends[];	/* NULL-terminated */
extern const struct dbk_frontend_ops dbk_frontend_nbd, dbk_frontend_net;

/* event.c */
void dbk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log an event and send it to every `devbrokerctl events` client. */
void dbk_event(struct dbk_daemon *dd, const char *event, const struct dbk_entry *d,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
uint64_t dbk_now_ms(void);

/* entry.c */
const char *dbk_state_name(enum dbk_state s);
struct dbk_entry *dbk_entry_find(struct dbk_daemon *dd, const char *id);
const struct dbk_manifest *dbk_manifest_by_name(struct dbk_daemon *dd, const char *name);
/* Scan every bus: new devices are added (and started), vanished ones dropped. */
void dbk_rescan(struct dbk_daemon *dd);
int dbk_entry_start(struct dbk_daemon *dd, struct dbk_entry *d);
/* Forced: SIGKILL now, with the bus's revocation if @revoke.  Ends a stop grace. */
int dbk_entry_stop(struct dbk_daemon *dd, struct dbk_entry *d, bool revoke);
/*
 * Orderly: SIGTERM, and the driver's StopTimeoutSec= to exit before
 * dbk_entry_stop(revoke) from the timer; at once when that is 0.
 */
void dbk_entry_term(struct dbk_daemon *dd, struct dbk_entry *d);
/* Is any driver still running (shutdown waits for them)? */
bool dbk_entry_any_running(const struct dbk_daemon *dd);
/* A driver process was reaped. */
void dbk_entry_exited(struct dbk_daemon *dd, pid_t pid, int status);
void dbk_timer_fired(struct dbk_daemon *dd);
void dbk_timer_arm(struct dbk_daemon *dd);
/* After a reload: drivers whose manifest is gone stop, unmatched devices match again. */
void dbk_entry_rematch(struct dbk_daemon *dd);
/* devbroker.ko appeared: PCI drivers that could not start without it start. */
void dbk_entry_module_loaded(struct dbk_daemon *dd);
/* The control commands: 0 or a negative errno. */
int dbk_entry_bind_cmd(struct dbk_daemon *dd, struct dbk_entry *d);
int dbk_entry_unbind_cmd(struct dbk_daemon *dd, struct dbk_entry *d);
int dbk_entry_revoke_cmd(struct dbk_daemon *dd, struct dbk_entry *d);
int dbk_entry_release_cmd(struct dbk_daemon *dd, struct dbk_entry *d);

/* devbrokerd.c: reread the manifests and limits, then dbk_entry_rematch(). */
void dbk_reload(struct dbk_daemon *dd);
/* @fd into the epoll set (EPOLLIN) as a @kind: 0 or a negative errno. */
int dbk_epoll_add(struct dbk_daemon *dd, int fd, enum dbk_ep_kind kind);
/* @fd out of the epoll set: before every close() of an fd added. */
void dbk_epoll_del(struct dbk_daemon *dd, int fd);

/*
 * watch.c: the manifest directories, through inotify: an fd, or a negative
 * errno.  dbk_watch_refresh() watches them again after a reload (one may
 * have been created or replaced since).
 */
int dbk_watch_open(struct dbk_daemon *dd);
void dbk_watch_refresh(struct dbk_daemon *dd);
void dbk_watch_event(struct dbk_daemon *dd);

/* dynuser.c */
/* The uid (and gid) of @d's driver, allocated at its first start: 0 or a negative errno (logged). */
int dbk_dynuser_get(struct dbk_daemon *dd, struct dbk_entry *d, uid_t *uid);
/*
 * Release @d's dynamic uid, every process still holding it killed,
 * unless a driver runs or a restart is pending (@force: whatever the state).
 */
void dbk_dynuser_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force);

/* launch.c */
pid_t dbk_launch(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m);
uint64_t dbk_policy_cookie(const char *driver);

/* frontend.c */
/* Apply the manifest's owner and mode to a CUSE node once it appears. */
void dbk_frontend_appeared(struct dbk_daemon *dd, const char *devname);
/* CUSE nodes may appear before their uevent is read: look for them too. */
void dbk_frontend_poll(struct dbk_daemon *dd);
/* The driver is gone or did not start: every frontend's close. */
void dbk_frontends_close(struct dbk_daemon *dd, struct dbk_entry *d);
/*
 * What outlives a driver for its restart (the disk, the network
 * interface) goes, unless a driver runs or a restart is pending (@force:
 * whatever the state).  Called wherever an entry's state may have ended
 * that wait.
 */
void dbk_frontends_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force);
/* net-frontend.c: the network interface's part of it. */
void dbk_net_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force);
/* mkdir -p, root-owned 0755 components: 0 or a negative errno. */
int dbk_mkdirs(const char *path);

/* drvlog.c: a driver's output */
/*
 * A pipe for @d's next driver: its read end @d's and in the loop, the
 * write end in *@wr (the driver's stdout and stderr); 0 or a negative
 * errno (nothing left open).
 */
int dbk_drvlog_open(struct dbk_daemon *dd, struct dbk_entry *d, int *wr);
/* @fd is a driver's log pipe: its lines logged. */
void dbk_drvlog_event(struct dbk_daemon *dd, int fd);
/* From the timer: a pipe paused for flooding is read again once its window is over. */
void dbk_drvlog_timer(struct dbk_daemon *dd, struct dbk_entry *d, uint64_t now);
/* The driver was sent SIGTERM: its pipe is read from now on, never paused. */
void dbk_drvlog_stopping(struct dbk_daemon *dd, struct dbk_entry *d);
/* The driver was reaped (or never forked): what it wrote last logged, the pipe closed. */
void dbk_drvlog_close(struct dbk_daemon *dd, struct dbk_entry *d);

/* nbd-frontend.c (Block=) */
/* @fd is a block handshake's result pipe: handled (true), or not one (false). */
bool dbk_nbd_event(struct dbk_daemon *dd, int fd);
/* nbd's multicast group said a device's connection died (dd->nbd_events readable). */
void dbk_nbd_events(struct dbk_daemon *dd);
/*
 * The entry's nbd device, disconnected and its links removed, unless a
 * driver runs or a restart is pending (@force: whatever the state).
 */
void dbk_nbd_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force);
/* At start: the disks a previous devbrokerd left connected, disconnected; its links removed. */
void dbk_nbd_recover(void);
/*
 * From the timer: a handshake helper past its deadline is killed, the start
 * failed; a driver still running after its connection dropped is killed.
 */
void dbk_nbd_timer(struct dbk_daemon *dd, struct dbk_entry *d, uint64_t now);
/* A child was reaped: true if it was a handshake helper (forgotten: its pid is free). */
bool dbk_nbd_reaped(struct dbk_daemon *dd, pid_t pid);

/* pci.c, besides its ops: the module's forced revocation of a device's live grant. */
void dbk_pci_revoke_fd(int devfd);

/* state.c: "ID PID STARTTIME DRIVER USBMASK [FUSEMOUNT]" per running driver. */
void dbk_state_save(struct dbk_daemon *dd);
/* The previous instance's drivers: stopped, their devices cleaned up after. */
void dbk_state_recover(struct dbk_daemon *dd);

/* denied.c */
int dbk_denied_open(struct dbk_daemon *dd);
/* The module may be loaded after us: keep trying to follow its denials. */
void dbk_denied_follow_pci(struct dbk_daemon *dd);
/* Once the USB request policy is loaded, follow its denials too. */
void dbk_denied_follow_usb(struct dbk_daemon *dd);

/* control.c */
int dbk_control_open(const char *path);
void dbk_control_accept(struct dbk_daemon *dd, int lfd);
void dbk_control_client(struct dbk_daemon *dd, int fd);
void dbk_control_broadcast(struct dbk_daemon *dd, struct json_object *ev);
/*
 * The device of @d was given back to the kernel (@err 0), or will not be
 * (@err: a positive errno, ENODEV: unplugged): every `unbind` waiting for
 * it gets its reply.
 */
void dbk_control_unbound(struct dbk_daemon *dd, const struct dbk_entry *d, int err);

/* uevent.c */
int dbk_uevent_open(void);
/* Reads one uevent; returns 1 with @action/@subsystem/@devpath filled, 0 if none. */
int dbk_uevent_read(int fd, char *action, size_t alen, char *subsystem, size_t slen,
		    char *devpath, size_t plen, char *devname, size_t nlen);

#endif /* DBK_DAEMON_H */
