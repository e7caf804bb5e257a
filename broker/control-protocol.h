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

/*
 * `unbind` with "wait": true answers once the device is back with the
 * kernel: when the driver exits, at the latest when its StopTimeoutSec=
 * ends (devbrokerd then revokes, kills and gives the device back without
 * waiting for the exit).  StopTimeoutSec= is at most this (the manifest
 * parser's bound), so a client that waited this long plus a margin for
 * the daemon's own loop faces a stuck daemon, not a slow driver.
 */
#define DBK_STOP_TIMEOUT_MAX_SEC	60
/* The request's key, and the reply's: true once the device was given back. */
#define DBK_CONTROL_KEY_WAIT		"wait"
#define DBK_CONTROL_KEY_UNBOUND		"unbound"

#endif /* DBK_CONTROL_PROTOCOL_H */
