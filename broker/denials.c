// SPDX-License-Identifier: LGPL-2.1-or-later
/* Policy denials from BPF ring buffers: see denials.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "denials.skel.h"
#include "denials.h"
#include "usbpolicy.h"

/* Records handed over per drain: a driver refused in a loop must not hold the daemon. */
#define DBK_DENIALS_PER_DRAIN	256

struct dbk_denials {
	struct ring_buffer *rb;
	unsigned int budget;		/* records left in this drain */
	unsigned long dropped;		/* records of another layout, skipped */
	int usb_map;			/* the pinned USB ring buffer, or -1 */
	struct denials_bpf *pci;	/* our program on dbk_policy_denied, or NULL */
	dbk_denial_fn fn;
	void *data;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct dbk_denials *dn = ctx;
	struct dbk_denial d;

	/*
	 * Another layout (a program of an older devbroker, still loaded or
	 * pinned) is skipped, not misread.  The record counts either way.
	 */
	memcpy(&d, data, size < sizeof(d) ? size : sizeof(d));
	if (size != sizeof(d) || (d.bus != DBK_DENIAL_PCI && d.bus != DBK_DENIAL_USB) ||
	    (d.bus == DBK_DENIAL_PCI && d.u.pci.version != DBK_POLICY_VERSION))
		dn->dropped++;
	else
		dn->fn(&d, dn->data);
	/* Out of budget: libbpf stops here, the ring stays readable for the next round. */
	return --dn->budget ? 0 : -ECANCELED;
}

int dbk_denials_new(dbk_denial_fn fn, void *data, struct dbk_denials **out)
{
	struct dbk_denials *dn = calloc(1, sizeof(*dn));

	if (!dn)
		return -ENOMEM;
	dn->usb_map = -1;
	dn->fn = fn;
	dn->data = data;
	*out = dn;
	return 0;
}

static int dbk_denials_add_map(struct dbk_denials *dn, int map)
{
	if (!dn->rb) {
		dn->rb = ring_buffer__new(map, on_sample, dn, NULL);
		return dn->rb ? 0 : (errno ? -errno : -EINVAL);
	}
	return ring_buffer__add(dn->rb, map, on_sample, dn) ? (errno ? -errno : -EINVAL) : 0;
}

int dbk_denials_add_pin(struct dbk_denials *dn, const char *pin)
{
	int map;

	if (dn->usb_map >= 0)
		return -EALREADY;
	map = bpf_obj_get(pin);
	return map < 0 ? -errno : dbk_denials_add_usb_map(dn, map);
}

int dbk_denials_add_usb_map(struct dbk_denials *dn, int map)
{
	int ret;

	if (dn->usb_map >= 0) {
		close(map);
		return -EALREADY;
	}
	ret = dbk_denials_add_map(dn, map);
	if (ret) {
		close(map);
		return ret;
	}
	dn->usb_map = map;
	return 0;
}

int dbk_denials_follow_pci(struct dbk_denials *dn)
{
	struct denials_bpf *skel;
	int ret;

	char state[16] = "";
	FILE *f;

	if (dn->pci)
		return -EALREADY;
	f = fopen("/sys/module/devbroker/initstate", "re");
	if (!f)
		return -ENOENT;
	if (!fgets(state, sizeof(state), f))
		state[0] = 0;
	fclose(f);
	if (strncmp(state, "live", 4))
		return -ENOENT;		/* still loading, or going */
	skel = denials_bpf__open_and_load();
	ret = skel ? denials_bpf__attach(skel) : (errno ? -errno : -EINVAL);
	if (!ret)
		ret = dbk_denials_add_map(dn, bpf_map__fd(skel->maps.dbk_denials));
	if (ret) {
		denials_bpf__destroy(skel);
		/* The module is live: a missing tracepoint is a module without it. */
		return ret == -ENOENT ? -EOPNOTSUPP : ret < 0 ? ret : -EINVAL;
	}
	dn->pci = skel;
	return 0;
}

int dbk_denials_fd(const struct dbk_denials *dn)
{
	return dn->rb ? ring_buffer__epoll_fd(dn->rb) : -1;
}

int dbk_denials_drain(struct dbk_denials *dn)
{
	int n;

	if (!dn->rb)
		return 0;
	dn->budget = DBK_DENIALS_PER_DRAIN;
	n = ring_buffer__consume(dn->rb);
	if (n == -ECANCELED)
		return DBK_DENIALS_PER_DRAIN;
	return n < 0 ? (errno ? -errno : n) : n;
}

void dbk_denials_free(struct dbk_denials *dn)
{
	if (!dn)
		return;
	ring_buffer__free(dn->rb);
	denials_bpf__destroy(dn->pci);
	if (dn->usb_map >= 0)
		close(dn->usb_map);
	free(dn);
}

static const char *dbk_denied_op(uint32_t op)
{
	static const char *const names[] = {
		[DBK_DENIED_GRANT] = "grant", [DBK_DENIED_READ] = "read",
		[DBK_DENIED_WRITE] = "write", [DBK_DENIED_ACCESS] = "access",
		[DBK_DENIED_CONFIG] = "config", [DBK_DENIED_IRQ] = "irq",
		[DBK_DENIED_DMA] = "dma", [DBK_DENIED_MASTER] = "master",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "unknown";
}

void dbk_denial_pci_id(const struct dbk_denial *d, char id[DBK_DENIAL_ID_MAX])
{
	const struct dbk_policy_dev *p = &d->u.pci.dev;

	snprintf(id, DBK_DENIAL_ID_MAX, "%04x:%02x:%02x.%x", p->domain, p->bus, p->devfn >> 3,
		 p->devfn & 7);
}

int dbk_denial_format(const struct dbk_denial *d, char *buf, size_t n)
{
	const struct dbk_policy_denied_ctx *p = &d->u.pci;
	char id[DBK_DENIAL_ID_MAX];
	int m;

	if (d->bus == DBK_DENIAL_USB) {
		m = snprintf(buf, n, "usb_requests: ");
		return m >= 0 && (size_t)m < n ? dbk_usb_denial_format(d, buf + m, n - m) : -ENOSPC;
	}
	dbk_denial_pci_id(d, id);
	m = snprintf(buf, n, "%s denied on %s to pid %u uid %u (cookie %" PRIu64 "): what 0x%"
		     PRIx64 " value 0x%" PRIx64 ", errno %d", dbk_denied_op(p->op), id, d->pid,
		     d->uid, (uint64_t)d->cookie, (uint64_t)p->what, (uint64_t)p->value, p->error);
	return m >= 0 && (size_t)m < n ? 0 : -ENOSPC;
}
