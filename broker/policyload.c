// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one launcher of the policy loader: see policyload.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <devbroker/bpffs.h>

#include "policyload.h"

bool dbk_policy_loaded(const char *name)
{
	char pin[PATH_MAX];

	/*
	 * Only a directory dbk-policy made counts: under a bpffs mounted 1777
	 * anybody could make one of the name, and the policy would be skipped.
	 * (Anything else: dbk-policy load refuses it and says why.)
	 */
	snprintf(pin, sizeof(pin), DBK_POLICY_PIN_ROOT "/%s/" DBK_POLICY_LINKS, name);
	return !dbk_bpffs_dir_private(DBK_POLICY_PIN_ROOT) && !dbk_bpffs_dir_private(pin);
}

int dbk_policy_guard_open(const char *name)
{
	char pin[PATH_MAX];
	int fd;

	/* Only from a pin root nobody else could have swapped a pin in. */
	fd = dbk_bpffs_dir_private(DBK_POLICY_PIN_ROOT);
	if (fd)
		return fd == -ENOENT ? fd : -EPERM;
	snprintf(pin, sizeof(pin), DBK_POLICY_PIN_ROOT "/%s/" DBK_POLICY_GUARD, name);
	fd = bpf_obj_get(pin);
	return fd < 0 ? -errno : fd;
}

int dbk_policy_map_open(const char *name, const char *map)
{
	char dir[PATH_MAX], maps[PATH_MAX], pin[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), DBK_POLICY_PIN_ROOT "/%s", name);
	snprintf(maps, sizeof(maps), DBK_POLICY_PIN_ROOT "/%s/" DBK_POLICY_MAPS, name);
	snprintf(pin, sizeof(pin), DBK_POLICY_PIN_ROOT "/%s/" DBK_POLICY_MAPS "/%s", name, map);
	fd = dbk_bpffs_dir_private(DBK_POLICY_PIN_ROOT);
	if (!fd)
		fd = dbk_bpffs_dir_private(dir);
	if (!fd)
		fd = dbk_bpffs_dir_private(maps);
	if (fd)
		return fd == -ENOENT ? fd : -EPERM;
	fd = bpf_obj_get(pin);
	return fd < 0 ? -errno : fd;
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
