// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Starting a driver, top to bottom: who it runs as; its rights (the
 * manifest's, cut by limits.conf); its policy; its bus's grant (pci.c: a
 * devbroker.ko grant fd; usb.c: a restricted usbfs fd); its frontends
 * (frontend.c); the hand-over (<devbroker/handover.h>); and a forked,
 * sandboxed, unprivileged child that receives those fds and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/close_range.h>
#include <sys/syscall.h>

#include "daemon.h"
#include "handover-writer.h"
#include "policyload.h"
#include "sandbox.h"

/*
 * Who the driver runs as: a dynamic user of its own (DynamicUser=yes,
 * dynuser.c), else the manifest's User= and Group=; never root.
 */
static int dbk_launch_user(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l)
{
	const struct dbk_manifest *m = l->m;
	struct passwd *pw;
	struct group *gr;
	char *end;
	int ret = 0;

	if (m->dynamic_user) {
		ret = dbk_dynuser_get(dd, d, &l->uid);
		l->gid = (gid_t)l->uid;
		return ret;
	}
	pw = getpwnam(m->user);
	if (pw) {
		l->uid = pw->pw_uid;
		l->gid = pw->pw_gid;
	} else {
		l->uid = strtoul(m->user, &end, 10);
		if (*end || !m->user[0])
			ret = -ENOENT;
		l->gid = l->uid;
	}
	if (!ret && m->group[0]) {
		gr = getgrnam(m->group);
		if (gr) {
			l->gid = gr->gr_gid;
		} else {
			l->gid = strtoul(m->group, &end, 10);
			if (*end)
				ret = -ENOENT;
		}
	}
	if (!ret && (l->uid == 0 || l->gid == 0))
		ret = -EPERM;
	if (ret)
		dbk_log("%s: driver %s: user '%s' cannot run a driver: %s", d->info.id, m->name,
			m->user, ret == -EPERM ? "it is root" : "no such user");
	return ret;
}

/* The manifest's rights, cut by limits.conf; each cut is an event. */
static void dbk_launch_rights(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m)
{
	char oneline[sizeof(d->cuts)], *p;

	d->cuts[0] = 0;
	if (dbk_rights_intersect(&m->rights, &dd->limits, &d->rights, d->cuts, sizeof(d->cuts)) <= 0)
		return;
	snprintf(oneline, sizeof(oneline), "%s", d->cuts);
	for (p = oneline; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ';' : 0;
	dbk_event(dd, "cut", d, "limits.conf cut the rights of %s: %s", m->name, oneline);
}

/*
 * The manifest's Policy=: loaded and attached (pinned by dbk-policy)
 * before the grant exists, so that it rules on the grant itself.  A
 * policy pinned already is kept.
 */
static int dbk_launch_policy(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m)
{
	char msg[512];
	int ret;

	if (!m->policy[0] || dbk_policy_loaded(m->policy))
		return 0;
	ret = dbk_policy_load(dd->policy_loader, dd->policy_dir, m->policy, msg, sizeof(msg));
	if (ret) {
		dbk_log("%s", msg);
		dbk_log("%s: policy %s (%s/%s.bpf.o) could not be loaded: the driver stays off",
			d->info.id, m->policy, dd->policy_dir, m->policy);
	}
	return ret;
}

/* The lowest instance number no other device of this driver uses. */
static int dbk_pick_instance(struct dbk_daemon *dd, const struct dbk_entry *d)
{
	int inst, i;

	if (d->instance >= 0)
		return d->instance;
	for (inst = 0;; inst++) {
		for (i = 0; i < dd->nr_devs; i++)
			if (&dd->devs[i] != d && dd->devs[i].instance == inst &&
			    !strcmp(dd->devs[i].driver, d->driver))
				break;
		if (i == dd->nr_devs)
			return inst;
	}
}

/*
 * The grant's policy cookie: a stable 64-bit FNV-1a hash of the driver's
 * name, so that a policy map can hold per-driver rules
 * (`devbrokerctl status` shows it).
 */
uint64_t dbk_policy_cookie(const char *driver)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *driver; driver++)
		h = (h ^ (unsigned char)*driver) * 0x100000001b3ULL;
	return h;
}

/* One more fd for the driver; a frontend past DBK_LAUNCH_FDS is refused, never written past. */
static int dbk_launch_add_fd(struct dbk_launch *l, enum dbk_handover_fd kind, int fd)
{
	if (l->nfds == DBK_LAUNCH_FDS) {
		close(fd);
		return -E2BIG;
	}
	l->at[kind] = l->nfds;
	l->fds[l->nfds++] = fd;
	return 0;
}

/* Every frontend the manifest asks for, opened by us for the driver. */
static int dbk_launch_frontends(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l)
{
	const struct dbk_frontend_ops *const *f;
	int fd;

	/* A disk a previous run connected, which this manifest no longer asks for: gone. */
	if (!dbk_frontend_nbd.wanted(l->m))
		dbk_nbd_settle(dd, d, true);
	if (!dbk_frontend_net.wanted(l->m))	/* the same for an interface */
		dbk_net_settle(dd, d, true);
	/* d->frontend is "" here: the last run's close (frontend.c) cleared it. */
	for (f = dbk_frontends; *f; f++) {
		if (!(*f)->wanted(l->m))
			continue;
		if ((*f)->add) {
			fd = (*f)->add(dd, d, l);
			if (fd < 0)
				return fd;
			continue;
		}
		fd = (*f)->open(dd, d, l);
		if (fd < 0)
			return fd;
		fd = dbk_launch_add_fd(l, (*f)->handover, fd);
		if (fd < 0) {
			dbk_log("%s: more fds than a driver is handed (%d)", d->info.id, DBK_LAUNCH_FDS);
			return fd;
		}
	}
	return 0;
}

/* The manifest's Exec=, its templates expanded. */
static int dbk_launch_argv(struct dbk_entry *d, const struct dbk_manifest *m,
			   char args[DBK_MAX_ARGS][DBK_PATH_MAX], char **argv)
{
	int i, ret;

	for (i = 0; i < (int)m->argc && i < DBK_MAX_ARGS; i++) {
		ret = dbk_template_expand(m->argv[i], d->instance, d->info.id, d->info.serial,
					  args[i], sizeof(args[i]));
		if (ret < 0) {
			dbk_log("%s: Exec= argument '%s': %s", d->info.id, m->argv[i], strerror(-ret));
			return ret;
		}
		argv[i] = args[i];
	}
	argv[i] = NULL;
	return 0;
}

/* The hand-over: fds[i] becomes fd 3 + i in the driver (dbk_child). */
static int dbk_launch_env(struct dbk_entry *d, const struct dbk_launch *l, char *buf, size_t len,
			  char **envp)
{
	const struct dbk_bus_ops *bus = dbk_bus_of(&d->info);
	struct dbk_handover_spec spec;
	int i, ne;

	dbk_handover_spec_init(&spec);
	spec.device = d->info.id;
	spec.instance = d->instance;
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		spec.fd[i] = l->at[i] < 0 ? -1 : 3 + l->at[i];
	for (i = 0; i < (int)l->nr_block; i++)
		spec.block_fd[i] = 3 + l->block_at + i;
	spec.nr_block = l->nr_block;
	if (bus->handover == DBK_HANDOVER_USB) {
		spec.usb_interfaces = d->info.usb_ifaces;
		spec.usb_serial = d->info.serial;
	}
	spec.fuse_mount = d->fuse_mount;
	envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	ne = dbk_handover_env(&spec, buf, len, envp + 1, DBK_HANDOVER_ENV_MAX);
	if (ne < 0) {
		dbk_log("%s: the hand-over does not fit: %s", d->info.id, strerror(-ne));
		return ne;
	}
	envp[ne + 1] = NULL;
	return 0;
}

/*
 * A block driver completes the I/O the kernel's memory reclaim may wait
 * for: PR_SET_IO_FLUSHER (Linux 5.6, CAP_SYS_RESOURCE, kept across
 * setuid and execve) keeps its own allocations from waiting on that I/O.
 * Without it the driver still starts, and the log says why.
 */
static void dbk_child_io_flusher(const char *prog)
{
#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER	57
#endif
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0)
		return;
	fprintf(stderr, "devbrokerd: %s: PR_SET_IO_FLUSHER: %s; the block driver runs without it and may deadlock under memory pressure\n",
		prog, errno == EPERM ? "devbrokerd lacks CAP_SYS_RESOURCE" :
		errno == EINVAL ? "this kernel is older than 5.6" : strerror(errno));
}

/*
 * In the child: fds[] become 3, 4, ...; the log pipe becomes 1 (stdout)
 * at once and 2 (stderr) at the exec, so that what this child says before
 * (its sandbox) is still devbrokerd's; everything else above is closed.
 * A USB driver is marked with its request rules while still root (the
 * policy's map is root's; the sandbox then refuses bpf()).
 */
static void dbk_child(char **argv, char **envp, const struct dbk_launch *l)
{
	int i, hi[DBK_LAUNCH_FDS], out, errfd, ret;
	sigset_t none;

	/* The daemon blocks the signals its signalfd reads, and ignores SIGPIPE. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	for (i = 0; i < l->nfds; i++)
		hi[i] = fcntl(l->fds[i], F_DUPFD, 100);
	out = fcntl(l->log_wr, F_DUPFD, 100);
	for (i = 0; i < l->nfds; i++)
		if (hi[i] < 0 || dup2(hi[i], 3 + i) < 0)
			_exit(126);
	if (out < 0 || dup2(out, 1) < 0)
		_exit(126);
	if (syscall(SYS_close_range, 3 + l->nfds, ~0U, 0) < 0)
		_exit(126);
	i = open("/dev/null", O_RDONLY);
	if (i < 0 || dup2(i, 0) < 0)
		_exit(126);
	if (i > 2 && i >= 3 + l->nfds)
		close(i);
	ret = l->usb_marked ? dbk_usb_policy_mark_self(&l->usb_rules) : 0;
	if (ret) {
		fprintf(stderr, "devbrokerd: marking %s with its USB request rules: %s\n", argv[0],
			strerror(-ret));
		_exit(126);
	}
	if (l->nr_block)
		dbk_child_io_flusher(argv[0]);
	ret = dbk_sandbox_enter(l->uid, l->gid, l->m->dynamic_user, l->m->frontend.network_offloads);
	if (ret) {
		fprintf(stderr, "devbrokerd: sandbox for %s: %s\n", argv[0], strerror(-ret));
		_exit(126);
	}
	/* devbrokerd's stderr, kept until the exec succeeds. */
	errfd = fcntl(2, F_DUPFD_CLOEXEC, 3 + l->nfds);
	if (errfd < 0 || dup2(1, 2) < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	dprintf(errfd, "devbrokerd: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t dbk_launch(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m)
{
	char args[DBK_MAX_ARGS][DBK_PATH_MAX], *argv[DBK_MAX_ARGS + 1];
	char envbuf[DBK_HANDOVER_ENV_LEN], *envp[DBK_HANDOVER_ENV_MAX + 2];
	const struct dbk_bus_ops *bus = dbk_bus_of(&d->info);
	struct dbk_launch l = { .m = m, .log_wr = -1 };
	const struct dbk_frontend_ops *const *f;
	int ret, fd, i;
	pid_t pid;

	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		l.at[i] = -1;
	ret = dbk_launch_user(dd, d, &l);
	if (ret)
		return ret;
	dbk_launch_rights(dd, d, m);
	ret = dbk_launch_policy(dd, d, m);
	if (!ret && bus->prepare)
		ret = bus->prepare(dd, d, &l);
	if (ret)
		return ret;
	fd = bus->grant(dd, d, m);
	if (fd < 0)
		return fd;
	dbk_launch_add_fd(&l, bus->handover, fd);	/* the first: always fits */
	d->instance = dbk_pick_instance(dd, d);
	ret = dbk_launch_frontends(dd, d, &l);
	if (!ret)
		ret = dbk_launch_argv(d, m, args, argv);
	if (!ret)
		ret = dbk_launch_env(d, &l, envbuf, sizeof(envbuf), envp);
	if (!ret)
		ret = dbk_drvlog_open(dd, d, &l.log_wr);
	if (ret)
		goto out;
	pid = fork();
	if (pid == 0)
		dbk_child(argv, envp, &l);
	close(l.log_wr);	/* before any other child (a frontend's helper) can inherit it */
	if (pid < 0) {
		ret = -errno;
		dbk_drvlog_close(dd, d);
		goto out;
	}
	ret = pid;
	d->log_pid = pid;
	d->uid = l.uid;
	d->nbd_killed = NULL;
	for (f = dbk_frontends; *f; f++)
		if ((*f)->started && (*f)->wanted(m))
			(*f)->started(dd, d, &l, pid);
	dbk_event(dd, "started", d, "%s as uid %u (pid %d)%s%s%s%s", m->name, (unsigned int)l.uid,
		  (int)pid, d->frontend[0] ? ", frontend " : "", d->frontend,
		  d->fuse_mount[0] ? ", FUSE mount " : "", d->fuse_mount);
out:
	/* Never keep a /dev/cuse fd without its server: clients could hang in D state. */
	for (i = 0; i < l.nfds; i++)
		close(l.fds[i]);
	if (ret < 0) {
		dbk_frontends_close(dd, d);
		bus->release(dd, d);
	}
	return ret;
}
