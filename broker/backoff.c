// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Restart policy: each crash waits 100 ms << (crashes in the window - 1),
 * at most 30 s; the burst-th crash within the window quarantines.  A crash
 * counts while now - crash < window (one exactly window_s old has left it).
 */
#include <string.h>

#include "broker.h"

#define BACKOFF_BASE_MS		100
#define BACKOFF_MAX_MS		30000
#define BACKOFF_SLOTS		(sizeof(((struct dbk_backoff *)0)->crashes) / sizeof(uint64_t))

long dbk_backoff_crash(struct dbk_backoff *b, uint64_t now_ms, unsigned int burst,
		       unsigned int window_s)
{
	uint64_t window_ms = (uint64_t)window_s * 1000;
	unsigned int i, kept = 0;
	long delay;

	if (burst < 1)
		burst = 1;
	if (burst > BACKOFF_SLOTS)
		burst = BACKOFF_SLOTS;
	if (b->nr > BACKOFF_SLOTS)
		b->nr = BACKOFF_SLOTS;
	/* Keep the crashes still in the window, oldest first. */
	for (i = 0; i < b->nr; i++)
		if (b->crashes[i] > now_ms || now_ms - b->crashes[i] < window_ms)
			b->crashes[kept++] = b->crashes[i];
	if (kept == BACKOFF_SLOTS) {
		memmove(b->crashes, b->crashes + 1, (BACKOFF_SLOTS - 1) * sizeof(b->crashes[0]));
		kept--;
	}
	b->crashes[kept++] = now_ms;
	b->nr = kept;
	if (kept >= burst)
		return -1;
	delay = BACKOFF_BASE_MS;
	for (i = 1; i < kept && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	b->restarts++;
	return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

void dbk_backoff_reset(struct dbk_backoff *b)
{
	unsigned int restarts = b->restarts;

	memset(b, 0, sizeof(*b));
	b->restarts = restarts;
}
