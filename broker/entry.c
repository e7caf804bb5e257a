// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The device table and each entry's state machine: a device is found by a
 * scan (unmatched, or idle with a driver), its driver started (running),
 * restarted with exponential backoff when it crashes (backoff), held back
 * when it crashes too often (quarantined), stopped on demand (revoked),
 * and the entry forgotten once its device is unplugged and its driver
 * reaped (gone).  What differs between buses is in their ops (pci.c,
 * usb.c); starting a driver is launch.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <devbroker/handover.h>

#include "daemon.h"

const struct dbk_bus_ops *const dbk_buses[] = { &dbk_bus_pci, &dbk_bus_usb, NULL };

/* The one place the daemon looks at an entry's bus: to pick its ops. */
const struct dbk_bus_ops *dbk_bus_of(const struct dbk_devinfo *info)
{
	return info->bus == DBK_BUS_USB ? &dbk_bus_usb : &dbk_bus_pci;
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

struct dbk_entry *dbk_entry_find(struct dbk_daemon *dd, const char *id)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (!strcmp(dd->devs[i].info.id, id) && dd->devs[i].state != DBK_ST_GONE)
			return &dd->devs[i];
	return NULL;
}

const struct dbk_manifest *dbk_manifest_by_name(struct dbk_daemon *dd, const char *name)
{
	int i;

	for (i = 0; i < dd->nr_manifests; i++)
		if (dd->manifests[i].valid && !strcmp(dd->manifests[i].name, name))
			return &dd->manifests[i];
	return NULL;
}

static struct dbk_entry *dbk_entry_by_pid(struct dbk_daemon *dd, pid_t pid)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid == pid)
			return &dd->devs[i];
	return NULL;
}

/*
 * The timer fires at the next restart, unplug or stop grace, handshake,
 * dropped block connection or manifest-reload deadline, if any.
 */
void dbk_timer_arm(struct dbk_daemon *dd)
{
	struct itimerspec its = { 0 };
	uint64_t next = dd->reload_at, now = dbk_now_ms();
	int i;

	for (i = 0; i < dd->nr_devs; i++) {
		/* No restart while devbrokerd stops (dbk_entry_start refuses): no timer for it. */
		if (dd->devs[i].state == DBK_ST_BACKOFF && !dd->quitting &&
		    (!next || dd->devs[i].restart_at < next))
			next = dd->devs[i].restart_at;
		if (dd->devs[i].kill_at && dd->devs[i].pid > 0 && (!next || dd->devs[i].kill_at < next))
			next = dd->devs[i].kill_at;
		if (dd->devs[i].nbd_deadline && (!next || dd->devs[i].nbd_deadline < next))
			next = dd->devs[i].nbd_deadline;
		if (dd->devs[i].nbd_check_at && (!next || dd->devs[i].nbd_check_at < next))
			next = dd->devs[i].nbd_check_at;
		if (dd->devs[i].nbd_drop_at && (!next || dd->devs[i].nbd_drop_at < next))
			next = dd->devs[i].nbd_drop_at;
		if (dd->devs[i].log_resume_at && (!next || dd->devs[i].log_resume_at < next))
			next = dd->devs[i].log_resume_at;
	}
	if (next) {
		next = next > now ? next - now : 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	timerfd_settime(dd->timerfd, 0, &its, NULL);
}

int dbk_entry_start(struct dbk_daemon *dd, struct dbk_entry *d)
{
	const struct dbk_manifest *m = dbk_manifest_by_name(dd, d->driver);
	pid_t pid;

	if (!m)
		return -ENOENT;
	if (d->pid > 0)		/* the previous driver is not reaped yet */
		return -EBUSY;
	if (dd->quitting)	/* devbrokerd is stopping its drivers */
		return -ESHUTDOWN;
	pid = dbk_launch(dd, d, m);
	if (pid < 0) {
		/* Starting failed: count it like a crash, so a broken setup ends in quarantine. */
		long delay = dbk_backoff_crash(&d->backoff, dbk_now_ms(), m->restart_burst,
					       m->restart_window);

		snprintf(d->last_exit, sizeof(d->last_exit), "start: %s", strerror((int)-pid));
		if (delay < 0) {
			d->state = DBK_ST_QUARANTINED;
			dbk_event(dd, "quarantined", d, "could not start %s", m->name);
		} else {
			d->state = DBK_ST_BACKOFF;
			d->restart_at = dbk_now_ms() + delay;
		}
		dbk_frontends_settle(dd, d, false);
		dbk_timer_arm(dd);
		return (int)pid;
	}
	d->pid = pid;
	d->stopping = false;
	d->stop_grace = false;
	d->kill_at = 0;
	d->stop_timeout = m->stop_timeout;	/* its manifest may be gone when it is stopped */
	d->state = DBK_ST_RUNNING;
	dbk_state_save(dd);
	return 0;
}

/*
 * Stop the driver at once: with @revoke, the bus's forced revocation, so
 * that it loses the device whatever it is doing; and SIGKILL to its
 * process group.  Its exit is reaped by the SIGCHLD handler.  A stop
 * grace running (dbk_entry_term) ends here: revocation wins at any moment.
 */
int dbk_entry_stop(struct dbk_daemon *dd, struct dbk_entry *d, bool revoke)
{
	const struct dbk_bus_ops *bus = dbk_bus_of(&d->info);

	d->stop_grace = false;
	d->kill_at = 0;
	if (revoke && !bus->revoke_after_kill)
		bus->revoke(dd, d);
	if (d->pid > 0) {
		d->stopping = true;
		kill(-d->pid, SIGKILL);
		kill(d->pid, SIGKILL);
		/* Only a running driver's: another program's claims are not ours to take. */
		if (revoke && bus->revoke_after_kill)
			bus->revoke(dd, d);
	}
	return 0;
}

/*
 * Stop the driver in order, as systemd does with TimeoutStopSec=: SIGTERM
 * to its process group, then StopTimeoutSec= (its manifest's, from its
 * start) for it to finish what it has in flight and leave the device in a
 * clean state (a block driver completes what it took and shuts its
 * controller down: NVMe CC.SHN) and exit by itself.  The loop never waits:
 * kill_at is in the timer, which then revokes and SIGKILLs (dbk_timer_fired).  The driver
 * keeps its grant meanwhile.  StopTimeoutSec=0, a second SIGTERM to
 * devbrokerd, or no driver at all: dbk_entry_stop(revoke) at once.
 */
void dbk_entry_term(struct dbk_daemon *dd, struct dbk_entry *d)
{
	/* Already stopping: its deadline stays; or killed (SIGKILL sent), not yet reaped. */
	if (d->pid > 0 && (d->stop_grace || d->stopping))
		return;
	if (d->pid <= 0 || !d->stop_timeout || dd->force_quit) {
		dbk_entry_stop(dd, d, true);
		return;
	}
	d->stopping = true;
	d->stop_grace = true;
	d->kill_at = dbk_now_ms() + (uint64_t)d->stop_timeout * 1000;
	/* Its process group (launch.c's setsid), or the child not there yet. */
	if (kill(-d->pid, SIGTERM) < 0)
		kill(d->pid, SIGTERM);
	dbk_drvlog_stopping(dd, d);	/* one blocked on a full log could not exit */
	dbk_event(dd, "stopping", d, "driver %s (pid %d): SIGTERM, %u s to exit (StopTimeoutSec=)",
		  d->driver[0] ? d->driver : "(its manifest removed)", (int)d->pid, d->stop_timeout);
	dbk_timer_arm(dd);
}

bool dbk_entry_any_running(const struct dbk_daemon *dd)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid > 0)
			return true;
	return false;
}

/* `devbrokerctl unbind`'s second half: the device back to the kernel. */
static void dbk_entry_unbind_now(struct dbk_daemon *dd, struct dbk_entry *d)
{
	d->unbind_after = false;
	if (d->devfd >= 0)
		close(d->devfd);
	d->devfd = -1;
	dbk_bus_of(&d->info)->unbind(dd, d);
	dbk_event(dd, "unbound", d, "given back to the kernel");
	dbk_control_unbound(dd, d, 0);
}

/*
 * An entry whose device is still here but whose interfaces are now
 * grouped otherwise (the manifests changed): its driver stops at once,
 * before the new entries' drivers start, and give-back leaves to them
 * what they hold.
 */
static void dbk_entry_regrouped(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_event(dd, "removed", d, "regrouped: its interfaces (0x%x) go to other entries now",
		  d->info.usb_ifaces);
	dbk_entry_stop(dd, d, true);
	d->state = DBK_ST_GONE;
}

static void dbk_entry_gone(struct dbk_daemon *dd, struct dbk_entry *d)
{
	const struct dbk_bus_ops *bus = dbk_bus_of(&d->info);

	dbk_event(dd, "removed", d, "unplugged");
	if (d->unbind_after)		/* no device to give back */
		dbk_control_unbound(dd, d, ENODEV);
	d->unbind_after = false;
	/* A USB driver sees the unplug itself and exits cleanly: give it that long. */
	if (bus->unplug_grace_ms && d->pid > 0) {
		d->stop_grace = false;
		d->kill_at = dbk_now_ms() + bus->unplug_grace_ms;
		dbk_timer_arm(dd);
	} else {
		dbk_entry_stop(dd, d, false);	/* PCI: the module already revoked in remove() */
	}
	if (d->devfd >= 0)
		close(d->devfd);
	d->devfd = -1;
	d->state = DBK_ST_GONE;
	dbk_frontends_settle(dd, d, false);	/* at once when no driver runs, else once it is reaped */
}

static struct dbk_entry *dbk_entry_add(struct dbk_daemon *dd, const struct dbk_devinfo *info)
{
	const struct dbk_manifest *m = dbk_bus_of(info)->match(dd, info);
	struct dbk_entry *d, *nd;

	nd = realloc(dd->devs, (dd->nr_devs + 1) * sizeof(*dd->devs));
	if (!nd)
		return NULL;
	dd->devs = nd;
	d = &dd->devs[dd->nr_devs++];
	memset(d, 0, sizeof(*d));
	d->info = *info;
	d->devfd = -1;
	d->instance = -1;
	d->nbd_index = -1;
	d->nbd_pipe = -1;
	d->log_fd = -1;
	d->seen = true;
	d->state = m ? DBK_ST_IDLE : DBK_ST_UNMATCHED;
	if (m)
		snprintf(d->driver, sizeof(d->driver), "%s", m->name);
	return d;
}

/* A device the broker has not seen before, or seen again. */
static void dbk_entry_found(struct dbk_daemon *dd, const struct dbk_devinfo *info)
{
	struct dbk_entry *d = dbk_entry_find(dd, info->id);

	/* Replugged at the same port between two scans (USB): a new device. */
	if (d && d->info.devnum != info->devnum) {
		dbk_entry_gone(dd, d);
		d = NULL;
	}
	/* The same device, its interfaces grouped otherwise. */
	if (d && d->info.usb_ifaces != info->usb_ifaces) {
		dbk_entry_regrouped(dd, d);
		d = NULL;
	}
	if (d) {
		d->seen = true;
		return;
	}
	d = dbk_entry_add(dd, info);
	if (!d)
		return;
	if (info->usb_ifaces)
		dbk_event(dd, "added", d, "%s %04x:%04x interfaces 0x%x class %06x%s%s",
			  dbk_bus_of(info)->name, info->vendor, info->device, info->usb_ifaces,
			  info->class_code, d->driver[0] ? ", driver " : "", d->driver);
	else
		dbk_event(dd, "added", d, "%s %04x:%04x class %06x%s%s", dbk_bus_of(info)->name,
			  info->vendor, info->device, info->class_code,
			  d->driver[0] ? ", driver " : "", d->driver);
}

/* Drop GONE devices whose driver has been reaped. */
static void dbk_entry_compact(struct dbk_daemon *dd)
{
	int i, j;

	for (i = j = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].state != DBK_ST_GONE || dd->devs[i].pid > 0)
			dd->devs[j++] = dd->devs[i];
	dd->nr_devs = j;
}

/* Scan each bus; one that fails says nothing about its devices: keep them. */
static void dbk_rescan_buses(struct dbk_daemon *dd)
{
	const struct dbk_bus_ops *const *b;
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		dd->devs[i].seen = false;
	for (b = dbk_buses; *b; b++) {
		if ((*b)->scan(dd, dbk_entry_found) >= 0)
			continue;
		dbk_log("a %s scan failed: its devices are kept as they were", (*b)->name);
		for (i = 0; i < dd->nr_devs; i++)
			if (dbk_bus_of(&dd->devs[i].info) == *b)
				dd->devs[i].seen = true;
	}
}

void dbk_rescan(struct dbk_daemon *dd)
{
	int i;

	dbk_rescan_buses(dd);
	/* Before any new entry starts: a regrouped entry's driver must let go first. */
	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];
		const struct dbk_bus_ops *bus = dbk_bus_of(&d->info);

		if (d->seen || d->state == DBK_ST_GONE)
			continue;
		if (bus->present && bus->present(&d->info))
			dbk_entry_regrouped(dd, d);
		else
			dbk_entry_gone(dd, d);
	}
	dbk_entry_compact(dd);
	for (i = 0; i < dd->nr_devs; i++) {
		const struct dbk_manifest *m = dbk_manifest_by_name(dd, dd->devs[i].driver);

		if (dd->devs[i].state == DBK_ST_IDLE && dd->devs[i].instance < 0 &&
		    dd->autobind_cli && dd->limits.auto_bind && m && m->auto_bind)
			dbk_entry_start(dd, &dd->devs[i]);
	}
}

/* Is there a manifest named @name at all, valid or not? */
static bool dbk_manifest_listed(struct dbk_daemon *dd, const char *name)
{
	int i;

	for (i = 0; i < dd->nr_manifests; i++)
		if (!strcmp(dd->manifests[i].name, name))
			return true;
	return false;
}

/*
 * The manifests were reloaded (a driver package installed or removed, an
 * edit, SIGHUP).  An entry whose driver's manifest is gone (removed, or
 * masked in /etc) stops, and its device goes back to the kernel; one whose
 * manifest is now invalid keeps its running driver (manifest.c logged why:
 * fix it and it applies from the next start).  An entry that no driver
 * drives takes the manifest that matches it now; one the administrator
 * revoked stays revoked, whatever its manifest.  A driver whose manifest is
 * still here keeps running, even if another would match now: taking a
 * device from a working driver is the administrator's call (`devbrokerctl
 * unbind`).  The rescan then regroups USB interfaces and starts what may.
 */
void dbk_entry_rematch(struct dbk_daemon *dd)
{
	const struct dbk_manifest *m;
	int i;

	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];
		bool revoked = d->state == DBK_ST_REVOKED;

		if (d->state == DBK_ST_GONE)
			continue;
		if (d->driver[0] && !dbk_manifest_listed(dd, d->driver)) {
			dbk_event(dd, "unmatched", d, "the manifest of %s is gone", d->driver);
			if (d->state != DBK_ST_UNMATCHED && d->state != DBK_ST_IDLE)
				dbk_entry_unbind_cmd(dd, d);
			d->driver[0] = 0;
			d->state = revoked ? DBK_ST_REVOKED : DBK_ST_UNMATCHED;
			dbk_backoff_reset(&d->backoff);
		}
		/*
		 * Not while the old driver lives: it is matched again once
		 * reaped (dbk_entry_exited), so that the new one never starts
		 * beside it.
		 */
		if (d->pid > 0 || (d->state != DBK_ST_UNMATCHED && d->state != DBK_ST_IDLE &&
				   !(revoked && !d->driver[0])))
			continue;
		m = dbk_bus_of(&d->info)->match(dd, &d->info);
		if (!m || !strcmp(m->name, d->driver))
			continue;
		snprintf(d->driver, sizeof(d->driver), "%s", m->name);
		d->instance = -1;	/* numbered anew, as a new device would be */
		if (!revoked)
			d->state = DBK_ST_IDLE;	/* and may start on sight */
		dbk_event(dd, "matched", d, "driver %s%s", m->name,
			  revoked ? " (revoked: `devbrokerctl bind` to start it)" : "");
	}
	dbk_rescan(dd);
}

/*
 * devbroker.ko was loaded after the daemon started (DKMS built it, or the
 * administrator loaded it): the PCI devices whose drivers could not start
 * without it start now, their failed starts forgotten.
 */
void dbk_entry_module_loaded(struct dbk_daemon *dd)
{
	int i;

	dbk_log("devbroker.ko loaded: starting the PCI drivers that waited for it");
	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];

		if (dbk_bus_of(&d->info) != &dbk_bus_pci || d->pid > 0 ||
		    (d->state != DBK_ST_BACKOFF && d->state != DBK_ST_QUARANTINED) ||
		    strncmp(d->last_exit, "start:", 6))
			continue;
		dbk_backoff_reset(&d->backoff);
		dbk_entry_start(dd, d);
	}
	dbk_rescan(dd);
}

/* After an exit that was no stop: idle, a restart after a backoff, or quarantine. */
static void dbk_entry_crashed(struct dbk_daemon *dd, struct dbk_entry *d, bool crash)
{
	const struct dbk_manifest *m = dbk_manifest_by_name(dd, d->driver);
	long delay;

	if (!m || m->restart == DBK_RESTART_NO || (!crash && m->restart == DBK_RESTART_ON_FAILURE)) {
		d->state = DBK_ST_IDLE;
		return;
	}
	delay = dbk_backoff_crash(&d->backoff, dbk_now_ms(), m->restart_burst, m->restart_window);
	if (delay < 0) {
		/* The module reset the device and cleared bus mastering when the grant ended. */
		d->state = DBK_ST_QUARANTINED;
		dbk_event(dd, "quarantined", d, "%u crashes within %u s; `devbrokerctl release %s` to retry",
			  m->restart_burst, m->restart_window, d->info.id);
		return;
	}
	d->state = DBK_ST_BACKOFF;
	d->restart_at = dbk_now_ms() + delay;
	dbk_event(dd, "restarting", d, "in %ld ms (restart %u)", delay, d->backoff.restarts);
	dbk_timer_arm(dd);
}

void dbk_entry_exited(struct dbk_daemon *dd, pid_t pid, int status)
{
	struct dbk_entry *d;
	const struct dbk_bus_ops *bus;
	bool crash;

	if (dbk_nbd_reaped(dd, pid))
		return;
	d = dbk_entry_by_pid(dd, pid);
	if (!d)
		return;
	bus = dbk_bus_of(&d->info);
	d->pid = 0;
	/* Gone first: a driver with nothing to serve never answers its disk's handshake. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == DBK_HANDOVER_EXIT_GONE)
		snprintf(d->last_exit, sizeof(d->last_exit), "exit %d (gone)", WEXITSTATUS(status));
	else if (d->nbd_killed)
		snprintf(d->last_exit, sizeof(d->last_exit), "%s", d->nbd_killed);
	else if (WIFSIGNALED(status))
		snprintf(d->last_exit, sizeof(d->last_exit), "signal %d", WTERMSIG(status));
	else
		snprintf(d->last_exit, sizeof(d->last_exit), "exit %d", WEXITSTATUS(status));
	/* Whatever the driver left behind (a forked child holding the grant): gone. */
	kill(-pid, SIGKILL);
	dbk_drvlog_close(dd, d);	/* its last lines before the event that it exited */
	d->kill_at = 0;
	d->stop_grace = false;
	bus->release(dd, d);	/* whatever the reason, the device goes back */
	dbk_frontends_close(dd, d);
	dbk_event(dd, "exited", d, "driver %s (pid %d): %s",
		  d->driver[0] ? d->driver : "(its manifest removed)", (int)pid, d->last_exit);
	dbk_state_save(dd);
	if (d->state == DBK_ST_GONE) {
		if (d->unbind_after)
			dbk_control_unbound(dd, d, ENODEV);
		d->unbind_after = false;
		dbk_frontends_settle(dd, d, false);
		dbk_entry_compact(dd);
		return;
	}
	if (d->stopping) {	/* revoke, unbind or shutdown: not a crash */
		d->stopping = false;
		if (d->unbind_after)	/* it exited within its stop grace */
			dbk_entry_unbind_now(dd, d);
		dbk_frontends_settle(dd, d, false);
		/* Stopped because its manifest went: another may match now. */
		if (!d->driver[0] && !dd->quitting)
			dbk_entry_rematch(dd);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == DBK_HANDOVER_EXIT_GONE) {
		/* <devbroker/handover.h>: what it served is gone; a restart would not bring it back. */
		dbk_log("%s: driver %s says what it served is gone: not restarting it "
			"(`devbrokerctl bind %s` starts it again)", d->info.id, d->driver, d->info.id);
		d->state = DBK_ST_IDLE;
		dbk_frontends_settle(dd, d, false);
		return;
	}
	crash = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/*
	 * A USB driver exits 0 when its device goes away.  When the device is
	 * still here, something else took the interfaces (a reset by a
	 * sibling interface's kernel driver, a resume): start it again.
	 */
	if (!crash && bus->present && bus->present(&d->info)) {
		dbk_log("%s: driver %s exited cleanly, but its device is still here: restarting it",
			d->info.id, d->driver);
		crash = true;
	}
	/*
	 * A block driver exits 0 when its connections close: the kernel shut
	 * them (a timeout, a reply it could not parse).  Its disk is still
	 * connected and waiting: that is a failure.
	 */
	if (!crash && d->nbd_index >= 0) {
		dbk_log("%s: driver %s exited cleanly while its disk %s (/dev/nbd%d) is connected: restarting it",
			d->info.id, d->driver, d->block_name, d->nbd_index);
		crash = true;
	}
	dbk_entry_crashed(dd, d, crash);
	dbk_frontends_settle(dd, d, false);	/* no restart coming: the disk and interface go */
}

void dbk_timer_fired(struct dbk_daemon *dd)
{
	uint64_t now = dbk_now_ms(), exp;
	int i;

	if (read(dd->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		dbk_log("timerfd: %s", strerror(errno));
	if (dd->reload_at && dd->reload_at <= now) {
		dd->reload_at = 0;
		dbk_log("the manifests changed: reloading them");
		dbk_reload(dd);
	}
	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];

		if (d->state == DBK_ST_BACKOFF && d->restart_at <= now && !dd->quitting)
			dbk_entry_start(dd, d);
		if (d->kill_at && d->kill_at <= now && d->pid > 0 && d->stop_grace) {
			dbk_log("%s: driver %s (pid %d) did not exit within StopTimeoutSec=%u: "
				"revoking its access and killing it", d->info.id,
				d->driver[0] ? d->driver : "(its manifest removed)", (int)d->pid,
				d->stop_timeout);
			dbk_entry_stop(dd, d, true);
			if (d->unbind_after)
				dbk_entry_unbind_now(dd, d);
		} else if (d->kill_at && d->kill_at <= now && d->pid > 0) {
			dbk_log("%s: driver %s (pid %d) did not exit after the unplug: killing it",
				d->info.id, d->driver, (int)d->pid);
			d->kill_at = 0;
			dbk_entry_stop(dd, d, false);
		}
		dbk_nbd_timer(dd, d, now);
		dbk_drvlog_timer(dd, d, now);
	}
	dbk_timer_arm(dd);
}

int dbk_entry_bind_cmd(struct dbk_daemon *dd, struct dbk_entry *d)
{
	if (!d->driver[0])
		return -ENOENT;
	if (d->pid > 0)
		return -EBUSY;
	dbk_backoff_reset(&d->backoff);
	return dbk_entry_start(dd, d);
}

/*
 * An orderly stop (dbk_entry_term): the device goes back to the kernel
 * once the driver has exited, or at once if none runs or its
 * StopTimeoutSec= is 0.  Also how a removed manifest's driver stops.
 */
int dbk_entry_unbind_cmd(struct dbk_daemon *dd, struct dbk_entry *d)
{
	d->unbind_after = true;
	d->state = DBK_ST_REVOKED;
	dbk_entry_term(dd, d);
	if (!d->stop_grace)
		dbk_entry_unbind_now(dd, d);
	dbk_frontends_settle(dd, d, false);	/* now, or when the driver is reaped */
	return 0;
}

/* Forced, whatever else is under way: a stop grace ends, a pending unbind happens now. */
int dbk_entry_revoke_cmd(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_entry_stop(dd, d, true);
	if (d->unbind_after)
		dbk_entry_unbind_now(dd, d);
	d->state = DBK_ST_REVOKED;
	dbk_frontends_settle(dd, d, false);	/* now, or when the driver is reaped */
	dbk_event(dd, "revoked", d, "by the administrator");
	return 0;
}

int dbk_entry_release_cmd(struct dbk_daemon *dd, struct dbk_entry *d)
{
	if (d->state != DBK_ST_QUARANTINED)
		return -EBUSY;
	dbk_backoff_reset(&d->backoff);
	dbk_event(dd, "released", d, "out of quarantine");
	return dbk_entry_start(dd, d);
}
