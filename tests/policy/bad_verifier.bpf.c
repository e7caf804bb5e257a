// SPDX-License-Identifier: GPL-2.0-only
/*
 * A policy the verifier must reject: it indexes the ctx's window array
 * with a value, a variable offset into the tracepoint buffer (the trap
 * <devbroker/policy.h> warns about).  Had it loaded, it would deny every
 * edu write whose window slot is empty.
 */
#include <devbroker/policy.h>

DBK_HOOK(access, bad_variable_offset)
{
	if (dbk_is_write(ctx) && !ctx->windows[ctx->offset & 15].size)
		dbk_deny(ctx, EPERM);
}

DBK_POLICY_LICENSE("GPL");
