// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A driver's output as log lines (broker.h, "outlog.c").  Pure: devbrokerd
 * reads the driver's pipe (drvlog.c) and feeds the bytes here.
 */
#include <string.h>

#include "broker.h"

/* A new window once the last one is over; the lines it dropped reported first. */
static void dbk_outlog_window(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit,
			      void *ctx)
{
	if (o->window && now_ms - o->window < DBK_OUTLOG_WINDOW_MS)
		return;
	if (o->dropped)
		emit(ctx, NULL, o->dropped);
	o->window = now_ms ? now_ms : 1;
	o->lines = 0;
	o->dropped = 0;
}

static void dbk_outlog_line(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit,
			    void *ctx)
{
	unsigned int len = o->len, i;

	o->len = 0;
	if (len && o->line[len - 1] == '\r')	/* "\r\n": one line break */
		len--;
	if (!len)
		return;
	o->line[len] = '\0';
	/* Escape sequences, NULs, carriage returns mid-line: shown, never obeyed. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)o->line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			o->line[i] = '?';
	}
	dbk_outlog_window(o, now_ms, emit, ctx);
	if (o->lines >= DBK_OUTLOG_BURST) {
		o->dropped++;
		return;
	}
	o->lines++;
	emit(ctx, o->line, 0);
}

void dbk_outlog_feed(struct dbk_outlog *o, const char *buf, size_t n, uint64_t now_ms,
		     dbk_outlog_emit_fn *emit, void *ctx)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			dbk_outlog_line(o, now_ms, emit, ctx);
			continue;
		}
		o->line[o->len++] = buf[i];
		if (o->len == DBK_OUTLOG_LINE)
			dbk_outlog_line(o, now_ms, emit, ctx);
	}
}

void dbk_outlog_flush(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit, void *ctx)
{
	dbk_outlog_line(o, now_ms, emit, ctx);
	if (o->dropped)
		emit(ctx, NULL, o->dropped);
	memset(o, 0, sizeof(*o));
}
