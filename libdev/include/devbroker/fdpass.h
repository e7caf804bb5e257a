/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file fdpass.h
 * @brief Passing fds with a payload over AF_UNIX sockets (SCM_RIGHTS).
 *
 * The SDK's conventions: <devbroker/sdk.h>.
 */
#ifndef DEVBROKER_FDPASS_H
#define DEVBROKER_FDPASS_H

#include <stddef.h>
#include <sys/types.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/** @defgroup fdpass Passing fds over AF_UNIX sockets
 *
 * One message carries a small header (magic, version, fd count, payload
 * length), up to DBK_FDPASS_MAX_PAYLOAD payload bytes and up to
 * DBK_FDPASS_MAX_FDS fds as one SCM_RIGHTS control message.  Works on
 * SOCK_SEQPACKET, SOCK_DGRAM and SOCK_STREAM sockets (on a stream, the
 * receiver reads exactly one message).  Received fds are O_CLOEXEC.
 * @{ */

/** The most fds one message may carry. */
#define DBK_FDPASS_MAX_FDS	16
/** The most payload bytes one message may carry. */
#define DBK_FDPASS_MAX_PAYLOAD	4096

/**
 * Send a payload and fds in one message.
 *
 * @param sock a connected AF_UNIX socket
 * @param data the payload, or NULL if @p len is 0
 * @param len payload bytes, at most DBK_FDPASS_MAX_PAYLOAD
 * @param fds the fds to pass, or NULL if @p nfds is 0
 * @param nfds at most DBK_FDPASS_MAX_FDS
 * @return 0, -EINVAL (bad arguments, negative fd), -EMSGSIZE, or the
 *         negative errno of sendmsg() (e.g. -EPIPE, -EBADF)
 */
int dbk_send_fds(int sock, const void *data, size_t len,
		 const int *fds, size_t nfds);

/**
 * Receive one message sent with dbk_send_fds().
 *
 * Validation is strict: a truncated control message (MSG_CTRUNC), a
 * truncated payload (MSG_TRUNC), a bad header, a control message other
 * than SCM_RIGHTS/SCM_CREDENTIALS, or an fd count that differs from the
 * header's all fail, and then every fd that did arrive is closed.
 *
 * @param sock a connected AF_UNIX socket
 * @param data room for the payload (may be NULL if @p len is 0)
 * @param len size of @p data
 * @param[out] fds room for @p *nfds fds
 * @param[in,out] nfds in: room in @p fds; out: fds received
 * @return the payload length (>= 0), or -ENOTCONN (the peer closed the
 *         connection), -EMSGSIZE (payload larger than @p len, more fds than
 *         room, or control data truncated), -EBADMSG (malformed message),
 *         -EINVAL (bad arguments), or the negative errno of recvmsg()
 */
ssize_t dbk_recv_fds(int sock, void *data, size_t len, int *fds, size_t *nfds);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_FDPASS_H */
