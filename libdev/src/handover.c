// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The driver hand-over (<devbroker/handover.h>): both sides.  It travels
 * in the driver's environment: DBK_HANDOVER (the protocol's version), then
 * one variable per fd kind (its number in the driver, -1 for none) and
 * one per detail.  Only this file knows those names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "handover-writer.h"

#ifndef DBK_EXPORT
#define DBK_EXPORT __attribute__((visibility("default")))
#endif

#define HANDOVER_VERSION	"1"

static const char *const fd_names[DBK_HANDOVER_NR_FDS] = {
	[DBK_HANDOVER_GRANT] = "DBK_GRANT_FD",
	[DBK_HANDOVER_USB] = "DBK_USB_FD",
	[DBK_HANDOVER_CUSE] = "DBK_CUSE_FD",
	[DBK_HANDOVER_UINPUT] = "DBK_UINPUT_FD",
	[DBK_HANDOVER_FUSE] = "DBK_FUSE_FD",
	[DBK_HANDOVER_NET] = "DBK_NET_FD",
};

struct dbk_handover {
	int fd[DBK_HANDOVER_NR_FDS];
	int block_fd[DBK_HANDOVER_BLOCK_MAX];
	unsigned int nr_block;		/* 0 once taken */
	int instance;
	uint32_t usb_interfaces;
	char device[64];
	char usb_serial[256];
	char fuse_mount[PATH_MAX];
};

/*
 * A driver is not dumpable: no process of its uid but itself may ptrace
 * it, open its /proc/PID/mem or fd links, process_vm_readv it or take
 * its fds with pidfd_getfd (ptrace_may_access: a process that is not
 * dumpable needs CAP_SYS_PTRACE).  devbrokerd cannot set this for it:
 * execve() makes a process dumpable again whenever its effective and
 * real ids are equal, as a driver's are (fs/exec.c, begin_new_exec():
 * SUID_DUMP_USER unless the binary is unreadable or euid != uid; the
 * flag lives in the mm, which exec replaces).  So libdev sets it, as
 * early as a library can: when it is loaded, before main(), in any
 * program devbrokerd started (DBK_HANDOVER is set), and again in
 * dbk_handover_get() for a driver that unset it.  What runs before (the
 * dynamic loader) runs with the grant fd open but under a uid no other
 * process has (DynamicUser=, devbroker-manifest(5)).  The price: no core
 * dumps (fs.suid_dumpable decides), and /proc/self files of mode 0400 or
 * 0600 (environ, mem) become root's.
 */
static void handover_nondumpable(void)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

__attribute__((constructor)) static void handover_loaded(void)
{
	if (getenv("DBK_HANDOVER"))
		handover_nondumpable();
}

/* ---------------------------------------------------------------- writer */

void dbk_handover_spec_init(struct dbk_handover_spec *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->instance = -1;
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		s->fd[i] = -1;
}

int dbk_handover_env(const struct dbk_handover_spec *s, char *buf, size_t len,
		     char **envp, size_t max)
{
	size_t used = 0, n = 0;
	unsigned int b;
	int i, m;

	if (max < DBK_HANDOVER_ENV_MAX || s->nr_block > DBK_HANDOVER_BLOCK_MAX)
		return -EINVAL;
	for (b = 0; b < s->nr_block; b++)
		if (s->block_fd[b] < 3)
			return -EINVAL;
#define PUT(...) do {								\
		m = snprintf(buf + used, len - used, __VA_ARGS__);		\
		if (m < 0 || (size_t)m >= len - used)				\
			return -ENOSPC;						\
		envp[n++] = buf + used;						\
		used += (size_t)m + 1;						\
	} while (0)
	PUT("DBK_HANDOVER=" HANDOVER_VERSION);
	PUT("DBK_DEVICE=%s", s->device ? s->device : "");
	PUT("DBK_INSTANCE=%d", s->instance);
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		PUT("%s=%d", fd_names[i], s->fd[i] < 0 ? -1 : s->fd[i]);
	PUT("DBK_USB_INTERFACES=0x%x", (unsigned int)s->usb_interfaces);
	PUT("DBK_USB_SERIAL=%s", s->usb_serial ? s->usb_serial : "");
	PUT("DBK_FUSE_MOUNT=%s", s->fuse_mount ? s->fuse_mount : "");
	/* Always written (empty: none), so that setenv() overrides a stale list. */
	PUT("DBK_BLOCK_FDS=");
	for (b = 0; b < s->nr_block; b++) {
		used--;		/* extend the entry over its NUL */
		m = snprintf(buf + used, len - used, "%s%d", b ? "," : "", s->block_fd[b]);
		if (m < 0 || (size_t)m >= len - used)
			return -ENOSPC;
		used += (size_t)m + 1;
	}
#undef PUT
	return (int)n;
}

int dbk_handover_setenv(const struct dbk_handover_spec *s)
{
	char buf[DBK_HANDOVER_ENV_LEN], *env[DBK_HANDOVER_ENV_MAX], *eq;
	int i, n;

	n = dbk_handover_env(s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX);
	for (i = 0; i < n; i++) {
		eq = strchr(env[i], '=');
		*eq = 0;
		if (setenv(env[i], eq + 1, 1))
			return -errno;
	}
	return n < 0 ? n : 0;
}

/* ---------------------------------------------------------------- reader */

/*
 * Strictly a number as the writer writes it: decimal, or 0x hex for a mask
 * (@min 0), or -1 for "none" (@min -1).
 */
static int parse_int(const char *s, long min, long max, long *v)
{
	unsigned long long u;
	int base = 10;
	char *end;

	if (!s)
		return -EINVAL;
	if (min < 0 && !strcmp(s, "-1")) {
		*v = -1;
		return 0;
	}
	if (min == 0 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull() takes a sign and blanks: not here. */
	if (!((*s >= '0' && *s <= '9') || (base == 16 && ((*s >= 'a' && *s <= 'f') ||
							  (*s >= 'A' && *s <= 'F')))))
		return -EINVAL;
	errno = 0;
	u = strtoull(s, &end, base);
	if (errno || *end || u > (unsigned long long)max)
		return -EINVAL;
	*v = (long)u;
	return 0;
}

/*
 * Variable @name as parse_int() reads it; absent, @dflt (a driver started
 * by hand sets only what it has).
 */
static int env_int(const char *name, long min, long max, long dflt, long *v)
{
	const char *s = getenv(name);

	*v = dflt;
	return s ? parse_int(s, min, max, v) : 0;
}

static int copy_str(char *dst, size_t n, const char *s)
{
	if (!s)
		s = "";
	if (strlen(s) >= n)
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

/*
 * DBK_BLOCK_FDS: "5,6,7" as the writer writes it (absent or empty: none);
 * each fd above 2, none twice, at most DBK_HANDOVER_BLOCK_MAX.
 */
static int parse_block_fds(const char *s, struct dbk_handover *h)
{
	char num[16];
	unsigned int i;
	size_t n;
	long v;

	h->nr_block = 0;
	if (!s || !*s)
		return 0;
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(num) || h->nr_block == DBK_HANDOVER_BLOCK_MAX)
			return -EINVAL;
		memcpy(num, s, n);
		num[n] = 0;
		if (parse_int(num, 1, INT_MAX, &v) < 0 || v < 3)
			return -EINVAL;
		for (i = 0; i < h->nr_block; i++)
			if (h->block_fd[i] == (int)v)
				return -EINVAL;
		h->block_fd[h->nr_block++] = (int)v;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

DBK_EXPORT int dbk_handover_get(struct dbk_handover **out)
{
	const char *ver = getenv("DBK_HANDOVER");
	struct dbk_handover *h;
	long v;
	int i;

	if (!out)
		return -EINVAL;
	if (!ver)
		return -ENOENT;
	handover_nondumpable();
	if (strcmp(ver, HANDOVER_VERSION))
		return -EINVAL;		/* a daemon of another protocol */
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* fds 0-2 are never handed over. */
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++) {
		if (env_int(fd_names[i], -1, INT_MAX, -1, &v) < 0 || (v >= 0 && v < 3))
			goto bad;
		h->fd[i] = (int)v;
	}
	if (env_int("DBK_INSTANCE", -1, INT_MAX, -1, &v) < 0)
		goto bad;
	h->instance = (int)v;
	if (env_int("DBK_USB_INTERFACES", 0, UINT32_MAX, 0, &v) < 0)
		goto bad;
	h->usb_interfaces = (uint32_t)v;
	if (copy_str(h->device, sizeof(h->device), getenv("DBK_DEVICE")) ||
	    copy_str(h->usb_serial, sizeof(h->usb_serial), getenv("DBK_USB_SERIAL")) ||
	    copy_str(h->fuse_mount, sizeof(h->fuse_mount), getenv("DBK_FUSE_MOUNT")) ||
	    parse_block_fds(getenv("DBK_BLOCK_FDS"), h))
		goto bad;
	*out = h;
	return 0;
bad:
	free(h);
	return -EINVAL;
}

DBK_EXPORT int dbk_handover_take_fd(struct dbk_handover *h, enum dbk_handover_fd which)
{
	int fd;

	if (!h || (unsigned int)which >= DBK_HANDOVER_NR_FDS)
		return -EINVAL;
	fd = h->fd[which];
	if (fd < 0)
		return -ENOENT;
	h->fd[which] = -1;
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : fd;
}

DBK_EXPORT int dbk_handover_take_block_fds(struct dbk_handover *h, int *fds,
					   unsigned int max)
{
	unsigned int i, n;

	if (!h || !fds)
		return -EINVAL;
	n = h->nr_block;
	if (n == 0)
		return -ENOENT;
	if (max < n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (fcntl(h->block_fd[i], F_GETFD) < 0)
			return -EBADF;
	memcpy(fds, h->block_fd, n * sizeof(*fds));
	h->nr_block = 0;
	return (int)n;
}

DBK_EXPORT const char *dbk_handover_device(const struct dbk_handover *h)
{
	return h ? h->device : "";
}

DBK_EXPORT int dbk_handover_instance(const struct dbk_handover *h)
{
	return h ? h->instance : -1;
}

DBK_EXPORT uint32_t dbk_handover_usb_interfaces(const struct dbk_handover *h)
{
	return h ? h->usb_interfaces : 0;
}

DBK_EXPORT const char *dbk_handover_usb_serial(const struct dbk_handover *h)
{
	return h ? h->usb_serial : "";
}

DBK_EXPORT const char *dbk_handover_fuse_mount(const struct dbk_handover *h)
{
	return h ? h->fuse_mount : "";
}

DBK_EXPORT void dbk_handover_free(struct dbk_handover *h)
{
	free(h);
}
