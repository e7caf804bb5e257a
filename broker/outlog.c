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

/*
 * The length of the well-formed UTF-8 character at @s (at most @n bytes)
 * that may be shown, or 0: malformed, overlong, a surrogate, or a control.
 */
static unsigned int dbk_outlog_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned int len, k;
	uint32_t cp;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4, cp = u[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029 || cp == 0x061c || cp == 0x200e ||
	    cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0xfeff)
		return 0;
	return len;
}

/*
 * Escape sequences, NULs, carriage returns mid-line: shown, never obeyed.
 * Beyond ASCII, only well-formed UTF-8 stays, and not the C1 controls
 * (U+0080..U+009F: CSI is U+009B), the line and paragraph separators and
 * NEL (line breaks to Unicode-aware readers), nor the bidirectional
 * controls (text shown in another order than logged).
 */
static void dbk_outlog_clean(char *line, unsigned int len)
{
	unsigned int i = 0, n;

	while (i < len) {
		unsigned char c = (unsigned char)line[i];

		if (c >= 0x80 && (n = dbk_outlog_utf8(line + i, len - i))) {
			i += n;
			continue;
		}
		if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f)
			line[i] = '?';
		i++;
	}
}

static void dbk_outlog_line(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit,
			    void *ctx)
{
	unsigned int len = o->len;

	o->len = 0;
	if (len && o->line[len - 1] == '\r')	/* "\r\n": one line break */
		len--;
	/*
	 * An empty line is never logged, yet it costs the window a line too:
	 * else a flood of "\n" would never spend it (never pause).
	 */
	dbk_outlog_window(o, now_ms, emit, ctx);
	if (o->lines >= DBK_OUTLOG_BURST) {
		if (len)
			o->dropped++;
		return;
	}
	o->lines++;
	if (!len)
		return;
	o->line[len] = '\0';
	dbk_outlog_clean(o->line, len);
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
	if (o->len)
		dbk_outlog_line(o, now_ms, emit, ctx);
	if (o->dropped)
		emit(ctx, NULL, o->dropped);
	o->dropped = 0;
	o->len = 0;
}

uint64_t dbk_outlog_spent(const struct dbk_outlog *o, uint64_t now_ms)
{
	if (!o->window || now_ms - o->window >= DBK_OUTLOG_WINDOW_MS ||
	    o->lines < DBK_OUTLOG_BURST)
		return 0;
	return o->window + DBK_OUTLOG_WINDOW_MS;
}

void dbk_outlog_tick(struct dbk_outlog *o, uint64_t now_ms, dbk_outlog_emit_fn *emit, void *ctx)
{
	if (o->window)
		dbk_outlog_window(o, now_ms, emit, ctx);
}
