// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad_guard: a DMA guard that writes past union dbk_policy_guard_ctx.  The
 * verifier accepts it (a tracepoint buffer is only bounds-checked when a
 * program is attached), so the module must refuse it as a grant's guard
 * (tests/policy/policy-test.c, group widen).  Never shipped.
 */
#include <devbroker/policy.h>

DBK_GUARD(bad_guard)
{
	((__u64 *)ctx)[sizeof(*ctx) / 8 + 8] = hook;
}

DBK_POLICY_LICENSE("GPL");
