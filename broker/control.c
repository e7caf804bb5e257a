// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The control socket (docs/control-protocol.md): SOCK_SEQPACKET, one JSON
 * object per message, callers checked with SO_PEERCRED/SO_PEERGROUPS.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-protocol.h"
#include "daemon.h"

int dbk_control_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *gr = getgrnam("devbroker");
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -errno;
	}
	/* Root and group devbroker; SO_PEERCRED is checked as well. */
	if (chown(path, 0, gr ? gr->gr_gid : 0) < 0 || chmod(path, 0660) < 0)
		dbk_log("%s: %s", path, strerror(errno));
	return fd;
}

static bool dbk_peer_allowed(int fd)
{
	struct group *gr = getgrnam("devbroker");
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	unsigned int i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0)
		return true;
	if (!gr)
		return false;
	if (cred.gid == gr->gr_gid)
		return true;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gr->gr_gid)
			return true;
	return false;
}

static void dbk_send(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
		dbk_log("control: send: %s", strerror(errno));
}

static void dbk_close_client(struct dbk_daemon *dd, int fd)
{
	int i;

	dbk_epoll_del(dd, fd);
	for (i = 0; i < dd->nr_events; i++)
		if (dd->events[i] == fd)
			dd->events[i] = dd->events[--dd->nr_events];
	/* Its number may be another client's by the time its device is given back. */
	for (i = 0; i < dd->nr_unbind_waiters; i++)
		if (dd->unbind_waiters[i].fd == fd)
			dd->unbind_waiters[i--] = dd->unbind_waiters[--dd->nr_unbind_waiters];
	close(fd);
}

static struct json_object *dbk_error(const char *msg, int err)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "errno", json_object_new_int(err));
	return o;
}

void dbk_control_accept(struct dbk_daemon *dd, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (dbk_epoll_add(dd, fd, DBK_EP_CLIENT) < 0)
		close(fd);
}

/* A USB driver's rights: the control requests it may issue. */
static struct json_object *dbk_usb_rights_json(const struct dbk_rights *r)
{
	struct json_object *o = json_object_new_object(), *deny = json_object_new_array();
	char buf[32];
	unsigned int i;

	snprintf(buf, sizeof(buf), "%s%s%s", r->usb_types & DBK_USB_STANDARD ? "standard " : "",
		 r->usb_types & DBK_USB_CLASS ? "class " : "", r->usb_types & DBK_USB_VENDOR ? "vendor " : "");
	buf[strlen(buf) ? strlen(buf) - 1 : 0] = '\0';
	json_object_object_add(o, "usb_requests", json_object_new_string(buf[0] ? buf : "none"));
	for (i = 0; i < r->nr_usb_deny; i++) {
		dbk_usb_deny_text(&r->usb_deny[i], buf, sizeof(buf));
		json_object_array_add(deny, json_object_new_string(buf));
	}
	json_object_object_add(o, "usb_deny_requests", deny);
	return o;
}

static struct json_object *dbk_rights_json(const struct dbk_rights *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "bars", json_object_new_int(r->bars));
	json_object_object_add(o, "map_bars", json_object_new_int(r->map_bars));
	json_object_object_add(o, "mediated", json_object_new_int(r->nr_mediated));
	json_object_object_add(o, "irqs", json_object_new_int(r->irqs));
	json_object_object_add(o, "vectors", json_object_new_int(r->vectors));
	json_object_object_add(o, "irq_rate", json_object_new_int(r->irq_rate));
	json_object_object_add(o, "dma", json_object_new_int64(r->dma));
	json_object_object_add(o, "dma_bits", json_object_new_int(r->dma_bits));
	json_object_object_add(o, "unsafe_dma", json_object_new_boolean(r->unsafe_dma));
	json_object_object_add(o, "dma_guard", r->dma_guard[0] ? json_object_new_string(r->dma_guard) :
				NULL);
	json_object_object_add(o, "config_write", json_object_new_boolean(r->config_write));
	return o;
}

static struct json_object *dbk_entry_json(const struct dbk_entry *d, bool detail)
{
	struct json_object *o = json_object_new_object(), *cuts;
	char buf[24], nbd[24];
	char *line, *save, tmp[sizeof(d->cuts)];

	json_object_object_add(o, "id", json_object_new_string(d->info.id));
	json_object_object_add(o, "bus", json_object_new_string(dbk_bus_of(&d->info)->name));
	snprintf(buf, sizeof(buf), "%04x", d->info.vendor);
	json_object_object_add(o, "vendor", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%04x", d->info.device);
	json_object_object_add(o, "device", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%06x", d->info.class_code);
	json_object_object_add(o, "class", json_object_new_string(buf));
	json_object_object_add(o, "modalias", json_object_new_string(d->info.modalias));
	json_object_object_add(o, "driver", d->driver[0] ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(o, "state", json_object_new_string(dbk_state_name(d->state)));
	json_object_object_add(o, "pid", d->pid > 0 ? json_object_new_int(d->pid) : NULL);
	/* The driver's uid (and gid): its own with DynamicUser=yes. */
	json_object_object_add(o, "uid", d->pid > 0 ? json_object_new_int64(d->uid) : NULL);
	/* Sent SIGTERM by an orderly stop, and within its StopTimeoutSec=. */
	json_object_object_add(o, "stopping", json_object_new_boolean(d->pid > 0 && d->stop_grace));
	json_object_object_add(o, "restarts", json_object_new_int(d->backoff.restarts));
	json_object_object_add(o, "instance", json_object_new_int(d->instance));
	/* A block device outlives its driver's restarts: shown while connected. */
	snprintf(nbd, sizeof(nbd), "/dev/nbd%d", d->nbd_index);
	json_object_object_add(o, "frontend", d->pid > 0 && d->frontend[0] ?
			       json_object_new_string(d->frontend) :
			       d->pid > 0 && d->fuse_mount[0] ? json_object_new_string(d->fuse_mount) :
			       d->nbd_index >= 0 ? json_object_new_string(nbd) :
			       d->net_open ? json_object_new_string(d->net_name) : NULL);
	if (!detail)
		return o;
	if (d->net_open)
		json_object_object_add(o, "network", json_object_new_string(d->net_name));
	if (d->nbd_index >= 0) {
		char desc[DBK_PATH_MAX];

		snprintf(desc, sizeof(desc), "%s: /dev/devbroker/block/%s, %llu bytes, block size %u, %u queue%s",
			 nbd, d->block_name, (unsigned long long)d->nbd_size, d->nbd_block,
			 d->nbd_queues, d->nbd_queues > 1 ? "s" : "");
		json_object_object_add(o, "block", json_object_new_string(desc));
	}
	if (d->info.bus == DBK_BUS_USB) {
		snprintf(buf, sizeof(buf), "0x%x", d->info.usb_ifaces);
		json_object_object_add(o, "interfaces", json_object_new_string(buf));
		snprintf(buf, sizeof(buf), "/dev/bus/usb/%03u/%03u", d->info.busnum, d->info.devnum);
		json_object_object_add(o, "node", json_object_new_string(buf));
		json_object_object_add(o, "serial", json_object_new_string(d->info.serial));
	}
	json_object_object_add(o, "rights", d->info.bus == DBK_BUS_USB ? dbk_usb_rights_json(&d->rights) :
				       dbk_rights_json(&d->rights));
	snprintf(buf, sizeof(buf), "%016llx", d->driver[0] ?
		 (unsigned long long)dbk_policy_cookie(d->driver) : 0ULL);
	json_object_object_add(o, "policy_cookie", json_object_new_string(buf));
	cuts = json_object_new_array();
	snprintf(tmp, sizeof(tmp), "%s", d->cuts);
	for (line = strtok_r(tmp, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_object_array_add(cuts, json_object_new_string(line));
	json_object_object_add(o, "cuts", cuts);
	json_object_object_add(o, "last_exit", d->last_exit[0] ? json_object_new_string(d->last_exit) : NULL);
	return o;
}

static struct json_object *dbk_drivers_json(struct dbk_daemon *dd)
{
	struct json_object *arr = json_object_new_array();
	int i;
	unsigned int j;

	for (i = 0; i < dd->nr_manifests; i++) {
		const struct dbk_manifest *m = &dd->manifests[i];
		struct json_object *o = json_object_new_object(), *match = json_object_new_array(),
				   *exec = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(m->name));
		json_object_object_add(o, "path", json_object_new_string(m->path));
		json_object_object_add(o, "valid", json_object_new_boolean(m->valid));
		json_object_object_add(o, "error", m->valid ? NULL : json_object_new_string(m->error));
		for (j = 0; j < m->nr_match; j++)
			json_object_array_add(match, json_object_new_string(m->match[j]));
		for (j = 0; j < m->argc; j++)
			json_object_array_add(exec, json_object_new_string(m->argv[j]));
		json_object_object_add(o, "match", match);
		json_object_object_add(o, "exec", exec);
		json_object_array_add(arr, o);
	}
	return arr;
}

/*
 * `unbind` with "wait": true whose device is not back yet (its driver has
 * its StopTimeoutSec= to exit): the reply waits for dbk_control_unbound.
 * True if it was queued; false if the table is full, when the caller
 * answers at once ("unbound": false, as to a client that did not ask).
 */
static bool dbk_control_wait_unbound(struct dbk_daemon *dd, int fd, const struct dbk_entry *d)
{
	struct dbk_unbind_waiter *w;

	if (dd->nr_unbind_waiters == DBK_MAX_EVENT_CLIENTS) {
		dbk_log("control: %s: too many clients waiting for unbinds; this one is answered at once",
			d->info.id);
		return false;
	}
	w = &dd->unbind_waiters[dd->nr_unbind_waiters++];
	w->fd = fd;
	snprintf(w->id, sizeof(w->id), "%s", d->info.id);
	return true;
}

void dbk_control_unbound(struct dbk_daemon *dd, const struct dbk_entry *d, int err)
{
	struct json_object *rep;
	int i;

	for (i = 0; i < dd->nr_unbind_waiters; i++) {
		if (strcmp(dd->unbind_waiters[i].id, d->info.id))
			continue;
		if (err) {
			rep = dbk_error("the device went away before it was given back to the kernel", err);
		} else {
			rep = json_object_new_object();
			json_object_object_add(rep, "ok", json_object_new_boolean(1));
			json_object_object_add(rep, DBK_CONTROL_KEY_UNBOUND, json_object_new_boolean(1));
			json_object_object_add(rep, "device", dbk_entry_json(d, false));
		}
		dbk_send(dd->unbind_waiters[i].fd, rep);
		json_object_put(rep);
		dd->unbind_waiters[i--] = dd->unbind_waiters[--dd->nr_unbind_waiters];
	}
}

/*
 * One request: its reply, or NULL when the reply comes later (an unbind
 * that waits for its device, dbk_control_unbound).
 */
static struct json_object *dbk_handle(struct dbk_daemon *dd, int fd, struct json_object *req)
{
	struct json_object *cmdo, *devo, *o, *arr, *waito;
	const char *cmd, *id = NULL;
	struct dbk_entry *d = NULL;
	bool wait = false;
	int i, ret = 0;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &cmdo) || !json_object_is_type(cmdo, json_type_string))
		return dbk_error("bad request: send {\"cmd\": \"list\"} (docs/control-protocol.md)", EINVAL);
	cmd = json_object_get_string(cmdo);
	if (json_object_object_get_ex(req, "device", &devo) && json_object_is_type(devo, json_type_string))
		id = json_object_get_string(devo);
	/* Older clients do not send it: they get the reply at once, as they always did. */
	if (json_object_object_get_ex(req, DBK_CONTROL_KEY_WAIT, &waito) &&
	    json_object_is_type(waito, json_type_boolean))
		wait = json_object_get_boolean(waito);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	if (!strcmp(cmd, "list")) {
		arr = json_object_new_array();
		for (i = 0; i < dd->nr_devs; i++)
			if (dd->devs[i].state != DBK_ST_GONE)
				json_object_array_add(arr, dbk_entry_json(&dd->devs[i], false));
		json_object_object_add(o, "devices", arr);
		return o;
	}
	if (!strcmp(cmd, "drivers")) {
		json_object_object_add(o, "drivers", dbk_drivers_json(dd));
		return o;
	}
	if (!strcmp(cmd, "events")) {
		if (dd->nr_events == DBK_MAX_EVENT_CLIENTS) {
			json_object_put(o);
			return dbk_error("too many event subscribers", EBUSY);
		}
		dd->events[dd->nr_events++] = fd;
		return o;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "bind") && strcmp(cmd, "unbind") &&
	    strcmp(cmd, "revoke") && strcmp(cmd, "release")) {
		json_object_put(o);
		return dbk_error("unknown command: use list, drivers, status, bind, unbind, revoke, release or events",
				 EINVAL);
	}
	if (!id || !(d = dbk_entry_find(dd, id))) {
		json_object_put(o);
		return dbk_error("no such device: `devbrokerctl list` shows the known ones", ENODEV);
	}
	if (!strcmp(cmd, "status")) {
		json_object_object_add(o, "device", dbk_entry_json(d, true));
		return o;
	}
	if (!strcmp(cmd, "bind"))
		ret = dbk_entry_bind_cmd(dd, d);
	else if (!strcmp(cmd, "unbind"))
		ret = dbk_entry_unbind_cmd(dd, d);
	else if (!strcmp(cmd, "release"))
		ret = dbk_entry_release_cmd(dd, d);
	else
		ret = dbk_entry_revoke_cmd(dd, d);
	if (ret) {
		json_object_put(o);
		return dbk_error(ret == -EBUSY ? "wrong state for that: see `devbrokerctl status`" :
				 ret == -ENOENT ? "no driver matches this device: see `devbrokerctl drivers`" :
				 strerror(-ret), -ret);
	}
	if (!strcmp(cmd, "unbind")) {
		/* Still pending: its driver is within its StopTimeoutSec=. */
		if (d->unbind_after && wait && dbk_control_wait_unbound(dd, fd, d)) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, DBK_CONTROL_KEY_UNBOUND, json_object_new_boolean(!d->unbind_after));
	}
	json_object_object_add(o, "device", dbk_entry_json(d, false));
	return o;
}

void dbk_control_client(struct dbk_daemon *dd, int fd)
{
	char *buf = malloc(DBK_CONTROL_MSG_MAX + 1);
	struct json_object *req, *rep;
	ssize_t n;

	if (!buf)
		return;
	n = recv(fd, buf, DBK_CONTROL_MSG_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			dbk_close_client(dd, fd);
		free(buf);
		return;
	}
	if (!dbk_peer_allowed(fd)) {
		/* Answer the request, then hang up: a refusal the client can read. */
		rep = dbk_error("permission denied: the caller must be root or in group devbroker", EACCES);
		dbk_send(fd, rep);
		json_object_put(rep);
		free(buf);
		dbk_close_client(dd, fd);
		return;
	}
	if (n > DBK_CONTROL_MSG_MAX) {
		rep = dbk_error("request too large", E2BIG);
	} else {
		buf[n] = 0;
		req = json_tokener_parse(buf);
		rep = req ? dbk_handle(dd, fd, req) : dbk_error("request is not JSON", EINVAL);
		json_object_put(req);
	}
	if (rep) {
		dbk_send(fd, rep);
		json_object_put(rep);
	}
	free(buf);
}

void dbk_control_broadcast(struct dbk_daemon *dd, struct json_object *ev)
{
	int i;

	for (i = 0; i < dd->nr_events; i++)
		dbk_send(dd->events[i], ev);
}
