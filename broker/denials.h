/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy denials, PCI and USB alike (struct dbk_denial of
 * <devbroker/denial.h>), read from BPF ring buffers for `devbrokerctl
 * events`: the usb_requests policy's pinned dbk_usb_denials, and the
 * ring buffer of the daemon's own program on the module's
 * dbk_policy_denied tracepoint (dbk_denials_follow_pci()).
 *
 * Functions return 0 (or a count) on success and a negative errno.
 */
#ifndef DBK_DENIALS_H
#define DBK_DENIALS_H

#include <stddef.h>

#include <devbroker/denial.h>

struct dbk_denials;
typedef void (*dbk_denial_fn)(const struct dbk_denial *d, void *data);

/* A reader of no ring buffer yet; @fn gets each record from dbk_denials_drain(). */
int dbk_denials_new(dbk_denial_fn fn, void *data, struct dbk_denials **out);
/* Also read the ring buffer pinned at @pin (once: -EALREADY after). */
int dbk_denials_add_pin(struct dbk_denials *dn, const char *pin);
/* The same with the ring buffer's fd @map, which it takes (closed on an error too). */
int dbk_denials_add_usb_map(struct dbk_denials *dn, int map);
/*
 * Also read PCI denials: load and attach the daemon's program on the
 * module's dbk_policy_denied (once: -EALREADY after).  It holds the module
 * while attached, as the daemon's device fds do.  -ENOENT if the module is
 * not loaded.
 */
int dbk_denials_follow_pci(struct dbk_denials *dn);
/* An fd that polls readable when records wait (-1 until a ring buffer is added). */
int dbk_denials_fd(const struct dbk_denials *dn);
/* Hand every waiting record to the callback; how many, or a negative errno. */
int dbk_denials_drain(struct dbk_denials *dn);
void dbk_denials_free(struct dbk_denials *dn);

/* A PCI record's device, as lspci -D names it (0000:00:04.0). */
#define DBK_DENIAL_ID_MAX	32
void dbk_denial_pci_id(const struct dbk_denial *d, char id[DBK_DENIAL_ID_MAX]);

/*
 * One line: PCI "write denied on 0000:00:04.0 to pid 7 uid 1000 (cookie 42):
 * what 0x10 value 0x1, errno 1"; USB "usb_requests: pid 7: vendor request
 * 0x40/0x01 ... : type not allowed".
 */
int dbk_denial_format(const struct dbk_denial *d, char *buf, size_t n);

#endif /* DBK_DENIALS_H */
