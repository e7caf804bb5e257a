// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The state file: one "ID PID STARTTIME DRIVER USBMASK [FUSEMOUNT]" line
 * per running driver, so that a restarted devbrokerd can take back what
 * its previous instance handed out (devbrokerd(8)).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "daemon.h"

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

void dbk_state_save(struct dbk_daemon *dd)
{
	char tmp[DBK_PATH_MAX + 8];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.new", dd->state_path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid > 0)
			fprintf(f, "%s %d %llu %s 0x%x %s\n", dd->devs[i].info.id, (int)dd->devs[i].pid,
				dbk_pid_starttime(dd->devs[i].pid),
				/* a field, even when its manifest went (entry.c) */
				dd->devs[i].driver[0] ? dd->devs[i].driver : "-",
				dd->devs[i].info.usb_ifaces, dd->devs[i].fuse_mount);
	if (fclose(f) == 0)
		rename(tmp, dd->state_path);
}

/* Kill the previous instance's driver: only the very process it started, never a recycled pid. */
static void dbk_state_kill(const char *id, const char *drv, int pid, unsigned long long start)
{
	int i;

	if (pid <= 1 || !start || dbk_pid_starttime(pid) != start)
		return;
	dbk_log("%s: stopping driver %s (pid %d) of the previous devbrokerd", id, drv, pid);
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(10000);
}

/*
 * The previous instance's drivers: revoke their access (each bus's way,
 * on its side of the kill), terminate them, remove their FUSE mounts.
 */
void dbk_state_recover(struct dbk_daemon *dd)
{
	char line[DBK_PATH_MAX * 2], id[64], drv[DBK_NAME_MAX], mnt[DBK_PATH_MAX];
	const struct dbk_bus_ops *const *b, *bus;
	FILE *f = fopen(dd->state_path, "re");
	unsigned long long start;
	unsigned int mask;
	int pid, n;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		mnt[0] = '\0';
		mask = 0;
		n = sscanf(line, "%63s %d %llu %63s %x %255s", id, &pid, &start, drv, &mask, mnt);
		if (n < 4)
			continue;
		for (b = dbk_buses, bus = NULL; *b && !bus; b++)
			if ((*b)->owns_id(id))
				bus = *b;
		if (bus && !bus->revoke_after_kill)
			bus->recover(id, mask);
		dbk_state_kill(id, drv, pid, start);
		if (bus && bus->revoke_after_kill)
			bus->recover(id, mask);
		if (mnt[0] == '/' && umount2(mnt, MNT_DETACH) == 0)
			dbk_log("%s: removed the FUSE mount %s of the previous devbrokerd", id, mnt);
	}
	fclose(f);
	unlink(dd->state_path);
}
