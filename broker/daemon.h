/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devbrokerd internals: the device table, launching, control. */
#ifndef DBK_DAEMON_H
#define DBK_DAEMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "broker.h"

enum dbk_state {
	DBK_ST_UNMATCHED,	/* no manifest matches */
	DBK_ST_IDLE,		/* matched, no driver (auto-bind off, or clean exit) */
	DBK_ST_RUNNING,
	DBK_ST_BACKOFF,		/* crashed; restart pending */
	DBK_ST_QUARANTINED,	/* crashed too often; bound, no grant */
	DBK_ST_REVOKED,		/* revoked by the administrator */
	DBK_ST_GONE,		/* unplugged; forgotten once its driver is reaped */
};

/* One device in the daemon's table, and what it knows of its driver. */
struct dbk_entry {
	struct dbk_devinfo info;
	char driver[DBK_NAME_MAX];	/* matched manifest's name, "" if none */
	enum dbk_state state;
	pid_t pid;			/* running driver, 0 if none */
	bool stopping;			/* we are stopping it: its exit is no crash */
	int devfd;			/* /dev/devbroker/<id> while bound, else -1 */
	int instance;			/* %i, -1 until first start */
	struct dbk_rights rights;	/* what the running driver was granted */
	char cuts[512];			/* what the limits cut, one per line */
	struct dbk_backoff backoff;
	uint64_t restart_at;		/* monotonic ms, in DBK_ST_BACKOFF */
	uint64_t kill_at;		/* monotonic ms: an unplugged USB driver's time to exit */
	uint64_t denied_window;		/* monotonic ms: start of the second denials are counted in */
	unsigned int denied_shown, denied_hidden;	/* in that second */
	char last_exit[32];
	/*
	 * The CUSE node, "/dev/edu0" ("" if none): stat()ed until it appears.
	 * Never a path in a driver-served FUSE mount: a stat() there waits
	 * on the driver, which could hold devbrokerd for as long as it likes.
	 */
	char frontend[DBK_PATH_MAX];
	char fuse_mount[DBK_PATH_MAX];	/* mounted for the driver, "" if none */
	bool frontend_ready;		/* owner and mode applied */
	bool seen;			/* present in the last scan */
};

struct dbk_daemon {
	const char *socket_path;
	const char *sysdir, *etcdir, *limits_path, *state_path;
	const char *policy_dir, *policy_loader;
	bool autobind_cli;		/* --no-autobind clears */
	struct dbk_manifest *manifests;
	int nr_manifests;
	struct dbk_limits limits;
	struct dbk_entry *devs;
	int nr_devs;
	int epfd;
};

extern struct dbk_daemon dbk;

/* devbrokerd.c */
void dbk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dbk_event(const char *event, const struct dbk_entry *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t dbk_now_ms(void);
void dbk_revoke_fd(int devfd);
const char *dbk_state_name(enum dbk_state s);
struct dbk_entry *dbk_entry_find(const char *id);
const struct dbk_manifest *dbk_manifest_by_name(const char *name);
int dbk_entry_start(struct dbk_entry *d);
int dbk_entry_stop(struct dbk_entry *d, bool revoke);
int dbk_entry_bind_cmd(struct dbk_entry *d);
int dbk_entry_unbind_cmd(struct dbk_entry *d);
int dbk_entry_release_cmd(struct dbk_entry *d);

/* pci.c */
int dbk_pci_scan(void (*found)(const struct dbk_devinfo *info));
int dbk_pci_bind(const char *bdf);
int dbk_pci_unbind(const char *bdf);
int dbk_pci_open_node(const char *bdf);

/* usb.c */
int dbk_usb_scan(void (*found)(const struct dbk_devinfo *info));
/* The driver's usbfs fd: its interfaces claimed for it and restricted to them. */
int dbk_usb_grant(struct dbk_entry *d);
/*
 * Ownership: each of these acts only on @d's interfaces that no other
 * entry's live driver holds.
 * Take them from whoever holds them through usbfs (forced revocation).
 */
void dbk_usb_revoke(const struct dbk_entry *d);
/* The same, then let the kernel drivers probe the driverless ones again. */
void dbk_usb_giveback(const struct dbk_entry *d);
/* Only the second step: no usbfs claim is taken from anyone. */
void dbk_usb_connect(const struct dbk_entry *d);
/* Can the device still be opened (not unplugged, not replugged)? */
bool dbk_usb_present(const struct dbk_devinfo *info);
void dbk_usb_recover(const char *id, uint32_t mask);

/* devbrokerd.c: once the USB request policy is loaded, report its denials. */
void dbk_usb_denials_follow(void);

/* launch.c */
pid_t dbk_launch(struct dbk_entry *d, const struct dbk_manifest *m);
void dbk_launch_cleanup(struct dbk_entry *d);
uint64_t dbk_policy_cookie(const char *driver);

/* control.c */
int dbk_control_open(const char *path);
void dbk_control_accept(int lfd);
void dbk_control_client(int fd);
void dbk_control_broadcast(struct json_object *ev);
struct json_object *dbk_entry_json(const struct dbk_entry *d, bool detail);

/* uevent.c */
int dbk_uevent_open(void);
/* Reads one uevent; returns 1 with @action/@subsystem/@devpath filled, 0 if none. */
int dbk_uevent_read(int fd, char *action, size_t alen, char *subsystem, size_t slen,
		    char *devpath, size_t plen, char *devname, size_t nlen);

#endif /* DBK_DAEMON_H */
