// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * devbrokerd's log (stderr: the journal under systemd) and its events,
 * which go to the log and to every `devbrokerctl events` client.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "daemon.h"

void dbk_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("devbrokerd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t dbk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dbk_event(struct dbk_daemon *dd, const char *event, const struct dbk_entry *d,
	       const char *fmt, ...)
{
	struct json_object *ev = json_object_new_object();
	struct timespec ts;
	char detail[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	dbk_log("%s: %s: %s", d ? d->info.id : "-", event, detail);
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(ev, "event", json_object_new_string(event));
	json_object_object_add(ev, "device", d ? json_object_new_string(d->info.id) : NULL);
	json_object_object_add(ev, "driver", d && d->driver[0] ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(ev, "pid", d && d->pid ? json_object_new_int(d->pid) : NULL);
	json_object_object_add(ev, "time", json_object_new_double(ts.tv_sec + ts.tv_nsec / 1e9));
	json_object_object_add(ev, "detail", json_object_new_string(detail));
	dbk_control_broadcast(dd, ev);
	json_object_put(ev);
}
