/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd.c: the kernel's nbd client through its generic netlink family.
 * Every call needs CAP_SYS_ADMIN; socket fds are the caller's.
 */
#ifndef DBK_NBD_H
#define DBK_NBD_H

#include <stdint.h>

struct dbk_nbd_settings {
	uint64_t size;		/* bytes (CONNECT only) */
	uint64_t block_size;	/* logical block size: a power of two, 512..4096 (CONNECT only) */
	uint64_t server_flags;	/* NBD_FLAG_* the server announced (CONNECT only) */
	uint64_t timeout_s;	/* I/O timeout */
	uint64_t dead_conn_s;	/* how long I/O waits for a dead connection's replacement */
	/*
	 * NBD_ATTR_BACKEND_IDENTIFIER ("devbroker:DEVICE"), in
	 * /sys/block/nbdN/backend: a later devbrokerd finds its predecessor's
	 * disks by it.  Once set, RECONFIGURE must repeat it.
	 */
	const char *backend;
};

/* CONNECT @fds to an unused /dev/nbdN: 0 and *@index, or a negative errno. */
int dbk_nbd_connect(const int *fds, unsigned int n, const struct dbk_nbd_settings *c, int *index);
/*
 * RECONFIGURE /dev/nbd@index: @fds in place of its dead connections, and
 * @c's timeouts (its size, block size and flags are not sent: the caller
 * checks they are the device's).  0 or a negative errno.
 */
int dbk_nbd_reconfigure(int index, const int *fds, unsigned int n, const struct dbk_nbd_settings *c);
/* DISCONNECT /dev/nbd@index: its I/O fails, its sockets shut down.  0 or a negative errno. */
int dbk_nbd_disconnect(int index);
/*
 * The nbd family's multicast group (NBD_GENL_MCAST_GROUP_NAME): the
 * kernel announces NBD_CMD_LINK_DEAD with the device's index whenever it
 * marks one of a device's connections dead (a request timed out, a reply
 * it could not take, the server's end closed).  A non-blocking socket
 * subscribed to it: 0 and *@out, or a negative errno (-ENOENT: nbd is not
 * loaded).
 */
struct nl_sock;
int dbk_nbd_events_open(struct nl_sock **out);
int dbk_nbd_events_fd(struct nl_sock *sk);
/*
 * What arrived on @sk: @dead(index, @arg) for each LINK_DEAD.  0, or a
 * negative errno: the socket is then to be closed (and opened anew).
 */
int dbk_nbd_events_read(struct nl_sock *sk, void (*dead)(int index, void *arg), void *arg);
void dbk_nbd_events_close(struct nl_sock *sk);
/* 0 when the nbd family is there, -ENOENT when nbd is not loaded. */
int dbk_nbd_available(void);
/* Load nbd if /sys/module/nbd is missing (forks modprobe; for a child process). */
int dbk_nbd_modprobe(void);

#endif /* DBK_NBD_H */
