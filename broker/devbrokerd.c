// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * devbrokerd: the one privileged process of devbroker's userspace.
 *
 * It discovers PCI and USB devices, matches them to driver manifests, hands
 * each a grant bounded by the administrator's limits (a devbroker.ko grant
 * fd for PCI, a restricted usbfs fd for USB), starts its driver sandboxed
 * and unprivileged, restarts it with exponential backoff when it crashes,
 * quarantines a device whose driver crashes too often, and revokes on
 * demand.  Once a driver has its fds the daemon is off the hot path.
 *
 * Restart: the daemon records running drivers in its state file; a new
 * instance revokes their grants through the module and terminates them,
 * then starts fresh ones (devbrokerd(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "control-protocol.h"
#include "daemon.h"
#include "denials.h"
#include "usbpolicy.h"

struct dbk_daemon dbk = {
	.socket_path = DBK_CONTROL_SOCKET,
	.sysdir = DBK_DATADIR "/drivers.d",
	.etcdir = DBK_SYSCONFDIR "/drivers.d",
	.limits_path = DBK_SYSCONFDIR "/limits.conf",
	.state_path = DBK_RUNDIR "/state",
	.policy_dir = DBK_DATADIR "/policies",
	.policy_loader = DBK_LIBEXECDIR "/dbk-policy",
	.autobind_cli = true,
};

static int dbk_timerfd = -1;
static struct dbk_denials *dbk_denials;
static bool dbk_denials_pci_failed;

/* Once the denials' ring buffers exist, their one fd joins the epoll set. */
static void dbk_denials_watch(void)
{
	static int watched = -1;
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.fd = dbk_denials_fd(dbk_denials);
	if (ev.data.fd < 0 || ev.data.fd == watched)
		return;
	if (epoll_ctl(dbk.epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) == 0)
		watched = ev.data.fd;
}

/* The module may be loaded after us: keep trying to follow its denials. */
static void dbk_denials_try_pci(void)
{
	int ret;

	if (!dbk_denials || dbk_denials_pci_failed)
		return;
	ret = dbk_denials_follow_pci(dbk_denials);
	if (ret == -ENOENT || ret == -EALREADY)
		return;
	if (ret) {
		dbk_denials_pci_failed = true;	/* not the module's absence: say it once */
		dbk_log("PCI policy denials will not be reported: %s", strerror(-ret));
		return;
	}
	dbk_denials_watch();
	dbk_log("following PCI policy denials");
}

/* At most this many "denied" events per device and second: a driver can loop on refusals. */
#define DBK_DENIED_PER_SEC	10

static struct dbk_entry *dbk_denied_dev(const struct dbk_denial *dn)
{
	char id[DBK_DENIAL_ID_MAX];
	pid_t pgid;
	int i;

	/* PCI: the kernel named the device. */
	if (dn->bus == DBK_DENIAL_PCI) {
		dbk_denial_pci_id(dn, id);
		return dbk_entry_find(id);
	}
	pgid = getpgid((pid_t)dn->pid);	/* a driver leads its process group */
	for (i = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].pid > 0 && (dbk.devs[i].pid == (pid_t)dn->pid || dbk.devs[i].pid == pgid))
			return &dbk.devs[i];
	/* Gone already: the first device whose driver has that cookie. */
	for (i = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].driver[0] && dbk_policy_cookie(dbk.devs[i].driver) == dn->cookie)
			return &dbk.devs[i];
	return NULL;
}

/* A call a policy refused: a "denied" event of the device it was about. */
static void dbk_denied(const struct dbk_denial *dn, void *data)
{
	struct dbk_entry *d = dbk_denied_dev(dn);
	uint64_t now = dbk_now_ms();
	char what[320];

	(void)data;
	if (d && now - d->denied_window >= 1000) {
		if (d->denied_hidden)
			dbk_event("denied", d, "%u more refusals not shown (at most %d a second)",
				  d->denied_hidden, DBK_DENIED_PER_SEC);
		d->denied_window = now;
		d->denied_shown = d->denied_hidden = 0;
	}
	if (d && d->denied_shown >= DBK_DENIED_PER_SEC) {
		d->denied_hidden++;
		return;
	}
	if (d)
		d->denied_shown++;
	dbk_denial_format(dn, what, sizeof(what));
	dbk_event("denied", d, "%s", what);
}

void dbk_usb_denials_follow(void)
{
	int ret;

	if (!dbk_denials)
		return;
	ret = dbk_denials_add_pin(dbk_denials, DBK_USB_DENIALS_PIN);
	if (ret == -EALREADY)
		return;
	if (ret) {
		dbk_log("USB request denials will not be reported: %s", strerror(-ret));
		return;
	}
	dbk_denials_watch();
}

void dbk_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("devbrokerd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t dbk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const dbk_state_names[] = {
	[DBK_ST_UNMATCHED] = "unmatched", [DBK_ST_IDLE] = "idle", [DBK_ST_RUNNING] = "running",
	[DBK_ST_BACKOFF] = "backoff", [DBK_ST_QUARANTINED] = "quarantined",
	[DBK_ST_REVOKED] = "revoked", [DBK_ST_GONE] = "gone",
};

const char *dbk_state_name(enum dbk_state s)
{
	return dbk_state_names[s];
}

/* Log an event and send it to every `devbrokerctl events` client. */
void dbk_event(const char *event, const struct dbk_entry *d, const char *fmt, ...)
{
	struct json_object *ev = json_object_new_object();
	struct timespec ts;
	char detail[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	dbk_log("%s: %s: %s", d ? d->info.id : "-", event, detail);
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(ev, "event", json_object_new_string(event));
	json_object_object_add(ev, "device", d ? json_object_new_string(d->info.id) : NULL);
	json_object_object_add(ev, "driver", d && d->driver[0] ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(ev, "pid", d && d->pid ? json_object_new_int(d->pid) : NULL);
	json_object_object_add(ev, "time", json_object_new_double(ts.tv_sec + ts.tv_nsec / 1e9));
	json_object_object_add(ev, "detail", json_object_new_string(detail));
	dbk_control_broadcast(ev);
	json_object_put(ev);
}

struct dbk_entry *dbk_entry_find(const char *id)
{
	int i;

	for (i = 0; i < dbk.nr_devs; i++)
		if (!strcmp(dbk.devs[i].info.id, id) && dbk.devs[i].state != DBK_ST_GONE)
			return &dbk.devs[i];
	return NULL;
}

const struct dbk_manifest *dbk_manifest_by_name(const char *name)
{
	int i;

	for (i = 0; i < dbk.nr_manifests; i++)
		if (dbk.manifests[i].valid && !strcmp(dbk.manifests[i].name, name))
			return &dbk.manifests[i];
	return NULL;
}

static struct dbk_entry *dbk_entry_by_pid(pid_t pid)
{
	int i;

	for (i = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].pid == pid)
			return &dbk.devs[i];
	return NULL;
}

/* A process's start time (clock ticks since boot): with the pid, its identity. */
static unsigned long long dbk_pid_starttime(pid_t pid)
{
	unsigned long long start = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		/* Field 22; fields 3-21 follow the command name's closing parenthesis. */
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		       &start);
	fclose(f);
	return start;
}

/*
 * The state file: one "ID PID STARTTIME DRIVER USBMASK [FUSEMOUNT]" line
 * per running driver.
 */
static void dbk_state_save(void)
{
	char tmp[DBK_PATH_MAX + 8];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.new", dbk.state_path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	for (i = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].pid > 0)
			fprintf(f, "%s %d %llu %s 0x%x %s\n", dbk.devs[i].info.id, (int)dbk.devs[i].pid,
				dbk_pid_starttime(dbk.devs[i].pid), dbk.devs[i].driver,
				dbk.devs[i].info.usb_ifaces, dbk.devs[i].fuse_mount);
	if (fclose(f) == 0)
		rename(tmp, dbk.state_path);
}

/* The module's forced revocation of the device's live grant, if any. */
void dbk_revoke_fd(int devfd)
{
	struct dbk_revoke rv = { .argsz = sizeof(rv) };

	if (devfd >= 0)
		ioctl(devfd, DBK_DEVICE_REVOKE, &rv);
}

static void dbk_revoke_node(const char *id)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/dev/devbroker/%s", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	dbk_revoke_fd(fd);
	if (fd >= 0)
		close(fd);
}

/* USB ids are sysfs names ("1-2:1.0"); PCI ids are "0000:00:04.0". */
static bool dbk_id_is_usb(const char *id)
{
	return strchr(id, '-') != NULL;
}

/*
 * The previous instance's drivers: revoke their grants, terminate them,
 * give their USB interfaces back and remove their FUSE mounts.
 */
static void dbk_state_recover(void)
{
	char line[DBK_PATH_MAX * 2], id[64], drv[DBK_NAME_MAX], mnt[DBK_PATH_MAX];
	unsigned long long start;
	FILE *f = fopen(dbk.state_path, "re");
	unsigned int mask;
	int pid, i, n;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		mnt[0] = '\0';
		mask = 0;
		n = sscanf(line, "%63s %d %llu %63s %x %255s", id, &pid, &start, drv, &mask, mnt);
		if (n < 4)
			continue;
		if (!dbk_id_is_usb(id))
			dbk_revoke_node(id);
		/* Only the very process we started: never a recycled pid. */
		if (pid > 1 && start && dbk_pid_starttime(pid) == start) {
			dbk_log("%s: stopping driver %s (pid %d) of the previous devbrokerd", id, drv, pid);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
				usleep(10000);
		}
		if (dbk_id_is_usb(id))
			dbk_usb_recover(id, mask);
		if (mnt[0] == '/' && umount2(mnt, MNT_DETACH) == 0)
			dbk_log("%s: removed the FUSE mount %s of the previous devbrokerd", id, mnt);
	}
	fclose(f);
	unlink(dbk.state_path);
}

static void dbk_timer_arm(void)
{
	struct itimerspec its = { 0 };
	uint64_t next = 0, now = dbk_now_ms();
	int i;

	for (i = 0; i < dbk.nr_devs; i++) {
		if (dbk.devs[i].state == DBK_ST_BACKOFF && (!next || dbk.devs[i].restart_at < next))
			next = dbk.devs[i].restart_at;
		if (dbk.devs[i].kill_at && dbk.devs[i].pid > 0 && (!next || dbk.devs[i].kill_at < next))
			next = dbk.devs[i].kill_at;
	}
	if (next) {
		next = next > now ? next - now : 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	timerfd_settime(dbk_timerfd, 0, &its, NULL);
}

int dbk_entry_start(struct dbk_entry *d)
{
	const struct dbk_manifest *m = dbk_manifest_by_name(d->driver);
	pid_t pid;

	if (!m)
		return -ENOENT;
	pid = dbk_launch(d, m);
	if (pid < 0) {
		/* Starting failed: count it like a crash, so a broken setup ends in quarantine. */
		long delay = dbk_backoff_crash(&d->backoff, dbk_now_ms(), m->restart_burst,
					       m->restart_window);

		snprintf(d->last_exit, sizeof(d->last_exit), "start: %s", strerror((int)-pid));
		if (delay < 0) {
			d->state = DBK_ST_QUARANTINED;
			dbk_event("quarantined", d, "could not start %s", m->name);
		} else {
			d->state = DBK_ST_BACKOFF;
			d->restart_at = dbk_now_ms() + delay;
		}
		dbk_timer_arm();
		return (int)pid;
	}
	d->pid = pid;
	d->stopping = false;
	d->state = DBK_ST_RUNNING;
	dbk_state_save();
	return 0;
}

/*
 * Stop the driver: with @revoke, the module's forced revocation first, so
 * that it loses the device at once whatever it is doing; then SIGKILL to
 * its process group.  Its exit is reaped by the SIGCHLD handler.
 */
int dbk_entry_stop(struct dbk_entry *d, bool revoke)
{
	if (revoke && d->info.bus == DBK_BUS_PCI)
		dbk_revoke_fd(d->devfd);
	if (d->pid > 0) {
		d->stopping = true;
		kill(-d->pid, SIGKILL);
		kill(d->pid, SIGKILL);
		/*
		 * USB: after the kill, so that the dying driver cannot claim
		 * an interface again with its next transfer (usbfs claims one
		 * a dropped fd may use on first use).  Only a running driver's:
		 * another program's usbfs claims are not ours to take.
		 */
		if (revoke && d->info.bus == DBK_BUS_USB)
			dbk_usb_revoke(d);
	}
	return 0;
}

/* A device the broker has not seen before, or seen again. */
static void dbk_entry_gone(struct dbk_entry *d);

/*
 * A USB entry whose device is still here but whose interfaces are now
 * grouped otherwise (the manifests changed): its driver stops at once,
 * before the new entries' drivers start, and give-back leaves to them
 * what they hold.
 */
static void dbk_entry_regrouped(struct dbk_entry *d)
{
	dbk_event("removed", d, "regrouped: its interfaces (0x%x) go to other entries now",
		  d->info.usb_ifaces);
	dbk_entry_stop(d, true);
	d->state = DBK_ST_GONE;
}

static void dbk_entry_found(const struct dbk_devinfo *info)
{
	const struct dbk_manifest *m;
	struct dbk_entry *d = dbk_entry_find(info->id), *nd;

	/* Replugged at the same port between two scans: a new device. */
	if (d && info->bus == DBK_BUS_USB && d->info.devnum != info->devnum) {
		dbk_entry_gone(d);
		d = NULL;
	}
	/* The same device, its interfaces grouped otherwise. */
	if (d && info->bus == DBK_BUS_USB && d->info.usb_ifaces != info->usb_ifaces) {
		dbk_entry_regrouped(d);
		d = NULL;
	}
	if (d) {
		d->seen = true;
		return;
	}
	nd = realloc(dbk.devs, (dbk.nr_devs + 1) * sizeof(*dbk.devs));
	if (!nd)
		return;
	dbk.devs = nd;
	d = &dbk.devs[dbk.nr_devs++];
	memset(d, 0, sizeof(*d));
	d->info = *info;
	d->devfd = -1;
	d->instance = -1;
	d->seen = true;
	/* A USB entry without interfaces is the unmatched rest of a device: never driven. */
	m = info->bus == DBK_BUS_USB && !info->usb_ifaces ? NULL :
	    dbk_match(dbk.manifests, dbk.nr_manifests, &dbk.limits, info);
	d->state = m ? DBK_ST_IDLE : DBK_ST_UNMATCHED;
	if (m)
		snprintf(d->driver, sizeof(d->driver), "%s", m->name);
	if (info->bus == DBK_BUS_USB && info->usb_ifaces)
		dbk_event("added", d, "usb %04x:%04x interfaces 0x%x class %06x%s%s", info->vendor,
			  info->device, info->usb_ifaces, info->class_code, m ? ", driver " : "",
			  m ? m->name : "");
	else
		dbk_event("added", d, "%s %04x:%04x class %06x%s%s",
			  info->bus == DBK_BUS_USB ? "usb" : "pci", info->vendor, info->device,
			  info->class_code, m ? ", driver " : "", m ? m->name : "");
}

/* A USB driver sees the unplug itself and exits cleanly: this long. */
#define DBK_USB_EXIT_GRACE_MS	2000

static void dbk_entry_gone(struct dbk_entry *d)
{
	dbk_event("removed", d, "unplugged");
	if (d->info.bus == DBK_BUS_USB && d->pid > 0) {
		d->kill_at = dbk_now_ms() + DBK_USB_EXIT_GRACE_MS;
		dbk_timer_arm();
	} else {
		dbk_entry_stop(d, false);	/* the module already revoked in remove() */
	}
	if (d->devfd >= 0)
		close(d->devfd);
	d->devfd = -1;
	d->state = DBK_ST_GONE;
}

/* Drop GONE devices whose driver has been reaped. */
static void dbk_entry_compact(void)
{
	int i, j;

	for (i = j = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].state != DBK_ST_GONE || dbk.devs[i].pid > 0)
			dbk.devs[j++] = dbk.devs[i];
	dbk.nr_devs = j;
}

static void dbk_rescan(void)
{
	bool pci_ok, usb_ok;
	int i;

	for (i = 0; i < dbk.nr_devs; i++)
		dbk.devs[i].seen = false;
	pci_ok = dbk_pci_scan(dbk_entry_found) >= 0;
	usb_ok = dbk_usb_scan(dbk_entry_found) >= 0;
	/* A scan that failed says nothing about its bus's devices: keep them. */
	for (i = 0; i < dbk.nr_devs; i++)
		if ((dbk.devs[i].info.bus == DBK_BUS_PCI && !pci_ok) ||
		    (dbk.devs[i].info.bus == DBK_BUS_USB && !usb_ok))
			dbk.devs[i].seen = true;
	if (!pci_ok || !usb_ok)
		dbk_log("a %s scan failed: its devices are kept as they were", !pci_ok ? "PCI" : "USB");
	/* Before any new entry starts: a regrouped entry's driver must let go first. */
	for (i = 0; i < dbk.nr_devs; i++) {
		struct dbk_entry *d = &dbk.devs[i];

		if (d->seen || d->state == DBK_ST_GONE)
			continue;
		if (d->info.bus == DBK_BUS_USB && dbk_usb_present(&d->info))
			dbk_entry_regrouped(d);
		else
			dbk_entry_gone(d);
	}
	dbk_entry_compact();
	for (i = 0; i < dbk.nr_devs; i++) {
		const struct dbk_manifest *m = dbk_manifest_by_name(dbk.devs[i].driver);

		if (dbk.devs[i].state == DBK_ST_IDLE && dbk.devs[i].instance < 0 &&
		    dbk.autobind_cli && dbk.limits.auto_bind && m && m->auto_bind)
			dbk_entry_start(&dbk.devs[i]);
	}
}

static void dbk_child_exited(pid_t pid, int status)
{
	struct dbk_entry *d = dbk_entry_by_pid(pid);
	const struct dbk_manifest *m;
	bool crash;
	long delay;

	if (!d)
		return;
	d->pid = 0;
	if (WIFSIGNALED(status))
		snprintf(d->last_exit, sizeof(d->last_exit), "signal %d", WTERMSIG(status));
	else
		snprintf(d->last_exit, sizeof(d->last_exit), "exit %d", WEXITSTATUS(status));
	/* Whatever the driver left behind (a forked child holding the grant): gone. */
	kill(-pid, SIGKILL);
	d->kill_at = 0;
	if (d->info.bus == DBK_BUS_USB)
		dbk_usb_giveback(d);	/* whatever the reason, the kernel driver gets it back */
	else
		dbk_revoke_fd(d->devfd);
	d->frontend_ready = false;
	dbk_launch_cleanup(d);
	dbk_event("exited", d, "driver %s (pid %d): %s", d->driver, (int)pid, d->last_exit);
	dbk_state_save();
	if (d->state == DBK_ST_GONE) {
		dbk_entry_compact();
		return;
	}
	if (d->stopping) {	/* revoke, unbind or shutdown: not a crash */
		d->stopping = false;
		return;
	}
	m = dbk_manifest_by_name(d->driver);
	crash = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/*
	 * A USB driver exits 0 when its device goes away.  When the device is
	 * still here, something else took the interfaces (a reset by a
	 * sibling interface's kernel driver, a resume): start it again.
	 */
	if (!crash && d->info.bus == DBK_BUS_USB && dbk_usb_present(&d->info)) {
		dbk_log("%s: driver %s exited cleanly, but its device is still here: restarting it",
			d->info.id, d->driver);
		crash = true;
	}
	if (!m || m->restart == DBK_RESTART_NO || (!crash && m->restart == DBK_RESTART_ON_FAILURE)) {
		d->state = DBK_ST_IDLE;
		return;
	}
	delay = dbk_backoff_crash(&d->backoff, dbk_now_ms(), m->restart_burst, m->restart_window);
	if (delay < 0) {
		/* The module reset the device and cleared bus mastering when the grant ended. */
		d->state = DBK_ST_QUARANTINED;
		dbk_event("quarantined", d, "%u crashes within %u s; `devbrokerctl release %s` to retry",
			  m->restart_burst, m->restart_window, d->info.id);
		return;
	}
	d->state = DBK_ST_BACKOFF;
	d->restart_at = dbk_now_ms() + delay;
	dbk_event("restarting", d, "in %ld ms (restart %u)", delay, d->backoff.restarts);
	dbk_timer_arm();
}

static void dbk_timer_fired(void)
{
	uint64_t now = dbk_now_ms(), exp;
	int i;

	if (read(dbk_timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		dbk_log("timerfd: %s", strerror(errno));
	for (i = 0; i < dbk.nr_devs; i++) {
		struct dbk_entry *d = &dbk.devs[i];

		if (d->state == DBK_ST_BACKOFF && d->restart_at <= now)
			dbk_entry_start(d);
		if (d->kill_at && d->kill_at <= now && d->pid > 0) {
			dbk_log("%s: driver %s (pid %d) did not exit after the unplug: killing it",
				d->info.id, d->driver, (int)d->pid);
			d->kill_at = 0;
			dbk_entry_stop(d, false);
		}
	}
	dbk_timer_arm();
}

/* Apply the manifest's owner and mode to a CUSE node once it appears. */
static void dbk_frontend_appeared(const char *devname)
{
	const struct dbk_manifest *m;
	char path[128];
	int i, mode;

	snprintf(path, sizeof(path), "/dev/%s", devname);
	for (i = 0; i < dbk.nr_devs; i++) {
		struct dbk_entry *d = &dbk.devs[i];

		if (d->frontend_ready || strcmp(d->frontend, path))
			continue;
		m = dbk_manifest_by_name(d->driver);
		if (!m)
			continue;
		mode = m->frontend.cuse_mode & dbk.limits.cuse_mode_mask;
		if (chown(path, m->frontend.cuse_uid, m->frontend.cuse_gid) < 0 || chmod(path, mode) < 0)
			dbk_log("%s: %s: %s", d->info.id, path, strerror(errno));
		d->frontend_ready = true;
		dbk_event("frontend", d, "%s ready (mode %04o)", path, mode);
	}
}

/* CUSE nodes may appear before we see their uevent: poll for them too. */
static void dbk_frontend_poll(void)
{
	struct stat st;
	int i;

	for (i = 0; i < dbk.nr_devs; i++)
		if (dbk.devs[i].pid > 0 && dbk.devs[i].frontend[0] && !dbk.devs[i].frontend_ready &&
		    stat(dbk.devs[i].frontend, &st) == 0)
			dbk_frontend_appeared(dbk.devs[i].frontend + 5);
}

static void dbk_uevent(int fd)
{
	char action[32], subsystem[32], devpath[256], devname[128];
	int r;

	while ((r = dbk_uevent_read(fd, action, sizeof(action), subsystem, sizeof(subsystem),
				    devpath, sizeof(devpath), devname, sizeof(devname))) != 0) {
		if (r < 0)
			continue;
		if ((!strcmp(subsystem, "pci") || !strcmp(subsystem, "usb")) &&
		    (!strcmp(action, "add") || !strcmp(action, "remove")))
			dbk_rescan();
		else if (!strcmp(subsystem, "cuse") && !strcmp(action, "add") && devname[0])
			dbk_frontend_appeared(devname);
	}
}

int dbk_entry_bind_cmd(struct dbk_entry *d)
{
	if (!d->driver[0])
		return -ENOENT;
	if (d->pid > 0)
		return -EBUSY;
	dbk_backoff_reset(&d->backoff);
	return dbk_entry_start(d);
}

int dbk_entry_unbind_cmd(struct dbk_entry *d)
{
	dbk_entry_stop(d, true);
	if (d->devfd >= 0)
		close(d->devfd);
	d->devfd = -1;
	if (d->info.bus == DBK_BUS_PCI)
		dbk_pci_unbind(d->info.id);
	else if (d->pid <= 0)
		dbk_usb_connect(d);	/* else when the driver's exit is reaped */
	d->state = DBK_ST_REVOKED;
	dbk_event("unbound", d, "given back to the kernel");
	return 0;
}

int dbk_entry_release_cmd(struct dbk_entry *d)
{
	if (d->state != DBK_ST_QUARANTINED)
		return -EBUSY;
	dbk_backoff_reset(&d->backoff);
	dbk_event("released", d, "out of quarantine");
	return dbk_entry_start(d);
}

static int dbk_load_config(void)
{
	char err[256] = "";
	int n, i;

	for (i = 0; i < dbk.nr_manifests; i++)
		dbk_manifest_free(&dbk.manifests[i]);
	free(dbk.manifests);
	dbk.manifests = NULL;
	n = dbk_manifest_load_dirs(dbk.sysdir, dbk.etcdir, &dbk.manifests);
	dbk.nr_manifests = n < 0 ? 0 : n;
	for (i = 0; i < dbk.nr_manifests; i++)
		if (!dbk.manifests[i].valid)
			dbk_log("manifest skipped: %s", dbk.manifests[i].error);
	if (dbk_limits_load(dbk.limits_path, &dbk.limits, err, sizeof(err)) < 0)
		dbk_log("%s (using the defaults)", err);
	dbk_log("%d manifests, limits from %s", dbk.nr_manifests, dbk.limits_path);
	return 0;
}

static void dbk_usage(FILE *f)
{
	fprintf(f, "usage: devbrokerd [--foreground] [--socket PATH] [--manifests-dir DIR]\n"
		   "                  [--etc-dir DIR] [--limits FILE] [--state-dir DIR] [--no-autobind]\n"
		   "                  [--policy-dir DIR] [--policy-loader PATH]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "manifests-dir", required_argument, NULL, 'm' },
		{ "etc-dir", required_argument, NULL, 'e' },
		{ "limits", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "no-autobind", no_argument, NULL, 'n' },
		{ "policy-dir", required_argument, NULL, 'P' },
		{ "policy-loader", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char state[DBK_PATH_MAX];
	struct epoll_event ev, evs[16];
	int ep, sfd, lfd, ufd, c, i, n;
	sigset_t mask;
	bool running = true;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': break;
		case 's': dbk.socket_path = optarg; break;
		case 'm': dbk.sysdir = optarg; break;
		case 'e': dbk.etcdir = optarg; break;
		case 'l': dbk.limits_path = optarg; break;
		case 'S':
			snprintf(state, sizeof(state), "%s/state", optarg);
			dbk.state_path = state;
			break;
		case 'n': dbk.autobind_cli = false; break;
		case 'P': dbk.policy_dir = optarg; break;
		case 'L': dbk.policy_loader = optarg; break;
		case 'h': dbk_usage(stdout); return 0;
		default: dbk_usage(stderr); return 2;
		}
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	mkdir(DBK_RUNDIR, 0755);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	dbk_load_config();
	dbk_state_recover();
	ep = dbk.epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	dbk_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ufd = dbk_uevent_open();
	lfd = dbk_control_open(dbk.socket_path);
	if (ep < 0 || sfd < 0 || dbk_timerfd < 0 || lfd < 0) {
		dbk_log("startup failed: %s", strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	if (ufd < 0)
		dbk_log("no uevents (%s): no hotplug", strerror(-ufd));
	for (i = 0; i < 4; i++) {
		int fd = (int[]){ sfd, dbk_timerfd, ufd, lfd }[i];

		if (fd < 0)
			continue;
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	if (dbk_denials_new(dbk_denied, NULL, &dbk_denials))
		dbk_log("policy denials will not be reported: out of memory");
	dbk_rescan();
	dbk_denials_try_pci();
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1");
#endif
	dbk_log("ready: %d devices, control socket %s", dbk.nr_devs, dbk.socket_path);

	while (running) {
		n = epoll_wait(ep, evs, 16, 200);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;
				int status;
				pid_t pid;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
						running = false;
					else if (si.ssi_signo == SIGHUP)
						dbk_load_config();
				}
				while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
					dbk_child_exited(pid, status);
			} else if (fd == dbk_timerfd) {
				dbk_timer_fired();
			} else if (fd == ufd) {
				dbk_uevent(ufd);
			} else if (fd == lfd) {
				dbk_control_accept(lfd);
			} else if (dbk_denials && fd == dbk_denials_fd(dbk_denials)) {
				dbk_denials_drain(dbk_denials);
			} else {
				dbk_control_client(fd);
			}
		}
		dbk_frontend_poll();
		dbk_denials_try_pci();
	}
	dbk_log("stopping %d devices", dbk.nr_devs);
	for (i = 0; i < dbk.nr_devs; i++)
		dbk_entry_stop(&dbk.devs[i], true);
	/* Reaped as usual: USB interfaces go back to the kernel, mounts go. */
	{
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, 0)) > 0)
			dbk_child_exited(pid, status);
	}
	unlink(dbk.state_path);
	unlink(dbk.socket_path);
	return 0;
}
