// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DynamicUser= (devbroker-manifest(5)): each driver instance runs as a
 * uid, and a gid of the same number, that no other process has, the way
 * systemd's DynamicUser= does.  A driver that shares its uid with another
 * (nobody: every driver, and any nobody daemon) can be ptraced, read
 * through /proc/PID/mem and process_vm_readv, and robbed of its grant fd
 * with pidfd_getfd by that other process: same uid, same permission.
 *
 * The range: DBK_DYNAMIC_UID_MIN, DBK_DYNAMIC_UID_COUNT ids (daemon.h),
 * inside what systemd's UIDS-GIDS.md leaves unused (1879048192 ...
 * 2147352575: above the container ranges and the default subordinate ids
 * of useradd, below the foreign range), so never one of systemd's
 * DynamicUser= ids (61184-65519), nor a Debian user's (Policy 9.2.2).
 *
 * An id is handed out only when
 *  - no other entry of ours holds it;
 *  - the user database has neither a user nor a group with that number
 *    (NSS: whatever an administrator or LDAP put there wins);
 *  - no process has it as any of its real, effective, saved or
 *    file-system uid or gid (every thread of /proc);
 *  - and then, atomically against fork, any process whose real or saved
 *    uid it is gets SIGKILL: a child of ours, switched to the id, sends
 *    kill(-1, SIGKILL), which the kernel delivers under the task list
 *    lock that fork() takes too, so no process of that uid survives it,
 *    however it forks (the /proc scan could miss one that fork-hops
 *    across pid numbers while being read).
 * The same sweep runs when the id is released, so nothing a driver left
 * behind (its process group is killed already) keeps the id for the
 * next holder.
 *
 * An entry keeps its id across its driver's restarts (Restart=, a
 * backoff), so that a restarted driver is the same user as the one it
 * replaces; the id is released once no driver runs and no restart is
 * pending (dbk_dynuser_settle), and is then the last to be reused: ids
 * are taken round-robin from a random start, so the 65536 ids are all
 * used before one comes back.  What a driver could leave behind it in a
 * world-writable directory outside its sandbox's private /dev is why that
 * matters (docs/design.md).
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

static bool dbk_dynuser_in_range(unsigned long id)
{
	return id >= DBK_DYNAMIC_UID_MIN && id - DBK_DYNAMIC_UID_MIN < DBK_DYNAMIC_UID_COUNT;
}

/* Mark in @busy the range's ids in a "Uid:" or "Gid:" line of a status file. */
static void dbk_dynuser_mark_line(const char *line, uint8_t *busy)
{
	unsigned long id;
	const char *p = line + 4;
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		id = strtoul(p, &end, 10);
		if (end == p)
			return;
		if (dbk_dynuser_in_range(id))
			busy[(id - DBK_DYNAMIC_UID_MIN) / 8] |= 1u << ((id - DBK_DYNAMIC_UID_MIN) % 8);
		p = end;
	}
}

/* Every thread of @pid: threads may hold other credentials than their leader. */
static void dbk_dynuser_scan_pid(const char *pid, uint8_t *busy)
{
	char path[300], line[256];
	struct dirent *t;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	dir = opendir(path);
	if (!dir)
		return;		/* gone meanwhile: it holds nothing any more */
	while ((t = readdir(dir))) {
		if (t->d_name[0] < '0' || t->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/status", pid, t->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4))
				dbk_dynuser_mark_line(line, busy);
		fclose(f);
	}
	closedir(dir);
}

/* The range's ids some process has: 0 or a negative errno (then nothing is handed out). */
static int dbk_dynuser_scan(uint8_t *busy)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;

	if (!proc)
		return -errno;
	while ((e = readdir(proc)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			dbk_dynuser_scan_pid(e->d_name, busy);
	closedir(proc);
	return 0;
}

/*
 * SIGKILL to every process whose real or saved uid is @uid, from a child
 * switched to it (kill(2)'s permission rule; the child has no capability
 * left, so reaches no one else).  0, or a negative errno.
 */
static int dbk_dynuser_sweep(uid_t uid)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(126);
		/* ESRCH: there was no one. */
		_exit(kill(-1, SIGKILL) < 0 && errno != ESRCH ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

static bool dbk_dynuser_held(const struct dbk_daemon *dd, uid_t uid)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].dyn_held && dd->devs[i].dyn_uid == uid)
			return true;
	return false;
}

int dbk_dynuser_get(struct dbk_daemon *dd, struct dbk_entry *d, uid_t *uid)
{
	uint8_t *busy;
	uint32_t i, off;
	uid_t u;
	int ret;

	if (d->dyn_held) {
		*uid = d->dyn_uid;
		return 0;
	}
	if (!dd->dyn_seeded) {
		if (getrandom(&dd->dyn_next, sizeof(dd->dyn_next), GRND_NONBLOCK) < 0)
			dd->dyn_next = (uint32_t)getpid();
		dd->dyn_seeded = true;
	}
	busy = calloc(DBK_DYNAMIC_UID_COUNT / 8, 1);
	if (!busy)
		return -ENOMEM;
	ret = dbk_dynuser_scan(busy);
	if (ret)
		goto out;
	ret = -EUSERS;
	for (i = 0; i < DBK_DYNAMIC_UID_COUNT; i++) {
		off = (dd->dyn_next + i) % DBK_DYNAMIC_UID_COUNT;
		u = DBK_DYNAMIC_UID_MIN + off;
		if (busy[off / 8] & (1u << (off % 8)) || dbk_dynuser_held(dd, u))
			continue;
		errno = 0;
		if (getpwuid(u) || getgrgid(u))
			continue;
		if (errno && errno != ENOENT && errno != ESRCH) {
			/* The user database could not answer: no id is known to be free. */
			ret = -errno;
			break;
		}
		ret = dbk_dynuser_sweep(u);
		if (ret)
			break;
		dd->dyn_next = off + 1;
		d->dyn_uid = u;
		d->dyn_held = true;
		*uid = u;
		ret = 0;
		break;
	}
out:
	free(busy);
	if (ret)
		dbk_log("%s: no dynamic user for its driver: %s", d->info.id,
			ret == -EUSERS ? "all of the range is in use" : strerror(-ret));
	return ret;
}

void dbk_dynuser_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force)
{
	int ret;

	(void)dd;
	if (!d->dyn_held)
		return;
	/* Its driver's restart gets it again: files it made stay its own. */
	if (!force && (d->pid > 0 || d->state == DBK_ST_BACKOFF))
		return;
	/*
	 * kill(-1) reaches only who has it as real or saved uid: a process
	 * holding it as its effective or fs uid, or as a gid only, survives
	 * (review R9: through a set-user-ID file, which the sandbox now
	 * refuses), but keeps the id from being handed out again all the
	 * same: dbk_dynuser_get() skips every id a process has in any field.
	 */
	ret = dbk_dynuser_sweep(d->dyn_uid);
	if (ret) {
		/* Kept, never handed out again: a process of it may still live. */
		dbk_log("%s: releasing uid %u: %s: the id stays reserved", d->info.id,
			(unsigned int)d->dyn_uid, strerror(-ret));
		return;
	}
	d->dyn_held = false;
}
