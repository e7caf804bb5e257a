/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control protocol between devbrokerd (broker/control.c) and its
 * clients (devbrokerctl, broker/ctl.c): the constants both sides use.
 * The messages themselves (JSON objects, one per SOCK_SEQPACKET message)
 * are specified in docs/control-protocol.md.
 */
#ifndef DBK_CONTROL_PROTOCOL_H
#define DBK_CONTROL_PROTOCOL_H

#include "config.h"

/* The socket (AF_UNIX, SOCK_SEQPACKET); DEVBROKER_SOCKET overrides it for clients. */
#define DBK_CONTROL_SOCKET	DBK_RUNDIR "/control"
#define DBK_CONTROL_SOCKET_ENV	"DEVBROKER_SOCKET"

/* The largest message, both ways. */
#define DBK_CONTROL_MSG_MAX	65536

#endif /* DBK_CONTROL_PROTOCOL_H */
