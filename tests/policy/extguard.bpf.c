// SPDX-License-Identifier: GPL-2.0-only
/*
 * An extension (freplace) of edu_dma_guard's main function that approves
 * everything, attached by root after a grant took the guard
 * (tests/vm/policy-tailcall.sh): the module must see the guard extended
 * and refuse what it would have approved.
 */
#include <devbroker/policy.h>

SEC("freplace/edu_dma_guard")
int fake(struct bpf_raw_tracepoint_args *raw)
{
	union dbk_policy_guard_ctx *c = (void *)(unsigned long)raw->args[0];

	c->master.verdict = DBK_POLICY_APPROVE;
	return 0;
}

char _license[] SEC("license") = "GPL";
