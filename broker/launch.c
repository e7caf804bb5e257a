// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Starting a driver: bind the device to devbroker and create a grant with
 * exactly the allowed rights (PCI), or claim the granted interfaces on a
 * restricted usbfs fd (USB); open the frontends; and fork a sandboxed,
 * unprivileged child that receives those fds and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>
#include <linux/devbroker.h>
#include <sys/syscall.h>

#include "daemon.h"
#include "handover-writer.h"
#include "policyload.h"
#include "sandbox.h"
#include "usbpolicy.h"

/* At most one fd of each kind: grant or usbfs, CUSE, uinput, FUSE. */
#define DBK_LAUNCH_FDS	4

static int dbk_resolve_ids(const struct dbk_manifest *m, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(m->user);
	struct group *gr;
	char *end;

	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		*uid = strtoul(m->user, &end, 10);
		if (*end || !m->user[0])
			return -ENOENT;
		*gid = *uid;
	}
	if (m->group[0]) {
		gr = getgrnam(m->group);
		if (gr) {
			*gid = gr->gr_gid;
		} else {
			*gid = strtoul(m->group, &end, 10);
			if (*end)
				return -ENOENT;
		}
	}
	return *uid == 0 || *gid == 0 ? -EPERM : 0;	/* never root */
}

/* The lowest instance number no other device of this driver uses. */
static int dbk_pick_instance(const struct dbk_entry *d)
{
	int inst, i;

	if (d->instance >= 0)
		return d->instance;
	for (inst = 0;; inst++) {
		for (i = 0; i < dbk.nr_devs; i++)
			if (&dbk.devs[i] != d && dbk.devs[i].instance == inst &&
			    !strcmp(dbk.devs[i].driver, d->driver))
				break;
		if (i == dbk.nr_devs)
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

static int dbk_create_grant(struct dbk_entry *d)
{
	const struct dbk_rights *r = &d->rights;
	struct dbk_range ranges[DBK_MAX_MEDIATED];
	struct dbk_grant_spec spec = { .argsz = sizeof(spec) };
	unsigned int i;
	int fd;

	for (i = 0; i < r->nr_mediated; i++)
		ranges[i] = (struct dbk_range){ .bar = r->mediated[i].bar,
			.offset = r->mediated[i].offset, .size = r->mediated[i].size };
	spec.flags = ((r->irqs & DBK_IRQ_INTX) ? DBK_GRANT_F_INTX : 0) |
		     ((r->irqs & DBK_IRQ_MSI) ? DBK_GRANT_F_MSI : 0) |
		     ((r->irqs & DBK_IRQ_MSIX) ? DBK_GRANT_F_MSIX : 0) |
		     (r->config_write ? DBK_GRANT_F_CONFIG_WRITE : 0) |
		     (r->dma ? DBK_GRANT_F_DMA : 0) |
		     (r->dma && r->unsafe_dma ? DBK_GRANT_F_UNSAFE_DMA : 0);
	spec.bar_mask = r->bars;
	spec.mmap_mask = r->map_bars & r->bars;
	spec.max_vectors = (r->irqs & (DBK_IRQ_MSI | DBK_IRQ_MSIX)) ? r->vectors : 0;
	spec.irq_rate = r->irq_rate;
	spec.dma_quota = r->dma;
	spec.dma_bits = r->dma ? r->dma_bits : 0;
	spec.nr_mediated = r->nr_mediated;
	spec.mediated = (uintptr_t)ranges;
	spec.policy_cookie = dbk_policy_cookie(d->driver);
	fd = ioctl(d->devfd, DBK_DEVICE_CREATE_GRANT, &spec);
	if (fd < 0 && errno == EBUSY) {
		/* A previous driver's straggler still holds the old grant: take it back. */
		dbk_revoke_fd(d->devfd);
		fd = ioctl(d->devfd, DBK_DEVICE_CREATE_GRANT, &spec);
	}
	return fd < 0 ? -errno : fd;
}

/* mkdir -p, root-owned 0755 components. */
static int dbk_mkdirs(const char *path)
{
	char tmp[DBK_PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW	256	/* Linux 5.10 */
#endif

/* Is d->fuse_mount another entry's mount point, or a mount point at all? */
static bool dbk_mount_busy(const struct dbk_entry *d)
{
	char parent[DBK_PATH_MAX], *slash;
	struct stat st, pst;
	int i;

	for (i = 0; i < dbk.nr_devs; i++)
		if (&dbk.devs[i] != d && !strcmp(dbk.devs[i].fuse_mount, d->fuse_mount))
			return true;
	snprintf(parent, sizeof(parent), "%s", d->fuse_mount);
	slash = strrchr(parent, '/');
	if (!slash)
		return true;
	slash[slash == parent] = '\0';
	/* lstat: a mount of a dead server would make stat() fail, and that also means busy. */
	return lstat(d->fuse_mount, &st) < 0 || lstat(parent, &pst) < 0 || !S_ISDIR(st.st_mode) ||
	       st.st_dev != pst.st_dev;
}

/*
 * A FUSE filesystem for the driver to serve: the broker opens /dev/fuse and
 * mounts it (the driver may not mount), then passes the fd; libfuse takes
 * it with fuse_session_mount(se, "/dev/fd/N").
 */
static int dbk_fuse_mount(struct dbk_entry *d, const struct dbk_manifest *m, uid_t uid, gid_t gid)
{
	char opts[160];
	int fd, ret;

	ret = dbk_template_expand(m->frontend.fuse_mount, d->instance, d->info.id, d->info.serial,
				  d->fuse_mount, sizeof(d->fuse_mount));
	if (ret >= 0)
		ret = dbk_mkdirs(d->fuse_mount);
	/*
	 * The path may come from the device (%s, its serial number): never
	 * mount over another driver's mount (an unmount would then remove
	 * the wrong one) or over any mount point.
	 */
	if (!ret && dbk_mount_busy(d))
		ret = -EBUSY;
	if (ret)
		goto err;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other",
		 fd, (unsigned int)uid, (unsigned int)gid);
	/* nosymfollow: root may write to a file in it; the driver could plant a symlink. */
	if (mount(m->name, d->fuse_mount, "fuse.devbroker",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW, opts) < 0) {
		ret = -errno;
		close(fd);
		goto err;
	}
	return fd;
err:
	dbk_log("%s: FUSE mount at %s: %s", d->info.id, d->fuse_mount,
		ret == -EBUSY ? "another driver's mount, or a mount point, is there already" :
		ret == -ENODEV ? "no FUSE in the kernel (modprobe fuse)" : strerror(-ret));
	d->fuse_mount[0] = 0;
	return ret;
}

/* After the driver is gone: its mount goes too. */
void dbk_launch_cleanup(struct dbk_entry *d)
{
	if (d->fuse_mount[0] && umount2(d->fuse_mount, MNT_DETACH) < 0 && errno != EINVAL)
		dbk_log("%s: umount %s: %s", d->info.id, d->fuse_mount, strerror(errno));
	d->fuse_mount[0] = 0;
}

/*
 * In the child: fds[] become 3, 4, ...; everything else above is closed.
 * A USB driver is marked with its request @rules while still root (the
 * policy's map is root's; the sandbox then refuses bpf()).
 */
static void dbk_child(char **argv, const int *fds, int nfds, uid_t uid, gid_t gid, char **envp,
		      const struct dbk_usb_rules *rules)
{
	int i, hi[DBK_LAUNCH_FDS], ret;
	sigset_t none;

	/* The daemon blocks the signals its signalfd reads, and ignores SIGPIPE. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	for (i = 0; i < nfds; i++)
		hi[i] = fcntl(fds[i], F_DUPFD, 100);
	for (i = 0; i < nfds; i++)
		if (hi[i] < 0 || dup2(hi[i], 3 + i) < 0)
			_exit(126);
	if (syscall(SYS_close_range, 3 + nfds, ~0U, 0) < 0)
		_exit(126);
	i = open("/dev/null", O_RDONLY);
	if (i >= 0) {
		dup2(i, 0);
		if (i > 2 && i >= 3 + nfds)
			close(i);
	}
	ret = rules ? dbk_usb_policy_mark_self(rules) : 0;
	if (ret) {
		fprintf(stderr, "devbrokerd: marking %s with its USB request rules: %s\n", argv[0],
			strerror(-ret));
		_exit(126);
	}
	ret = dbk_sandbox_enter(uid, gid);
	if (ret) {
		fprintf(stderr, "devbrokerd: sandbox for %s: %s\n", argv[0], strerror(-ret));
		_exit(126);
	}
	execve(argv[0], argv, envp);
	fprintf(stderr, "devbrokerd: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * The manifest's Policy=: loaded and attached (pinned by dbk-policy)
 * before the grant exists, so that it rules on the grant itself.  A
 * policy pinned already is kept.
 */
static int dbk_policy_ensure(const char *name)
{
	char msg[512];
	int ret;

	if (dbk_policy_loaded(name))
		return 0;
	ret = dbk_policy_load(dbk.policy_loader, dbk.policy_dir, name, msg, sizeof(msg));
	if (ret)
		dbk_log("%s", msg);
	return ret;
}

/* PCI: bind to devbroker.ko if needed, then a grant with exactly d->rights. */
static int dbk_launch_pci(struct dbk_entry *d, const struct dbk_manifest *m)
{
	int ret, grant;

	if (d->devfd < 0) {
		ret = dbk_pci_bind(d->info.id);
		if (ret) {
			dbk_log("%s: cannot bind to devbroker: %s (is devbroker.ko loaded?)",
				d->info.id, strerror(-ret));
			return ret;
		}
		dbk_event("bound", d, "bound to devbroker");
		d->devfd = dbk_pci_open_node(d->info.id);
		if (d->devfd < 0) {
			ret = d->devfd;
			d->devfd = -1;
			dbk_log("%s: /dev/devbroker node: %s", d->info.id, strerror(-ret));
			return ret;
		}
	}
	grant = dbk_create_grant(d);
	if (grant < 0)
		dbk_log("%s: creating the grant for %s: %s", d->info.id, m->name, strerror(-grant));
	return grant;
}

/*
 * A USB driver runs under the usb_requests policy, whatever its rights:
 * besides its request rules, the policy keeps it to the usbfs calls a
 * driver needs and keeps other processes out of its memory.  Without the
 * policy (or the BPF LSM) it does not start.
 */
static int dbk_usb_launch_policy(struct dbk_entry *d, struct dbk_usb_rules *rules)
{
	char msg[512];
	int ret;

	ret = dbk_usb_deny_builtin(&d->rights);
	if (!ret)
		ret = dbk_usb_rules_from_rights(&d->rights, dbk_policy_cookie(d->driver), rules);
	if (ret) {
		dbk_log("%s: too many refused USB requests for %s: the driver stays off",
			d->info.id, d->driver);
		return ret;
	}
	ret = dbk_usb_policy_ensure(dbk.policy_loader, dbk.policy_dir, msg, sizeof(msg));
	if (ret) {
		dbk_log("%s: %s: the driver %s stays off", d->info.id, msg, d->driver);
		return ret;
	}
	dbk_usb_denials_follow();
	return 0;
}

pid_t dbk_launch(struct dbk_entry *d, const struct dbk_manifest *m)
{
	char args[DBK_MAX_ARGS][DBK_PATH_MAX], *argv[DBK_MAX_ARGS + 1];
	char envbuf[DBK_HANDOVER_ENV_LEN], *envp[DBK_HANDOVER_ENV_MAX + 2];
	int fds[DBK_LAUNCH_FDS], at[DBK_HANDOVER_NR_FDS], nfds = 0, ret, fd, i, ne;
	struct dbk_handover_spec spec;
	struct dbk_usb_rules rules;
	bool usb = d->info.bus == DBK_BUS_USB;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		at[i] = -1;
	ret = dbk_resolve_ids(m, &uid, &gid);
	if (ret) {
		dbk_log("%s: driver %s: user '%s' cannot run a driver: %s", d->info.id, m->name,
			m->user, ret == -EPERM ? "it is root" : "no such user");
		return ret;
	}
	d->cuts[0] = 0;
	if (dbk_rights_intersect(&m->rights, &dbk.limits, &d->rights, d->cuts, sizeof(d->cuts)) > 0) {
		char oneline[sizeof(d->cuts)], *p;

		snprintf(oneline, sizeof(oneline), "%s", d->cuts);
		for (p = oneline; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : 0;
		dbk_event("cut", d, "limits.conf cut the rights of %s: %s", m->name, oneline);
	}
	if (m->policy[0]) {
		ret = dbk_policy_ensure(m->policy);
		if (ret) {
			dbk_log("%s: policy %s (%s/%s.bpf.o) could not be loaded: the driver stays off",
				d->info.id, m->policy, dbk.policy_dir, m->policy);
			return ret;
		}
	}
	if (usb) {
		ret = dbk_usb_launch_policy(d, &rules);
		if (ret)
			return ret;
	}
	fd = usb ? dbk_usb_grant(d) : dbk_launch_pci(d, m);
	if (fd < 0)
		return fd;
	at[usb ? DBK_HANDOVER_USB : DBK_HANDOVER_GRANT] = nfds;
	fds[nfds++] = fd;
	d->instance = dbk_pick_instance(d);
	d->frontend[0] = 0;
	d->frontend_ready = false;
	if (m->frontend.cuse[0]) {
		char name[DBK_NAME_MAX];

		fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			dbk_log("%s: /dev/cuse: %s (modprobe cuse)", d->info.id, strerror(errno));
			goto out;
		}
		at[DBK_HANDOVER_CUSE] = nfds;
		fds[nfds++] = fd;
		ret = dbk_template_expand(m->frontend.cuse, d->instance, d->info.id, d->info.serial,
					  name, sizeof(name));
		if (ret < 0) {
			dbk_log("%s: CUSE=%s: %s", d->info.id, m->frontend.cuse, strerror(-ret));
			goto out;
		}
		snprintf(d->frontend, sizeof(d->frontend), "/dev/%s", name);
	}
	if (m->frontend.uinput) {
		fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			dbk_log("%s: /dev/uinput: %s (modprobe uinput)", d->info.id, strerror(errno));
			goto out;
		}
		at[DBK_HANDOVER_UINPUT] = nfds;
		fds[nfds++] = fd;
	}
	if (m->frontend.fuse_mount[0]) {
		fd = dbk_fuse_mount(d, m, uid, gid);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
		at[DBK_HANDOVER_FUSE] = nfds;
		fds[nfds++] = fd;
	}
	for (i = 0; i < (int)m->argc && i < DBK_MAX_ARGS; i++) {
		ret = dbk_template_expand(m->argv[i], d->instance, d->info.id, d->info.serial,
					  args[i], sizeof(args[i]));
		if (ret < 0) {
			dbk_log("%s: Exec= argument '%s': %s", d->info.id, m->argv[i], strerror(-ret));
			goto out;
		}
		argv[i] = args[i];
	}
	argv[i] = NULL;
	/* fds[i] becomes fd 3 + i in the driver (dbk_child); libdev announces them. */
	dbk_handover_spec_init(&spec);
	spec.device = d->info.id;
	spec.instance = d->instance;
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		spec.fd[i] = at[i] < 0 ? -1 : 3 + at[i];
	spec.usb_interfaces = usb ? d->info.usb_ifaces : 0;
	spec.usb_serial = usb ? d->info.serial : NULL;
	spec.fuse_mount = d->fuse_mount;
	envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	ne = dbk_handover_env(&spec, envbuf, sizeof(envbuf), envp + 1, DBK_HANDOVER_ENV_MAX);
	if (ne < 0) {
		ret = ne;
		dbk_log("%s: the hand-over does not fit: %s", d->info.id, strerror(-ret));
		goto out;
	}
	envp[ne + 1] = NULL;

	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0)
		dbk_child(argv, fds, nfds, uid, gid, envp, usb ? &rules : NULL);
	ret = pid;
	dbk_event("started", d, "%s as uid %u (pid %d)%s%s%s%s", m->name, (unsigned int)uid, (int)pid,
		  d->frontend[0] ? ", frontend " : "", d->frontend,
		  d->fuse_mount[0] ? ", FUSE mount " : "", d->fuse_mount);
out:
	/* Never keep a /dev/cuse fd without its server: clients could hang in D state. */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ret < 0) {
		dbk_launch_cleanup(d);
		if (usb)
			dbk_usb_giveback(d);
	}
	return ret;
}
