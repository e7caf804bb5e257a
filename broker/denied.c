// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Policy denials as "denied" events of the device they were about
 * (denials.c reads the records): PCI records name their device, USB
 * records their driver's process.  At most DBK_DENIED_PER_SEC events per
 * device and second: a driver can loop on refusals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon.h"
#include "denials.h"
#include "policyload.h"

#define DBK_DENIED_PER_SEC	10

/* Once the denials' ring buffers exist, their one fd joins the epoll set. */
static void dbk_denied_watch(struct dbk_daemon *dd)
{
	int fd = dbk_denials_fd(dd->denials);

	if (fd < 0 || fd == dd->denials_watched)
		return;
	if (dbk_epoll_add(dd, fd, DBK_EP_DENIALS) == 0)
		dd->denials_watched = fd;
}

static struct dbk_entry *dbk_denied_entry(struct dbk_daemon *dd, const struct dbk_denial *dn)
{
	char id[DBK_DENIAL_ID_MAX];
	pid_t pgid;
	int i;

	/* PCI: the kernel named the device. */
	if (dn->bus == DBK_DENIAL_PCI) {
		dbk_denial_pci_id(dn, id);
		return dbk_entry_find(dd, id);
	}
	pgid = getpgid((pid_t)dn->pid);	/* a driver leads its process group */
	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid > 0 && (dd->devs[i].pid == (pid_t)dn->pid || dd->devs[i].pid == pgid))
			return &dd->devs[i];
	/* Gone already: the first device whose driver has that cookie. */
	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].driver[0] && dbk_policy_cookie(dd->devs[i].driver) == dn->cookie)
			return &dd->devs[i];
	return NULL;
}

/* A call a policy refused: a "denied" event of the device it was about. */
static void dbk_denied(const struct dbk_denial *dn, void *data)
{
	struct dbk_daemon *dd = data;
	struct dbk_entry *d = dbk_denied_entry(dd, dn);
	uint64_t now = dbk_now_ms();
	char what[320];

	/*
	 * EBUSY asks the driver to come back later (edu_dma_guard while a
	 * transfer may still run), which drivers do: flow control, not a
	 * refusal worth an event.
	 */
	if (dn->bus == DBK_DENIAL_PCI && abs(dn->u.pci.error) == EBUSY)
		return;
	if (d && now - d->denied_window >= 1000) {
		if (d->denied_hidden)
			dbk_event(dd, "denied", d, "%u more refusals not shown (at most %d a second)",
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
	dbk_event(dd, "denied", d, "%s", what);
}

int dbk_denied_open(struct dbk_daemon *dd)
{
	dd->denials_watched = -1;
	return dbk_denials_new(dbk_denied, dd, &dd->denials);
}

void dbk_denied_follow_pci(struct dbk_daemon *dd)
{
	int ret;

	if (!dd->denials || dd->denials_pci_failed)
		return;
	ret = dbk_denials_follow_pci(dd->denials);
	if (ret == -ENOENT || ret == -EALREADY)
		return;
	if (ret) {
		dd->denials_pci_failed = true;	/* not the module's absence: say it once */
		dbk_log("PCI policy denials will not be reported: %s", strerror(-ret));
		return;
	}
	dbk_denied_watch(dd);
	dbk_log("following PCI policy denials");
}

void dbk_denied_follow_usb(struct dbk_daemon *dd)
{
	int ret;

	if (!dd->denials)
		return;
	/* From directories only root can change, as the policy's other pins. */
	ret = dbk_policy_map_open(DBK_USB_POLICY_NAME, DBK_USB_DENIALS_MAP);
	if (ret >= 0)
		ret = dbk_denials_add_usb_map(dd->denials, ret);
	if (ret == -EALREADY)
		return;
	if (ret) {
		dbk_log("USB request denials will not be reported: %s", strerror(-ret));
		return;
	}
	dbk_denied_watch(dd);
}
