// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * devbrokerctl: the command-line client of devbrokerd.
 *
 * One request, one reply over the control socket (AF_UNIX, SOCK_SEQPACKET,
 * one JSON object per message: docs/control-protocol.md), except `events`,
 * which streams until SIGINT/SIGTERM or until the daemon closes.
 *
 * Exit status (devbrokerctl(8)): 0 success, 1 the daemon refused or failed,
 * 2 usage error, 3 cannot reach the daemon, 4 no such device, 5 permission
 * denied.
 *
 * No dependency beyond libc and json-c.  Every JSON we print goes through
 * json-c; every string from the daemon printed for humans is stripped of
 * control characters first.
 */
#include "config.h"
#include "control-protocol.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define EXIT_DAEMON		1
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3
#define EXIT_NODEV		4
#define EXIT_PERM		5

#define DEFAULT_SOCKET		DBK_CONTROL_SOCKET
#define MSG_MAX			DBK_CONTROL_MSG_MAX
#define REPLY_TIMEOUT_MS	90000		/* one-shot commands */
/*
 * unbind's default wait: devbrokerd answers by the driver's StopTimeoutSec=
 * (at most DBK_STOP_TIMEOUT_MAX_SEC); the margin is for its loop.
 */
#define UNBIND_TIMEOUT_MS	((DBK_STOP_TIMEOUT_MAX_SEC + 30) * 1000)
#define DEVICE_ID_MAX		31		/* struct dbk_devinfo.id[32] */

static const char *prog = "devbrokerctl";
static bool opt_json;
static bool opt_no_block;		/* unbind: answer at once, do not wait for the device */
static int opt_timeout = -1;		/* unbind: seconds to wait, -1: UNBIND_TIMEOUT_MS */
static bool waiting_unbind;		/* this run's request is an unbind that waits */
static const char *socket_path;
static volatile sig_atomic_t got_signal;

/* ---------------------------------------------------------------- output */

static void __attribute__((format(printf, 1, 2))) err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		err("out of memory");
		exit(EXIT_DAEMON);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static char * __attribute__((format(printf, 1, 2))) xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		err("out of memory");
		exit(EXIT_DAEMON);
	}
	return s;
}

/* A copy of @s safe for a terminal: control characters become '?'. */
static char *sanitize(const char *s)
{
	char *c = xstrdup(s), *p;

	for (p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}

static void help(void)
{
	printf("Usage: %s [OPTIONS] COMMAND [DEVICE]\n"
	       "\n"
	       "Query and control devbrokerd, the broker of userspace device drivers.\n"
	       "\n"
	       "Commands:\n"
	       "  list             List the devices devbrokerd knows, with their drivers' state\n"
	       "  drivers          List the driver manifests, valid or not\n"
	       "  status DEVICE    Show one device in detail\n"
	       "  bind DEVICE      Bind DEVICE to devbroker and start its driver\n"
	       "  unbind DEVICE    Stop the driver (SIGTERM, StopTimeoutSec=) and give DEVICE back to\n"
	       "                   the kernel; waits until it is back, unless --no-block\n"
	       "  revoke DEVICE    Revoke the driver's grant now; no restart until 'bind'\n"
	       "  release DEVICE   Take DEVICE out of quarantine and start its driver again\n"
	       "  events           Print events as they happen, until interrupted\n"
	       "\n"
	       "Options:\n"
	       "  -j, --json         Print devbrokerd's replies as JSON (events: one a line)\n"
	       "      --no-block     unbind: do not wait until the device is back with the kernel\n"
	       "      --timeout SEC  unbind: wait at most SEC seconds (default %d)\n"
	       "  -s, --socket PATH  Control socket (default: $DEVBROKER_SOCKET, else\n"
	       "                     %s)\n"
	       "  -h, --help         Show this help and exit\n"
	       "  -V, --version      Show the version and exit\n"
	       "\n"
	       "DEVICE is a PCI address, DDDD:BB:DD.F (0000:00:04.0; BB:DD.F means domain\n"
	       "0000), or a USB device or interface as sysfs names it (1-2, 1-2.3:1.0),\n"
	       "optionally written usb:1-2:1.0.\n"
	       "\n"
	       "Exit status: 0 success, 1 devbrokerd refused or failed, 2 usage error,\n"
	       "3 devbrokerd unreachable, 4 no such device, 5 permission denied.\n"
	       "See devbrokerctl(8).\n", prog, UNBIND_TIMEOUT_MS / 1000, DEFAULT_SOCKET);
}

/* ---------------------------------------------------------------- devices */

static bool is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Validate a device name and write its canonical form (lower-case PCI
 * address with a domain) to @out.  PCI: [DDDD:]BB:DD.F, the domain 4 to 8
 * hex digits (VMD domains have 5), device 00-1f, function 0-7.
 * USB: [usb:]NAME, NAME as the kernel's sysfs names USB devices and
 * interfaces (1-2, 1-2.3, 1-2:1.0), canonically without "usb:".
 */
static bool parse_device(const char *arg, char *out, size_t outlen)
{
	const char *p = arg, *colon;
	size_t dlen, i;
	unsigned int dev, fn;

	if (strncmp(arg, "usb:", 4) == 0 || strchr(arg, '-')) {
		/* BUS-PORT[.PORT]...[:CONFIG.INTERFACE], all decimal. */
		p = strncmp(arg, "usb:", 4) == 0 ? arg + 4 : arg;
		if (strlen(p) > DEVICE_ID_MAX || !isdigit((unsigned char)p[0]))
			return false;
		p += strspn(p, "0123456789");
		if (*p++ != '-' || !isdigit((unsigned char)*p))
			return false;
		p += strspn(p, "0123456789");
		while (*p == '.' && isdigit((unsigned char)p[1]))
			p += 1 + strspn(p + 1, "0123456789");
		if (*p == ':') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			p += strspn(p, "0123456789");
			if (*p++ != '.' || !isdigit((unsigned char)*p))
				return false;
			p += strspn(p, "0123456789");
		}
		if (*p)
			return false;
		snprintf(out, outlen, "%s", strncmp(arg, "usb:", 4) == 0 ? arg + 4 : arg);
		return true;
	}

	/* Optional domain: present when there are two colons. */
	colon = strchr(p, ':');
	if (!colon)
		return false;
	if (strchr(colon + 1, ':')) {
		dlen = (size_t)(colon - p);
		if (dlen < 4 || dlen > 8 || !is_hex(p, dlen))
			return false;
		p = colon + 1;
	} else {
		dlen = 0;
	}
	/* BB:DD.F */
	if (strlen(p) != 7 || p[2] != ':' || p[5] != '.' || !is_hex(p, 2) ||
	    !is_hex(p + 3, 2) || !is_hex(p + 6, 1))
		return false;
	dev = (unsigned int)strtoul((char[]){ p[3], p[4], 0 }, NULL, 16);
	fn = (unsigned int)(p[6] - '0');
	if (dev > 0x1f || p[6] < '0' || fn > 7)
		return false;

	if (dlen)
		snprintf(out, outlen, "%.*s:%s", (int)dlen, arg, p);
	else
		snprintf(out, outlen, "0000:%s", p);
	for (i = 0; out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return true;
}

/* ---------------------------------------------------------------- socket */

static void hint_unreachable(void)
{
	fprintf(stderr, "%s: is devbrokerd running? (systemctl status devbrokerd)\n", prog);
}

static void hint_perm(void)
{
	fprintf(stderr, "%s: devbrokerd only serves root and members of group devbroker: "
		"run as root (sudo %s ...) or add your user to group devbroker\n", prog, prog);
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	memcpy(sa.sun_path, path, strlen(path));	/* length checked in main() */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err("cannot create a socket: %s", strerror(errno));
		exit(EXIT_UNREACHABLE);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;

	e = errno;
	close(fd);
	switch (e) {
	case EACCES:
	case EPERM:
		err("cannot connect to devbrokerd at %s: %s", path, strerror(e));
		hint_perm();
		exit(EXIT_PERM);
	case EPROTOTYPE:
		err("cannot connect to devbrokerd at %s: it is not a SOCK_SEQPACKET socket, "
		    "so not devbrokerd's control socket (check --socket and $DEVBROKER_SOCKET)",
		    path);
		exit(EXIT_UNREACHABLE);
	default:
		err("cannot connect to devbrokerd at %s: %s", path, strerror(e));
		hint_unreachable();
		exit(EXIT_UNREACHABLE);
	}
}

/*
 * Receive one message into @buf (MSG_MAX bytes).  Returns its length, 0 when
 * the daemon closed, -ETIMEDOUT, -EINTR when one of the signals unblocked by
 * @sigmask arrived, -EMSGSIZE when it was longer than MSG_MAX (*@full: its
 * real length), or another -errno.
 */
static ssize_t recv_msg(int fd, char *buf, int timeout_ms, const sigset_t *sigmask,
			size_t *full)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	struct iovec iov = { .iov_base = buf, .iov_len = MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int r;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	for (;;) {
		r = ppoll(&pfd, 1, tsp, sigmask);
		if (r < 0 && errno == EINTR && (!sigmask || !got_signal))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		/* MSG_TRUNC in flags: AF_UNIX returns the real length. */
		n = recvmsg(fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		/*
		 * A peer that closed with our request unread leaves
		 * ECONNRESET pending before its last message (a refusal,
		 * typically): the error is reported once, then the message.
		 */
		if (n < 0 && errno == ECONNRESET) {
			n = recvmsg(fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
			if (n < 0)
				return -ECONNRESET;
		}
		if (n < 0)
			return -errno;
		if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > MSG_MAX) {
			*full = (size_t)n;
			return -EMSGSIZE;
		}
		return n;
	}
}

/* Parse one message: exactly one JSON object (trailing whitespace or NULs allowed). */
static json_object *parse_msg(const char *buf, size_t len, const char **why)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t end;

	if (!tok) {
		*why = "out of memory";
		return NULL;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		*why = e == json_tokener_continue ? "incomplete JSON" : json_tokener_error_desc(e);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		if (buf[end] && !isspace((unsigned char)buf[end])) {
			*why = "data after the JSON object";
			json_object_put(o);
			return NULL;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		*why = "not a JSON object";
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------- values */

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

/* A JSON value for humans: "-" for null or missing, arrays comma-joined. */
static char *fmt_value(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return xstrdup("-");
	case json_type_string:
		return sanitize(json_object_get_string(v));
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	case json_type_int:
		return xasprintf("%" PRId64, json_object_get_int64(v));
	case json_type_array: {
		size_t i, n = json_object_array_length(v);
		char *s = xstrdup(n ? "" : "-");

		for (i = 0; i < n; i++) {
			char *e = fmt_value(json_object_array_get_idx(v, i));
			char *t = xasprintf("%s%s%s", s, i ? "," : "", e);

			free(s);
			free(e);
			s = t;
		}
		return s;
	}
	default:	/* double, object: compact JSON */
		return sanitize(json_object_to_json_string_ext(v,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

static char *fmt_key(json_object *o, const char *key)
{
	return fmt_value(get(o, key));
}

/* ---------------------------------------------------------------- tables */

struct table {
	unsigned int ncols;
	size_t nrows;
	char **cells;		/* nrows * ncols, row 0 the header */
};

static void table_add(struct table *t, char **row)
{
	t->cells = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
	if (!t->cells) {
		err("out of memory");
		exit(EXIT_DAEMON);
	}
	memcpy(t->cells + t->nrows * t->ncols, row, t->ncols * sizeof(*row));
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[16] = { 0 }, r;
	unsigned int c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				printf("%-*s  ", (int)w[c], s);
			else
				printf("%s\n", s);
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

static json_object *get_array(json_object *reply, const char *key)
{
	json_object *a = get(reply, key);

	if (!a || !json_object_is_type(a, json_type_array)) {
		err("devbrokerd's reply has no \"%s\" array; is devbrokerctl older or newer "
		    "than devbrokerd? (devbrokerctl --version)", key);
		return NULL;
	}
	return a;
}

/* ---------------------------------------------------------------- commands */

static int show_list(json_object *reply)
{
	static const char *const hdr[] = { "DEVICE", "BUS", "VENDOR:DEVICE", "DRIVER",
					   "STATE", "PID", "RESTARTS", "FRONTEND" };
	struct table t = { .ncols = 8 };
	json_object *devs = get_array(reply, "devices");
	char *row[8];
	size_t i, n;
	unsigned int c;

	if (!devs)
		return EXIT_DAEMON;
	n = json_object_array_length(devs);
	if (n == 0) {
		printf("No devices.\n");
		return 0;
	}
	for (c = 0; c < t.ncols; c++)
		row[c] = xstrdup(hdr[c]);
	table_add(&t, row);
	for (i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(devs, i);
		char *v = fmt_key(d, "vendor"), *dv = fmt_key(d, "device");

		row[0] = fmt_key(d, "id");
		row[1] = fmt_key(d, "bus");
		row[2] = xasprintf("%s:%s", v, dv);
		row[3] = fmt_key(d, "driver");
		row[4] = fmt_key(d, "state");
		row[5] = fmt_key(d, "pid");
		row[6] = fmt_key(d, "restarts");
		row[7] = fmt_key(d, "frontend");
		free(v);
		free(dv);
		table_add(&t, row);
	}
	table_print(&t);
	return 0;
}

static int show_drivers(json_object *reply)
{
	static const char *const hdr[] = { "DRIVER", "VALID", "MATCH", "PATH" };
	struct table t = { .ncols = 4 };
	json_object *drvs = get_array(reply, "drivers");
	char *row[4];
	size_t i, n, bad = 0;
	unsigned int c;

	if (!drvs)
		return EXIT_DAEMON;
	n = json_object_array_length(drvs);
	if (n == 0) {
		printf("No driver manifests.\n");
		return 0;
	}
	for (c = 0; c < t.ncols; c++)
		row[c] = xstrdup(hdr[c]);
	table_add(&t, row);
	for (i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(drvs, i);

		row[0] = fmt_key(d, "name");
		row[1] = fmt_key(d, "valid");
		row[2] = fmt_key(d, "match");
		row[3] = fmt_key(d, "path");
		table_add(&t, row);
		if (!json_object_get_boolean(get(d, "valid")))
			bad++;
	}
	table_print(&t);
	if (!bad)
		return 0;
	printf("\nInvalid manifests (fix them, then: systemctl reload devbrokerd):\n");
	for (i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(drvs, i);
		char *name, *why;

		if (json_object_get_boolean(get(d, "valid")))
			continue;
		name = fmt_key(d, "name");
		why = fmt_key(d, "error");
		printf("  %s: %s\n", name, why);
		free(name);
		free(why);
	}
	return 0;
}

#define LABEL_W 13

static void kv(const char *label, const char *value)
{
	printf("%*s: %s\n", LABEL_W, label, value);
}

static void kv_key(json_object *o, const char *label, const char *key)
{
	char *s = fmt_key(o, key);

	kv(label, s);
	free(s);
}

/* An object or array, one member a line, aligned under the first. */
static void kv_multi(const char *label, json_object *v)
{
	bool first = true;
	char *s;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			char *k = sanitize(key);

			s = fmt_value(val);
			printf("%*s%c %s: %s\n", LABEL_W, first ? label : "", first ? ':' : ' ',
			       k, s);
			free(k);
			free(s);
			first = false;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t i, n = json_object_array_length(v);

		for (i = 0; i < n; i++) {
			s = fmt_value(json_object_array_get_idx(v, i));
			printf("%*s%c %s\n", LABEL_W, first ? label : "", first ? ':' : ' ', s);
			free(s);
			first = false;
		}
	} else {
		s = fmt_value(v);
		kv(label, s);
		free(s);
		return;
	}
	if (first)
		kv(label, "none");
}

/* A bit set as the numbers of its bits ("0 2"), or "none". */
static char *fmt_bits(uint64_t v, const char *const *names)
{
	char *s = xstrdup(""), *t;
	unsigned int i;

	for (i = 0; i < 64; i++) {
		if (!(v & (1ull << i)))
			continue;
		if (names && names[i])
			t = xasprintf("%s%s%s", s, *s ? " " : "", names[i]);
		else
			t = xasprintf("%s%s%u", s, *s ? " " : "", i);
		free(s);
		s = t;
	}
	if (!*s) {
		free(s);
		s = xstrdup("none");
	}
	return s;
}

static char *fmt_bytes(uint64_t v)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;

	if (v == 0)
		return xstrdup("none");
	while (u < 3 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	return u < 0 ? xasprintf("%" PRIu64 " bytes", v) : xasprintf("%" PRIu64 " %s", v, unit[u]);
}

/*
 * The grant's rights: the bit sets and sizes devbrokerd sends as numbers
 * (bars, map_bars, irqs, dma) written out; anything else as it comes.
 */
static void show_rights(json_object *r)
{
	static const char *const irq_names[64] = { "intx", "msi", "msix" };
	bool first = true;

	if (!r || !json_object_is_type(r, json_type_object)) {
		kv_multi("Rights", r);
		return;
	}
	json_object_object_foreach(r, key, val) {
		char *k = sanitize(key), *s;

		if (json_object_is_type(val, json_type_int) && (!strcmp(key, "bars") ||
								 !strcmp(key, "map_bars")))
			s = fmt_bits((uint64_t)json_object_get_int64(val), NULL);
		else if (json_object_is_type(val, json_type_int) && !strcmp(key, "irqs"))
			s = fmt_bits((uint64_t)json_object_get_int64(val), irq_names);
		else if (json_object_is_type(val, json_type_int) && !strcmp(key, "dma"))
			s = fmt_bytes((uint64_t)json_object_get_int64(val));
		else
			s = fmt_value(val);
		printf("%*s%c %s: %s\n", LABEL_W, first ? "Rights" : "", first ? ':' : ' ', k, s);
		free(k);
		free(s);
		first = false;
	}
	if (first)
		kv("Rights", "none");
}

static int show_status(json_object *reply)
{
	static const char *const known[] = { "id", "bus", "vendor", "device", "class",
		"modalias", "driver", "state", "pid", "restarts", "instance", "frontend",
		"block", "network", "last_exit", "rights", "cuts", NULL };
	json_object *d = get(reply, "device"), *m;
	char *v, *dv;

	if (!d || !json_object_is_type(d, json_type_object)) {
		err("devbrokerd's reply has no \"device\" object; is devbrokerctl older or newer "
		    "than devbrokerd? (devbrokerctl --version)");
		return EXIT_DAEMON;
	}
	kv_key(d, "Device", "id");
	kv_key(d, "Bus", "bus");
	v = fmt_key(d, "vendor");
	dv = fmt_key(d, "device");
	printf("%*s: %s:%s\n", LABEL_W, "Vendor:Device", v, dv);
	free(v);
	free(dv);
	kv_key(d, "Class", "class");
	kv_key(d, "Modalias", "modalias");
	kv_key(d, "Driver", "driver");
	kv_key(d, "State", "state");
	kv_key(d, "PID", "pid");
	kv_key(d, "Restarts", "restarts");
	m = get(d, "instance");
	if (m && json_object_is_type(m, json_type_int) && json_object_get_int64(m) < 0)
		kv("Instance", "-");
	else
		kv_key(d, "Instance", "instance");
	kv_key(d, "Frontend", "frontend");
	if (get(d, "block"))
		kv_key(d, "Block", "block");
	if (get(d, "network"))
		kv_key(d, "Network", "network");
	kv_key(d, "Last exit", "last_exit");
	show_rights(get(d, "rights"));
	kv_multi("Cuts", get(d, "cuts"));

	/* Whatever a newer daemon adds. */
	json_object_object_foreach(d, key, val) {
		const char *const *k;
		char *label;

		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (*k)
			continue;
		label = sanitize(key);
		kv_multi(label, val);
		free(label);
	}
	return 0;
}

/*
 * bind, unbind, revoke, release: the device's new state when the daemon
 * sends it ("0000:00:04.0: running (edu, pid 4242)"), else silence.
 */
static int show_action(json_object *reply)
{
	json_object *d = get(reply, "device"), *m = get(reply, "message");
	json_object *drv, *pid;
	char *s, *t;

	if (m && json_object_is_type(m, json_type_string)) {
		s = sanitize(json_object_get_string(m));
		printf("%s\n", s);
		free(s);
	}
	if (!d || !json_object_is_type(d, json_type_object))
		return 0;
	s = fmt_key(d, "id");
	t = fmt_key(d, "state");
	printf("%s: %s", s, t);
	free(s);
	free(t);
	drv = get(d, "driver");
	pid = get(d, "pid");
	if (drv && json_object_is_type(drv, json_type_string)) {
		s = sanitize(json_object_get_string(drv));
		printf(" (%s", s);
		free(s);
		if (pid && json_object_is_type(pid, json_type_int))
			printf(", pid %" PRId64, json_object_get_int64(pid));
		printf(")");
	}
	printf("\n");
	return 0;
}

static void print_event(json_object *ev)
{
	json_object *t = get(ev, "time"), *drv = get(ev, "driver"), *pid = get(ev, "pid");
	char stamp[64], *name, *dev, *who, *detail;
	struct timespec now;
	struct tm tm;
	double secs;
	time_t tt;
	long ms;

	if (t && (json_object_is_type(t, json_type_double) ||
		  json_object_is_type(t, json_type_int))) {
		secs = json_object_get_double(t);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		secs = (double)now.tv_sec + now.tv_nsec / 1e9;
	}
	tt = (time_t)secs;
	ms = (long)((secs - (double)tt) * 1000.0);
	if (ms < 0 || ms > 999)
		ms = 0;
	localtime_r(&tt, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);

	name = fmt_key(ev, "event");
	dev = fmt_key(ev, "device");
	detail = get(ev, "detail") ? fmt_key(ev, "detail") : xstrdup("");
	if (drv && json_object_is_type(drv, json_type_string) && pid &&
	    json_object_is_type(pid, json_type_int)) {
		char *d = sanitize(json_object_get_string(drv));

		who = xasprintf("%s[%" PRId64 "]", d, json_object_get_int64(pid));
		free(d);
	} else if (drv && json_object_is_type(drv, json_type_string)) {
		who = sanitize(json_object_get_string(drv));
	} else if (pid && json_object_is_type(pid, json_type_int)) {
		who = xasprintf("[%" PRId64 "]", json_object_get_int64(pid));
	} else {
		who = xstrdup("-");
	}
	printf("%s.%03ld %-12s %-11s %s%s%s\n", stamp, ms, dev, name, who,
	       *detail && strcmp(detail, "-") ? ": " : "",
	       *detail && strcmp(detail, "-") ? detail : "");
	free(name);
	free(dev);
	free(who);
	free(detail);
}

struct command {
	const char *name;
	bool device;
	int (*show)(json_object *reply);
};

static const struct command commands[] = {
	{ "list", false, show_list },
	{ "drivers", false, show_drivers },
	{ "status", true, show_status },
	{ "bind", true, show_action },
	{ "unbind", true, show_action },
	{ "revoke", true, show_action },
	{ "release", true, show_action },
	{ "events", false, NULL },
};

/* ---------------------------------------------------------------- replies */

static void print_json(json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);

	fputs(json_object_to_json_string_ext(o, flags), stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/*
 * Check a reply's "ok"; on failure, print the daemon's error and return the
 * exit status for its errno.
 */
static int reply_status(json_object *reply)
{
	json_object *ok = get(reply, "ok"), *e;
	char *text;
	int en = 0;

	if (!ok || !json_object_is_type(ok, json_type_boolean)) {
		err("devbrokerd's reply has no \"ok\" member; is devbrokerctl older or newer "
		    "than devbrokerd? (devbrokerctl --version)");
		return EXIT_DAEMON;
	}
	if (json_object_get_boolean(ok))
		return 0;

	e = get(reply, "errno");
	if (e && json_object_is_type(e, json_type_int))
		en = json_object_get_int(e);
	e = get(reply, "error");
	text = e && json_object_is_type(e, json_type_string) ?
		sanitize(json_object_get_string(e)) :
		xstrdup("devbrokerd refused the request without saying why "
			"(see: journalctl -u devbrokerd)");
	err("%s", text);

	switch (en) {
	case ENODEV:
		if (!strstr(text, "devbrokerctl list"))
			fprintf(stderr, "%s: '%s list' shows the devices devbrokerd knows\n",
				prog, prog);
		free(text);
		return EXIT_NODEV;
	case EACCES:
	case EPERM:
		free(text);
		hint_perm();
		return EXIT_PERM;
	default:
		free(text);
		return EXIT_DAEMON;
	}
}

/* Receive and parse one message; on failure print why and return NULL with *@rc set. */
static json_object *receive(int fd, char *buf, int timeout_ms, const sigset_t *sigmask,
			    bool first, int *rc)
{
	const char *why;
	size_t full = 0;
	json_object *o;
	ssize_t n;

	n = recv_msg(fd, buf, timeout_ms, sigmask, &full);
	if (n == -EINTR) {
		*rc = 0;
		return NULL;
	}
	if (n == -EMSGSIZE) {
		err("devbrokerd sent a %zu-byte message, more than the protocol's %d-byte "
		    "limit; it was truncated and is ignored (a devbrokerd bug: report it)",
		    full, MSG_MAX);
		*rc = EXIT_DAEMON;
		return NULL;
	}
	if (n == -ETIMEDOUT && waiting_unbind) {
		err("the device is not back with the kernel after %d seconds; devbrokerd goes on "
		    "stopping its driver ('%s status' shows it; --timeout waits longer)",
		    timeout_ms / 1000, prog);
		*rc = EXIT_DAEMON;
		return NULL;
	}
	if (n == -ETIMEDOUT) {
		err("devbrokerd at %s did not reply within %d seconds", socket_path,
		    timeout_ms / 1000);
		fprintf(stderr, "%s: is it stuck? (systemctl status devbrokerd; "
			"journalctl -u devbrokerd)\n", prog);
		*rc = EXIT_UNREACHABLE;
		return NULL;
	}
	if (n <= 0) {
		if (n == 0)
			err(first ? "devbrokerd at %s closed the connection without replying"
				  : "devbrokerd at %s closed the event stream", socket_path);
		else
			err("lost the connection to devbrokerd at %s: %s", socket_path,
			    strerror((int)-n));
		hint_unreachable();
		*rc = EXIT_UNREACHABLE;
		return NULL;
	}
	o = parse_msg(buf, (size_t)n, &why);
	if (!o) {
		err("devbrokerd sent a message that is not a JSON object (%s); "
		    "is devbrokerctl older or newer than devbrokerd? (devbrokerctl --version)",
		    why);
		*rc = EXIT_DAEMON;
	}
	return o;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

/* The event stream: until SIGINT/SIGTERM/SIGHUP (exit 0) or the daemon closes (exit 3). */
static int run_events(int fd, char *buf, const sigset_t *orig)
{
	json_object *o;
	int rc = 0;

	o = receive(fd, buf, REPLY_TIMEOUT_MS, orig, true, &rc);
	if (!o)
		return rc;
	/* In JSON the acknowledgement is the first line, whatever it says: a
	 * script that waits for it knows it is subscribed before it acts. */
	if (opt_json)
		print_json(o, false);
	rc = reply_status(o);
	json_object_put(o);
	if (rc)
		return rc;
	if (!opt_json && isatty(STDERR_FILENO))
		fprintf(stderr, "Watching devbrokerd's events (Ctrl-C to stop).\n");

	for (;;) {
		o = receive(fd, buf, -1, orig, false, &rc);
		if (!o) {
			if (rc == EXIT_DAEMON)	/* a bad or oversized message: skip it */
				continue;
			return rc;
		}
		if (get(o, "ok") && !json_object_get_boolean(get(o, "ok"))) {
			if (opt_json)
				print_json(o, false);
			rc = reply_status(o);
			json_object_put(o);
			return rc;
		}
		if (opt_json)
			print_json(o, false);
		else
			print_event(o);
		fflush(stdout);
		json_object_put(o);
	}
}

/*
 * policy load|list|unload|set|show: eBPF policies are pinned in bpffs, not
 * held by the daemon, so this runs the loader with the rest of the command
 * line untouched (found before getopt, which would take the loader's
 * options for ours).  Returns only if the command is not "policy" (0) or
 * the loader could not run.
 */
static int exec_policy_loader(int argc, char **argv)
{
	const char *loader = getenv("DEVBROKER_POLICY_LOADER");
	size_t i;

	for (i = 1; i < (size_t)argc && argv[i][0] == '-'; i++)
		if (!strcmp(argv[i], "--socket") || !strcmp(argv[i], "-s"))
			i++;
	if (i >= (size_t)argc || strcmp(argv[i], "policy") != 0)
		return 0;
	if (!loader || !*loader)
		loader = DBK_LIBEXECDIR "/dbk-policy";
	if (i + 1 >= (size_t)argc)
		usage_error("'policy' needs load NAME FILE, list, unload NAME, set or show");
	argv[i] = (char *)loader;
	execv(loader, argv + i);
	fprintf(stderr, "%s: cannot run the policy loader %s: %s\n", prog, loader,
		strerror(errno));
	return EXIT_UNREACHABLE;
}

/* The options; exits after --help and --version, or on a usage error. */
static void parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-block", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":js:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'N':
			opt_no_block = true;
			break;
		case 'T': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 86400)
				usage_error("--timeout %s: write a number of seconds from 1 to 86400", optarg);
			opt_timeout = (int)v;
			break;
		}
		case 'h':
			help();
			exit(0);
		case 'V':
			printf("devbrokerctl %s\n", PACKAGE_VERSION);
			exit(0);
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
}

/* The command and its DEVICE, if it takes one (into @device). */
static const struct command *parse_command(int argc, char **argv, char *device, size_t len)
{
	const struct command *cmd = NULL;
	size_t i;

	if (optind >= argc)
		usage_error("no command given (list, drivers, status, bind, unbind, revoke, "
			    "release, events, policy)");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		usage_error("unknown command '%s' (list, drivers, status, bind, unbind, revoke, "
			    "release, events)", argv[optind]);
	optind++;
	if (cmd->device) {
		if (optind >= argc)
			usage_error("'%s' needs a DEVICE, a PCI address like 0000:00:04.0 "
				    "('%s list' shows them)", cmd->name, prog);
		if (!parse_device(argv[optind], device, len))
			usage_error("'%s' is not a device name: expected a PCI address "
				    "DDDD:BB:DD.F (like 0000:00:04.0) or a USB name (like 1-2:1.0)",
				    argv[optind]);
		optind++;
	}
	if (optind < argc)
		usage_error("'%s' takes %s, but got '%s'", cmd->name,
			    cmd->device ? "one DEVICE" : "no argument", argv[optind]);
	if ((opt_no_block || opt_timeout >= 0) && strcmp(cmd->name, "unbind"))
		usage_error("--no-block and --timeout are options of 'unbind', not of '%s'", cmd->name);
	if (opt_no_block && opt_timeout >= 0)
		usage_error("--no-block does not wait: --timeout has nothing to bound");
	waiting_unbind = !strcmp(cmd->name, "unbind") && !opt_no_block;
	return cmd;
}

/* --socket, else $DEVBROKER_SOCKET, else the default; checked to fit sun_path. */
static void resolve_socket(void)
{
	const char *s;

	if (!socket_path) {
		s = getenv(DBK_CONTROL_SOCKET_ENV);
		socket_path = s && *s ? s : DEFAULT_SOCKET;
	}
	if (!*socket_path)
		usage_error("the socket path is empty");
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		usage_error("socket path '%s' is too long (at most %zu bytes)", socket_path,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
}

/*
 * events: block the stop signals; ppoll() unblocks them only while
 * waiting, so one arriving between two messages is never lost.
 */
static void block_stop_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* The request; 0, or the exit status when the daemon cannot be reached. */
static int send_request(int fd, const struct command *cmd, const char *device)
{
	json_object *req = json_object_new_object();
	const char *s;

	json_object_object_add(req, "cmd", json_object_new_string(cmd->name));
	if (cmd->device)
		json_object_object_add(req, "device", json_object_new_string(device));
	if (waiting_unbind)
		json_object_object_add(req, DBK_CONTROL_KEY_WAIT, json_object_new_boolean(1));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int e = errno;

		/*
		 * A refused caller gets an error reply and a closed socket,
		 * possibly before its request went out: read that reply.
		 */
		if ((e != EPIPE && e != ECONNRESET) || poll(&pfd, 1, 0) != 1) {
			err("cannot send to devbrokerd at %s: %s", socket_path, strerror(e));
			hint_unreachable();
			json_object_put(req);
			return EXIT_UNREACHABLE;
		}
	}
	json_object_put(req);
	return 0;
}

/*
 * An unbind that waited: the reply must say the device is back.  One that
 * does not (a devbrokerd older than this devbrokerctl, or one with too
 * many clients waiting already) answered at once: the device goes back
 * later, and a script that goes on would race it.
 */
static int check_unbound(json_object *reply)
{
	json_object *u = get(reply, DBK_CONTROL_KEY_UNBOUND);

	if (!waiting_unbind || (u && json_object_is_type(u, json_type_boolean) &&
				json_object_get_boolean(u)))
		return 0;
	err("devbrokerd answered before the device was back with the kernel (is it older "
	    "than devbrokerctl, or are too many clients waiting?); it goes back when the "
	    "driver has exited ('%s events' shows 'unbound')", prog);
	return EXIT_DAEMON;
}

/* One reply, shown as JSON or as the command's text; the exit status. */
static int show_reply(int fd, const struct command *cmd, char *buf)
{
	json_object *reply;
	int rc = 0;

	reply = receive(fd, buf, !waiting_unbind ? REPLY_TIMEOUT_MS :
			opt_timeout >= 0 ? opt_timeout * 1000 : UNBIND_TIMEOUT_MS, NULL, true, &rc);
	if (!reply)
		return rc;
	if (opt_json)
		print_json(reply, true);
	rc = reply_status(reply);
	rc = rc ? rc : check_unbound(reply);
	if (rc == 0 && !opt_json)
		rc = cmd->show(reply);
	json_object_put(reply);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		err("cannot write the output: %s", strerror(errno));
		return EXIT_DAEMON;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static char buf[MSG_MAX];
	const struct command *cmd;
	char device[64] = "";
	sigset_t orig;
	int fd, rc;

	rc = exec_policy_loader(argc, argv);
	if (rc)
		return rc;
	parse_options(argc, argv);
	cmd = parse_command(argc, argv, device, sizeof(device));
	resolve_socket();
	if (!cmd->show)
		block_stop_signals(&orig);
	fd = connect_daemon(socket_path);
	rc = send_request(fd, cmd, device);
	if (!rc)
		rc = cmd->show ? show_reply(fd, cmd, buf) : run_events(fd, buf, &orig);
	close(fd);
	return rc;
}
