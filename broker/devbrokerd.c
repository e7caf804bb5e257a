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
 * This file is main() and the event loop: signals, the timer, uevents,
 * the manifest directories, the control socket and policy denials, each
 * handed to its file (daemon.h says which).
 *
 * Restart: the daemon records running drivers in its state file; a new
 * instance revokes their grants through the module and terminates them,
 * then starts fresh ones (devbrokerd(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "control-protocol.h"
#include "daemon.h"
#include "denials.h"

/*
 * Manifests and limits: read at start, and again by dbk_reload().  false
 * if the manifest directories could not be read: the previous manifests
 * stay (an empty set would stop every driver).  A broken limits.conf is
 * never replaced by the defaults, which consent to edu_dma_guard: a reload
 * keeps the limits it had, and the start takes the defaults without their
 * consent keys (AllowDMAGuards= empty, AllowUnsafeDMA=no).
 */
static bool dbk_load_config(struct dbk_daemon *dd, bool startup)
{
	struct dbk_manifest *ms = NULL;
	char err[256] = "";
	int n, i;

	n = dbk_manifest_load_dirs(dd->sysdir, dd->etcdir, &ms);
	if (n < 0) {
		dbk_log("cannot read the manifests (%s, %s): %s; keeping the %d loaded before",
			dd->sysdir, dd->etcdir, strerror(-n), dd->nr_manifests);
	} else {
		for (i = 0; i < dd->nr_manifests; i++)
			dbk_manifest_free(&dd->manifests[i]);
		free(dd->manifests);
		dd->manifests = ms;
		dd->nr_manifests = n;
		for (i = 0; i < dd->nr_manifests; i++)
			if (!dd->manifests[i].valid)
				dbk_log("manifest skipped: %s", dd->manifests[i].error);
	}
	if (dbk_limits_update(dd->limits_path, &dd->limits, !startup, err, sizeof(err)) < 0 && !startup)
		dbk_log("limits.conf is broken: %s; keeping the limits loaded before: fix the file and reload",
			err);
	else if (err[0])
		dbk_log("limits.conf is broken: %s; starting with the default limits but AllowDMAGuards= empty "
			"and AllowUnsafeDMA=no (no DMA guard, no unsafe DMA): fix the file and reload", err);
	dbk_log("%d manifests, limits from %s", dd->nr_manifests, dd->limits_path);
	return n >= 0;
}

/* SIGHUP, or a manifest directory changed (watch.c): the devices follow. */
void dbk_reload(struct dbk_daemon *dd)
{
	dbk_watch_refresh(dd);
	if (dbk_load_config(dd, false))
		dbk_entry_rematch(dd);
}

static void dbk_usage(FILE *f)
{
	fprintf(f, "usage: devbrokerd [--foreground] [--socket PATH] [--manifests-dir DIR]\n"
		   "                  [--etc-dir DIR] [--limits FILE] [--state-dir DIR] [--no-autobind]\n"
		   "                  [--policy-dir DIR] [--policy-loader PATH]\n");
}

/* 0 to run, 1 after --help, 2 on a bad option. */
static int dbk_options(struct dbk_daemon *dd, int argc, char **argv)
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
	int c;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': break;
		case 's': dd->socket_path = optarg; break;
		case 'm': dd->sysdir = optarg; break;
		case 'e': dd->etcdir = optarg; break;
		case 'l': dd->limits_path = optarg; break;
		case 'S':
			snprintf(state, sizeof(state), "%s/state", optarg);
			dd->state_path = state;
			break;
		case 'n': dd->autobind_cli = false; break;
		case 'P': dd->policy_dir = optarg; break;
		case 'L': dd->policy_loader = optarg; break;
		case 'h': dbk_usage(stdout); return 1;
		default: dbk_usage(stderr); return 2;
		}
	}
	return 0;
}

int dbk_epoll_add(struct dbk_daemon *dd, int fd, enum dbk_ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t *t;
	int n;

	if (fd < 0)
		return -EBADF;
	if (fd >= dd->nr_ep_tags) {
		n = fd + 64;
		t = realloc(dd->ep_tags, (size_t)n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + dd->nr_ep_tags, 0, (size_t)(n - dd->nr_ep_tags) * sizeof(*t));
		dd->ep_tags = t;
		dd->nr_ep_tags = n;
	}
	dd->ep_serial = (dd->ep_serial + 1) & 0xffffff;
	if (!dd->ep_serial)
		dd->ep_serial = 1;
	ev.data.u64 = (uint64_t)kind << 56 | (uint64_t)dd->ep_serial << 32 | (uint32_t)fd;
	if (epoll_ctl(dd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	dd->ep_tags[fd] = ev.data.u64;
	return 0;
}

void dbk_epoll_del(struct dbk_daemon *dd, int fd)
{
	if (fd < 0)
		return;
	epoll_ctl(dd->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (fd < dd->nr_ep_tags)
		dd->ep_tags[fd] = 0;
}

/* An event's fd if its tag is still that fd's in the table, else -1 (stale: dropped). */
static int dbk_epoll_fd(const struct dbk_daemon *dd, uint64_t tag)
{
	int fd = (int)(uint32_t)tag;

	return fd >= 0 && fd < dd->nr_ep_tags && dd->ep_tags[fd] == tag ? fd : -1;
}

/*
 * Signals: SIGTERM and SIGINT stop the drivers and then the loop (false);
 * a second one while they are stopping forces it.  SIGHUP reloads,
 * SIGCHLD reaps.
 */
static bool dbk_signals(struct dbk_daemon *dd, int sfd)
{
	struct signalfd_siginfo si;
	bool running = true;
	int status;
	pid_t pid;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			running = false;
			if (dd->quitting && !dd->force_quit) {
				dbk_log("signal %d again: revoking and killing the drivers still stopping",
					(int)si.ssi_signo);
				dd->force_quit = true;
			}
		} else if (si.ssi_signo == SIGHUP)
			dbk_reload(dd);
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		dbk_entry_exited(dd, pid, status);
	return running;
}

static void dbk_uevent(struct dbk_daemon *dd, int fd)
{
	char action[32], subsystem[32], devpath[256], devname[128];
	int r;

	while ((r = dbk_uevent_read(fd, action, sizeof(action), subsystem, sizeof(subsystem),
				    devpath, sizeof(devpath), devname, sizeof(devname))) != 0) {
		if (r < 0)
			continue;
		if ((!strcmp(subsystem, "pci") || !strcmp(subsystem, "usb")) &&
		    (!strcmp(action, "add") || !strcmp(action, "remove")))
			dbk_rescan(dd);
		else if (!strcmp(subsystem, "cuse") && !strcmp(action, "add") && devname[0])
			dbk_frontend_appeared(dd, devname);
		else if (!strcmp(subsystem, "module") && !strcmp(action, "add") &&
			 !strcmp(devpath, "/module/devbroker"))
			dbk_entry_module_loaded(dd);
	}
}

/*
 * SIGTERM: no driver starts any more, and each running one is stopped in
 * order (dbk_entry_term: SIGTERM, its StopTimeoutSec=, then revocation and
 * SIGKILL from the timer).  The loop goes on, serving the control socket,
 * until every driver is reaped; dbk_shutdown() then ends the rest.
 */
static void dbk_shutdown_begin(struct dbk_daemon *dd)
{
	int i;

	dbk_log("stopping %d devices", dd->nr_devs);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	dd->quitting = true;
	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid > 0)
			dbk_entry_term(dd, &dd->devs[i]);
}

/* Every driver stopped and reaped as usual: USB interfaces go back to the kernel, mounts go. */
static void dbk_shutdown(struct dbk_daemon *dd)
{
	int status, i;
	pid_t pid;

	dd->quitting = true;
	for (i = 0; i < dd->nr_devs; i++)
		dbk_entry_stop(dd, &dd->devs[i], true);
	while ((pid = waitpid(-1, &status, 0)) > 0)
		dbk_entry_exited(dd, pid, status);
	/* Disks and interfaces waiting for a restart that will not come. */
	for (i = 0; i < dd->nr_devs; i++)
		dbk_frontends_settle(dd, &dd->devs[i], true);
	unlink(dd->state_path);
	unlink(dd->socket_path);
}

int main(int argc, char **argv)
{
	struct dbk_daemon dd = {
		.socket_path = DBK_CONTROL_SOCKET,
		.sysdir = DBK_DATADIR "/drivers.d",
		.etcdir = DBK_SYSCONFDIR "/drivers.d",
		.limits_path = DBK_SYSCONFDIR "/limits.conf",
		.state_path = DBK_RUNDIR "/state",
		.policy_dir = DBK_DATADIR "/policies",
		.policy_loader = DBK_LIBEXECDIR "/dbk-policy",
		.autobind_cli = true,
		.watchfd = -1,
	};
	struct epoll_event evs[16];
	int sfd, lfd, ufd, wfd, i, n;
	bool running = true;
	sigset_t mask;

	/*
	 * fds 0-2 open, on /dev/null if they were not: else a pipe or socket
	 * of ours would take one of their numbers, and a driver's child
	 * inherit it as its standard input, output or error.
	 */
	while ((n = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && n <= 2)
		fcntl(n, F_SETFD, 0);
	if (n > 2)
		close(n);
	n = dbk_options(&dd, argc, argv);
	if (n)
		return n == 1 ? 0 : 2;
	setvbuf(stderr, NULL, _IOLBF, 0);
	mkdir(DBK_RUNDIR, 0755);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	wfd = dbk_watch_open(&dd);	/* before the first load: no change is missed */
	dbk_load_config(&dd, true);
	dbk_state_recover(&dd);
	dbk_nbd_recover();
	dd.epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	dd.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ufd = dbk_uevent_open();
	lfd = dbk_control_open(dd.socket_path);
	if (dd.epfd < 0 || sfd < 0 || dd.timerfd < 0 || lfd < 0) {
		dbk_log("startup failed: %s", strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	if (ufd < 0)
		dbk_log("no uevents (%s): no hotplug", strerror(-ufd));
	if (wfd < 0)
		dbk_log("the manifest directories are not watched (%s): reload with SIGHUP",
			strerror(-wfd));
	for (i = 0; i < 5; i++) {
		int fd = (int[]){ sfd, dd.timerfd, ufd, lfd, wfd }[i];
		enum dbk_ep_kind kind = (enum dbk_ep_kind[]){ DBK_EP_SIGNAL, DBK_EP_TIMER,
			DBK_EP_UEVENT, DBK_EP_LISTEN, DBK_EP_WATCH }[i];

		n = fd < 0 ? 0 : dbk_epoll_add(&dd, fd, kind);
		if (n < 0) {
			dbk_log("startup failed: epoll: %s", strerror(-n));
			return 1;
		}
	}
	if (dbk_denied_open(&dd))
		dbk_log("policy denials will not be reported: out of memory");
	dbk_rescan(&dd);
	dbk_denied_follow_pci(&dd);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1");
#endif
	dbk_log("ready: %d devices, control socket %s", dd.nr_devs, dd.socket_path);

	/* After SIGTERM, until the drivers stopped in order are reaped (or a second SIGTERM). */
	while (!dd.quitting || (!dd.force_quit && dbk_entry_any_running(&dd))) {
		n = epoll_wait(dd.epfd, evs, 16, 200);
		for (i = 0; i < n; i++) {
			int fd = dbk_epoll_fd(&dd, evs[i].data.u64);

			if (fd < 0)	/* closed by an earlier event of this batch */
				continue;
			switch ((enum dbk_ep_kind)(evs[i].data.u64 >> 56)) {
			case DBK_EP_SIGNAL: running = dbk_signals(&dd, fd) && running; break;
			case DBK_EP_TIMER: dbk_timer_fired(&dd); break;
			case DBK_EP_UEVENT: dbk_uevent(&dd, fd); break;
			case DBK_EP_WATCH: dbk_watch_event(&dd); break;
			case DBK_EP_LISTEN: dbk_control_accept(&dd, fd); break;
			case DBK_EP_DENIALS: dbk_denials_drain(dd.denials); break;
			case DBK_EP_NBD: dbk_nbd_event(&dd, fd); break;
			case DBK_EP_NBD_EVENTS: dbk_nbd_events(&dd); break;
			case DBK_EP_CLIENT: dbk_control_client(&dd, fd); break;
			case DBK_EP_DRVLOG: dbk_drvlog_event(&dd, fd); break;
			}
		}
		dbk_frontend_poll(&dd);
		dbk_denied_follow_pci(&dd);
		if (!running && !dd.quitting)
			dbk_shutdown_begin(&dd);
	}
	dbk_shutdown(&dd);
	return 0;
}
