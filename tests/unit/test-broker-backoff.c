/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core restart backoff: 100 ms doubling per crash in the window,
 * capped at 30 s; quarantine at exactly the burst-th crash in the window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"

static void test_doubling_and_quarantine(void **state)
{
	struct dbk_backoff b = { 0 };
	uint64_t t = 1000000;

	assert_int_equal(dbk_backoff_crash(&b, t, 5, 600), 100);
	assert_int_equal(dbk_backoff_crash(&b, t + 1000, 5, 600), 200);
	assert_int_equal(dbk_backoff_crash(&b, t + 2000, 5, 600), 400);
	assert_int_equal(dbk_backoff_crash(&b, t + 3000, 5, 600), 800);
	assert_int_equal(b.restarts, 4);
	assert_int_equal(dbk_backoff_crash(&b, t + 4000, 5, 600), -1);	/* the 5th */
	assert_int_equal(b.restarts, 4);
	assert_int_equal(b.nr, 5);
}

static void test_burst_one(void **state)
{
	struct dbk_backoff b = { 0 };

	assert_int_equal(dbk_backoff_crash(&b, 5000, 1, 600), -1);
}

static void test_cap(void **state)
{
	struct dbk_backoff b = { 0 };
	long want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000,
			30000, 30000, 30000, 30000 };
	unsigned int i;

	for (i = 0; i < 15; i++)
		assert_int_equal(dbk_backoff_crash(&b, 1000 + i, 16, 600), want[i]);
	assert_int_equal(dbk_backoff_crash(&b, 2000, 16, 600), -1);
	/* bursts above the ring's 16 slots are 16 */
	dbk_backoff_reset(&b);
	for (i = 0; i < 15; i++)
		assert_true(dbk_backoff_crash(&b, 1000 + i, 100, 600) > 0);
	assert_int_equal(dbk_backoff_crash(&b, 2000, 100, 600), -1);
}

/* Crashes that left the window no longer count, nor double the delay. */
static void test_window(void **state)
{
	struct dbk_backoff b = { 0 };
	uint64_t t = 0;
	int i;

	/* one crash every 11 s with a 10 s window: never escalates */
	for (i = 0; i < 50; i++, t += 11000)
		assert_int_equal(dbk_backoff_crash(&b, t, 3, 10), 100);
	/* exactly the window apart: the old one has left */
	dbk_backoff_reset(&b);
	assert_int_equal(dbk_backoff_crash(&b, 100000, 2, 10), 100);
	assert_int_equal(dbk_backoff_crash(&b, 110000, 2, 10), 100);
	/* one ms inside it: quarantine at the burst of 2 */
	assert_int_equal(dbk_backoff_crash(&b, 119999, 2, 10), -1);
	/* partly expired: 3 in the window (t=0 gone) */
	dbk_backoff_reset(&b);
	assert_int_equal(dbk_backoff_crash(&b, 0, 4, 10), 100);
	assert_int_equal(dbk_backoff_crash(&b, 5000, 4, 10), 200);
	assert_int_equal(dbk_backoff_crash(&b, 9000, 4, 10), 400);
	assert_int_equal(dbk_backoff_crash(&b, 12000, 4, 10), 400);
	assert_int_equal(b.nr, 3);
	assert_int_equal(dbk_backoff_crash(&b, 13000, 4, 10), -1);
}

static void test_reset(void **state)
{
	struct dbk_backoff b = { 0 };

	assert_int_equal(dbk_backoff_crash(&b, 10, 2, 600), 100);
	assert_int_equal(dbk_backoff_crash(&b, 20, 2, 600), -1);
	/* devbrokerctl release */
	dbk_backoff_reset(&b);
	assert_int_equal(b.nr, 0);
	assert_int_equal(b.restarts, 1);	/* lifetime count kept */
	assert_int_equal(dbk_backoff_crash(&b, 30, 2, 600), 100);
	assert_int_equal(b.restarts, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling_and_quarantine),
		cmocka_unit_test(test_burst_one),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests_name("broker restart backoff", tests, NULL, NULL);
}
