// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's nbd client, driven through its generic netlink family
 * ("nbd", <linux/nbd-netlink.h>), with libnl-genl-3: CONNECT a set of
 * sockets to a free /dev/nbdN, RECONFIGURE swaps a restarted driver's new
 * sockets in for the dead ones, DISCONNECT ends it.  Each call opens its
 * own netlink socket: they are rare (a driver start or stop) and this
 * keeps no state between them.
 *
 * Semantics, from the 6.1 kernel's drivers/block/nbd.c:
 *  - every command needs CAP_SYS_ADMIN (netlink_capable), and the socket
 *    fds of NBD_ATTR_SOCKETS are looked up in the caller's fd table: the
 *    kernel takes its own reference, so the caller closes its fds after;
 *  - CONNECT without NBD_ATTR_INDEX picks (or adds) an unused device and
 *    answers with NBD_ATTR_INDEX before the ack; several sockets need
 *    NBD_FLAG_CAN_MULTI_CONN in NBD_ATTR_SERVER_FLAGS;
 *  - RECONFIGURE puts each new socket in place of a *dead* one (one whose
 *    receive failed: the driver died); a socket with no dead slot left is
 *    silently dropped (-ENOSPC turned into 0), and a size given that
 *    differs from the device's resizes it, so the caller checks both;
 *  - DISCONNECT fails every queued request and shuts the sockets down;
 *    the device stays, unused, for the next CONNECT.
 * The kernel handles each request in the sender's context: its answer is
 * queued by the time the send returns, so these calls do not wait on
 * anything but the kernel (a receive timeout guards against surprises).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nbd.h"

/* What the kernel answered to one command. */
struct dbk_nbd_answer {
	int err;		/* the ack's errno (negative), 0 */
	int index;		/* NBD_ATTR_INDEX of CONNECT's reply, -1 if none */
	bool done;		/* the ack, or an error, arrived */
};

static int dbk_nbd_on_valid(struct nl_msg *msg, void *arg)
{
	struct dbk_nbd_answer *a = arg;
	struct nlattr *tb[NBD_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NBD_ATTR_MAX, NULL) == 0 && tb[NBD_ATTR_INDEX])
		a->index = (int)nla_get_u32(tb[NBD_ATTR_INDEX]);
	return NL_OK;
}

static int dbk_nbd_on_ack(struct nl_msg *msg, void *arg)
{
	struct dbk_nbd_answer *a = arg;

	(void)msg;
	a->done = true;
	return NL_STOP;
}

static int dbk_nbd_on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct dbk_nbd_answer *a = arg;

	(void)who;
	a->err = e->error < 0 ? e->error : -EPROTO;
	a->done = true;
	return NL_STOP;
}

/* A generic netlink socket and the nbd family's id; -ENOENT: nbd is not loaded. */
static int dbk_nbd_open(struct nl_sock **out, int *family)
{
	struct timeval tv = { .tv_sec = 10 };
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return -ENOMEM;
	ret = genl_connect(sk);
	if (ret < 0) {
		ret = -ECONNREFUSED;
		goto err;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*family = genl_ctrl_resolve(sk, NBD_GENL_FAMILY_NAME);
	if (*family < 0) {
		ret = -ENOENT;
		goto err;
	}
	*out = sk;
	return 0;
err:
	nl_socket_free(sk);
	return ret;
}

/* NBD_ATTR_SOCKETS: [NBD_SOCK_ITEM [NBD_SOCK_FD]]... */
static int dbk_nbd_put_sockets(struct nl_msg *msg, const int *fds, unsigned int n)
{
	struct nlattr *socks, *item;
	unsigned int i;

	socks = nla_nest_start(msg, NBD_ATTR_SOCKETS);
	if (!socks)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		item = nla_nest_start(msg, NBD_SOCK_ITEM);
		if (!item || nla_put_u32(msg, NBD_SOCK_FD, (uint32_t)fds[i]) < 0)
			return -EMSGSIZE;
		nla_nest_end(msg, item);
	}
	nla_nest_end(msg, socks);
	return 0;
}

int dbk_nbd_events_open(struct nl_sock **out)
{
	struct nl_sock *sk;
	int family, grp, ret;

	ret = dbk_nbd_open(&sk, &family);
	if (ret)
		return ret;
	grp = genl_ctrl_resolve_grp(sk, NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
	if (grp < 0) {
		ret = -ENOENT;
		goto err;
	}
	/* Announcements, not answers: no sequence numbers to match. */
	nl_socket_disable_seq_check(sk);
	if (nl_socket_add_membership(sk, grp) < 0 || nl_socket_set_nonblocking(sk) < 0) {
		ret = -EIO;
		goto err;
	}
	*out = sk;
	return 0;
err:
	nl_socket_free(sk);
	return ret;
}

int dbk_nbd_events_fd(struct nl_sock *sk)
{
	return nl_socket_get_fd(sk);
}

struct dbk_nbd_event_cb {
	void (*dead)(int index, void *arg);
	void *arg;
};

static int dbk_nbd_on_event(struct nl_msg *msg, void *arg)
{
	const struct dbk_nbd_event_cb *e = arg;
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nlmsghdr *h = nlmsg_hdr(msg);

	if (genlmsg_parse(h, 0, tb, NBD_ATTR_MAX, NULL) == 0 &&
	    genlmsg_hdr(h)->cmd == NBD_CMD_LINK_DEAD && tb[NBD_ATTR_INDEX])
		e->dead((int)nla_get_u32(tb[NBD_ATTR_INDEX]), e->arg);
	return NL_OK;
}

int dbk_nbd_events_read(struct nl_sock *sk, void (*dead)(int index, void *arg), void *arg)
{
	struct dbk_nbd_event_cb e = { .dead = dead, .arg = arg };
	int ret;

	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, dbk_nbd_on_event, &e);
	/* One datagram a call (epoll calls again while more wait); -NLE_AGAIN: none. */
	ret = nl_recvmsgs_default(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	/* An overrun (ENOBUFS) is -NLE_NOMEM to libnl: announcements were lost. */
	return ret < 0 && ret != -NLE_AGAIN ? (ret == -NLE_NOMEM ? -ENOBUFS : -EIO) : 0;
}

void dbk_nbd_events_close(struct nl_sock *sk)
{
	nl_socket_free(sk);
}

/*
 * One command: @cmd with @index (< 0: none), the settings of @c (NULL:
 * none) and the sockets @fds.  Returns the kernel's answer (0 or a
 * negative errno); *@index_out gets CONNECT's index.
 */
static int dbk_nbd_command(uint8_t cmd, int index, const struct dbk_nbd_settings *c,
			   const int *fds, unsigned int n, int *index_out)
{
	struct dbk_nbd_answer a = { .index = -1 };
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	int family, ret;

	ret = dbk_nbd_open(&sk, &family);
	if (ret)
		return ret;
	ret = -ENOMEM;
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb)
		goto out;
	ret = -EMSGSIZE;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd, NBD_GENL_VERSION))
		goto out;
	if (index >= 0 && nla_put_u32(msg, NBD_ATTR_INDEX, (uint32_t)index) < 0)
		goto out;
	if (c && c->size && (nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, c->size) < 0 ||
			     nla_put_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, c->block_size) < 0 ||
			     nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, c->server_flags) < 0))
		goto out;
	if (c && (nla_put_u64(msg, NBD_ATTR_TIMEOUT, c->timeout_s) < 0 ||
		  nla_put_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, c->dead_conn_s) < 0 ||
		  /* 0: the device stays when the connection ends (no DESTROY_ON_DISCONNECT) */
		  nla_put_u64(msg, NBD_ATTR_CLIENT_FLAGS, 0) < 0))
		goto out;
	if (c && c->backend && nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, c->backend) < 0)
		goto out;
	if (n && dbk_nbd_put_sockets(msg, fds, n) < 0)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dbk_nbd_on_valid, &a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, dbk_nbd_on_ack, &a);
	nl_cb_err(cb, NL_CB_CUSTOM, dbk_nbd_on_error, &a);
	ret = nl_send_auto(sk, msg);	/* asks for an ack (libnl's default) */
	if (ret < 0) {
		ret = -EIO;
		goto out;
	}
	ret = 0;
	while (!a.done && ret >= 0)
		ret = nl_recvmsgs(sk, cb);
	if (!a.done)
		ret = ret == -NLE_AGAIN ? -ETIMEDOUT : -EIO;
	else
		ret = a.err;
	if (!ret && index_out)
		*index_out = a.index;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

int dbk_nbd_connect(const int *fds, unsigned int n, const struct dbk_nbd_settings *c, int *index)
{
	int ret, idx = -1;

	if (!n || !c || !c->size)
		return -EINVAL;
	ret = dbk_nbd_command(NBD_CMD_CONNECT, -1, c, fds, n, &idx);
	if (ret)
		return ret;
	if (idx < 0)	/* the kernel always names the device it connected */
		return -EPROTO;
	*index = idx;
	return 0;
}

int dbk_nbd_reconfigure(int index, const int *fds, unsigned int n, const struct dbk_nbd_settings *c)
{
	struct dbk_nbd_settings keep;

	if (index < 0 || !n || !c)
		return -EINVAL;
	/* No size: RECONFIGURE would resize the device; the caller checked it is the same. */
	keep = *c;
	keep.size = 0;
	return dbk_nbd_command(NBD_CMD_RECONFIGURE, index, &keep, fds, n, NULL);
}

int dbk_nbd_disconnect(int index)
{
	if (index < 0)
		return -EINVAL;
	return dbk_nbd_command(NBD_CMD_DISCONNECT, index, NULL, NULL, 0, NULL);
}

int dbk_nbd_available(void)
{
	struct nl_sock *sk;
	int family, ret = dbk_nbd_open(&sk, &family);

	if (!ret)
		nl_socket_free(sk);
	return ret;
}

/*
 * modprobe nbd, since nbd has no generic netlink alias the kernel could
 * load it by.  Under devbrokerd.service this cannot work (the unit drops
 * CAP_SYS_MODULE and filters the @module system calls): there
 * modules-load.d/devbroker-nbd.conf has loaded nbd at boot, and this only
 * serves a devbrokerd run by hand.  Called in a child (the handshake
 * helper), never in the daemon's loop.
 */
int dbk_nbd_modprobe(void)
{
	static char *const argv[] = { "modprobe", "-q", "nbd", NULL };
	static char *const envp[] = { "PATH=/usr/sbin:/sbin:/usr/bin:/bin", NULL };
	int status;
	pid_t pid;

	if (access("/sys/module/nbd", F_OK) == 0)
		return 0;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve("/sbin/modprobe", argv, envp);
		execve("/usr/sbin/modprobe", argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOENT;
}
