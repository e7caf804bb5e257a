// SPDX-License-Identifier: GPL-2.0-only
/*
 * A policy that verifies but cannot attach completely: its access program
 * (which denies every BAR write) attaches, its grant program reads past the
 * grant ctx, which the kernel refuses at attach time.  dbk-policy must
 * detach the first again and pin nothing.
 */
#include <devbroker/policy.h>

DBK_HOOK(access, bad_deny_writes)
{
	if (dbk_is_write(ctx))
		dbk_deny(ctx, EPERM);
}

SEC("raw_tp.w/dbk_policy_grant")
int bad_past_ctx(struct bpf_raw_tracepoint_args *raw)
{
	const volatile __u64 *p = (const volatile __u64 *)dbk_grant_ctx(raw);

	return p[sizeof(struct dbk_policy_grant_ctx) / 8 + 8] == 1;
}

DBK_POLICY_LICENSE("GPL");
