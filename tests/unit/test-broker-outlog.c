/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core's driver output lines (outlog.c): lines split across
 * reads, control characters shown as '?', long lines cut, and the rate
 * limit's window with its count of lines not logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"

struct got {
	char lines[512][DBK_OUTLOG_LINE + 1];
	unsigned int n;
	unsigned int dropped;		/* the last count reported */
	unsigned int reports;
};

static void emit(void *ctx, const char *line, unsigned int dropped)
{
	struct got *g = ctx;

	if (!line) {
		g->dropped = dropped;
		g->reports++;
		return;
	}
	assert_true(strlen(line) <= DBK_OUTLOG_LINE);
	assert_true(g->n < 512);
	snprintf(g->lines[g->n++], sizeof(g->lines[0]), "%s", line);
}

static struct got g;

static void feed(struct dbk_outlog *o, const char *s, uint64_t now)
{
	dbk_outlog_feed(o, s, strlen(s), now, emit, &g);
}

static void test_lines_across_reads(void **state)
{
	struct dbk_outlog o = { 0 };

	memset(&g, 0, sizeof(g));
	feed(&o, "edu: one\nedu: t", 1);
	assert_int_equal(g.n, 1);
	feed(&o, "wo\r", 2);
	feed(&o, "\n\n\nlast words", 3);	/* "\r\n" split; empty lines skipped */
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[0], "edu: one");
	assert_string_equal(g.lines[1], "edu: two");
	dbk_outlog_flush(&o, 4, emit, &g);	/* unterminated: logged at the end */
	assert_int_equal(g.n, 3);
	assert_string_equal(g.lines[2], "last words");
	assert_int_equal(g.reports, 0);
	assert_int_equal(o.len, 0);
}

/* @n bytes (NULs included) make one line, logged as @want. */
static void assert_one_line(const char *s, size_t n, const char *want)
{
	struct dbk_outlog o = { 0 };

	memset(&g, 0, sizeof(g));
	dbk_outlog_feed(&o, s, n, 1, emit, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], want);
}

/* A forged line break, an escape sequence, a NUL: one line, shown, not obeyed. */
static void test_control_characters(void **state)
{
	const char s[] = "x\rdevbrokerd: 0000:00:04.0: started: forged\x1b[2J\tz\x7f\0y\n";

	assert_one_line(s, sizeof(s) - 1, "x?devbrokerd: 0000:00:04.0: started: forged?[2J\tz??y");
}

/* Beyond ASCII: C1 controls, Unicode line breaks, bidi controls, malformed UTF-8. */
static void test_non_ascii(void **state)
{
	const char s[] = "\xc2\x9b" "2J\x9b" "2J x\xe2\x80\xa8" "y\xc2\x85" "z\xe2\x80\xae" "w "
			 "\xff\xc0\xaf \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82\n";

	assert_one_line(s, sizeof(s) - 1,
			"??2J?2J x???y??z???w ??? \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
}

static void test_long_line_cut(void **state)
{
	struct dbk_outlog o = { 0 };
	char s[DBK_OUTLOG_LINE * 2 + 11];

	memset(&g, 0, sizeof(g));
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 2] = '\n';
	s[sizeof(s) - 1] = '\0';
	feed(&o, s, 1);
	assert_int_equal(g.n, 3);
	assert_int_equal(strlen(g.lines[0]), DBK_OUTLOG_LINE);
	assert_int_equal(strlen(g.lines[1]), DBK_OUTLOG_LINE);
	assert_int_equal(strlen(g.lines[2]), 9);
}

static void test_rate_limit(void **state)
{
	struct dbk_outlog o = { 0 };
	unsigned int i;

	memset(&g, 0, sizeof(g));
	for (i = 0; i < DBK_OUTLOG_BURST + 50; i++)
		feed(&o, "flood\n", 1000 + i);
	assert_int_equal(g.n, DBK_OUTLOG_BURST);
	assert_int_equal(g.reports, 0);		/* not before the window is over */
	/* Spent: the reader pauses until the window's end. */
	assert_int_equal(dbk_outlog_spent(&o, 1300), 1000 + DBK_OUTLOG_WINDOW_MS);
	assert_int_equal(dbk_outlog_spent(&o, 1000 + DBK_OUTLOG_WINDOW_MS), 0);
	feed(&o, "later\n", 1000 + DBK_OUTLOG_WINDOW_MS - 1);
	assert_int_equal(g.n, DBK_OUTLOG_BURST);
	feed(&o, "next window\n", 1000 + DBK_OUTLOG_WINDOW_MS);
	assert_int_equal(g.reports, 1);
	assert_int_equal(g.dropped, 51);
	assert_int_equal(g.n, DBK_OUTLOG_BURST + 1);
	assert_string_equal(g.lines[DBK_OUTLOG_BURST], "next window");
	/* Dropped in the last window: reported at the flush. */
	for (i = 0; i < DBK_OUTLOG_BURST + 3; i++)
		feed(&o, "flood\n", 1000 + DBK_OUTLOG_WINDOW_MS + 1);
	dbk_outlog_flush(&o, 1000 + DBK_OUTLOG_WINDOW_MS + 2, emit, &g);
	assert_int_equal(g.reports, 2);
	assert_int_equal(g.dropped, 4);
	/* The window outlives the driver: a restarted one gets no fresh budget. */
	assert_int_equal(dbk_outlog_spent(&o, 1000 + DBK_OUTLOG_WINDOW_MS + 3),
			 1000 + 2 * DBK_OUTLOG_WINDOW_MS);
	feed(&o, "restarted\n", 1000 + DBK_OUTLOG_WINDOW_MS + 4);
	assert_int_equal(g.n, 2 * DBK_OUTLOG_BURST);
	/* The tick at the window's end reports what was dropped, and a new window begins. */
	dbk_outlog_tick(&o, 1000 + 2 * DBK_OUTLOG_WINDOW_MS, emit, &g);
	assert_int_equal(g.reports, 3);
	assert_int_equal(g.dropped, 1);
	assert_int_equal(dbk_outlog_spent(&o, 1000 + 2 * DBK_OUTLOG_WINDOW_MS), 0);
	feed(&o, "again\n", 1000 + 2 * DBK_OUTLOG_WINDOW_MS + 1);
	assert_string_equal(g.lines[g.n - 1], "again");
}

/* A flood of empty lines spends the window too: else the reader never pauses (review R12). */
static void test_empty_lines_spend(void **state)
{
	static char nl[65536];
	struct dbk_outlog o = { 0 };

	memset(&g, 0, sizeof(g));
	memset(nl, '\n', sizeof(nl));
	dbk_outlog_feed(&o, nl, sizeof(nl), 1000, emit, &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(dbk_outlog_spent(&o, 1000), 1000 + DBK_OUTLOG_WINDOW_MS);
	/* A flush with nothing pending costs nothing. */
	memset(&o, 0, sizeof(o));
	dbk_outlog_flush(&o, 1000, emit, &g);
	assert_int_equal(o.lines, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_across_reads),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_long_line_cut),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_empty_lines_spend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
