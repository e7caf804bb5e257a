// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one launcher of the policy loader: see policyload.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <devbroker/bpffs.h>

#include "policyload.h"

/*
 * Pin @pin in a loaded policy's directory (@sub of it, or its own),
 * opened only through private directories, and read through the fd
 * (bpf_obj_get() takes only a path): under a bpffs mounted 1777 a
 * directory checked by its path could be swapped for another before its
 * pins are read, not one held open.  An fd, -ENOENT, or -EPERM.
 */
static int pin_get(const char *name, const char *sub, const char *pin)
{
	char path[PATH_MAX];
	int d = dbk_bpffs_policy_dir_open(DBK_POLICY_PIN_ROOT, name, sub), fd;

	if (d < 0)
		return d == -ENOENT ? d : -EPERM;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", d, pin);
	fd = bpf_obj_get(path);
	fd = fd < 0 ? -errno : fd;
	close(d);
	return fd;
}

bool dbk_policy_loaded(const char *name)
{
	int fd;

	/*
	 * Only a directory dbk-policy made counts: under a bpffs mounted 1777
	 * anybody could make one of the name, and the policy would be skipped.
	 * (Anything else: dbk-policy load refuses it and says why.)
	 */
	fd = dbk_bpffs_policy_dir_open(DBK_POLICY_PIN_ROOT, name, DBK_POLICY_LINKS);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int dbk_policy_guard_open(const char *name)
{
	return pin_get(name, NULL, DBK_POLICY_GUARD);
}

int dbk_policy_map_open(const char *name, const char *map)
{
	return pin_get(name, DBK_POLICY_MAPS, map);
}

int dbk_policy_load(const char *loader, const char *policy_dir, const char *name,
		    char *msg, size_t msglen)
{
	char file[PATH_MAX];
	int ret, status;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/%s.bpf.o", policy_dir, name);
	if (access(file, R_OK)) {
		ret = -errno;
		snprintf(msg, msglen, "policy %s: %s: %s", name, file, strerror(-ret));
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(msg, msglen, "policy %s: fork: %s", name, strerror(-ret));
		return ret;
	}
	if (pid == 0) {
		execl(loader, loader, "load", name, file, (char *)NULL);
		fprintf(stderr, "devbrokerd: exec %s: %s\n", loader, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			ret = -errno;
			snprintf(msg, msglen, "policy %s: waitpid: %s", name, strerror(-ret));
			return ret;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(msg, msglen, "%s load %s %s failed (%s %d)", loader, name, file,
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -ENOEXEC;
	}
	return 0;
}
