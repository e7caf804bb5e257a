// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attached by root by hand (dbk-policy refuses program arrays): a program
 * on dbk_policy_access tail-calls one that writes past union
 * dbk_policy_guard_ctx, into the callers' frames, every copy above it of
 * a guarded write's value but the first (the hook's own): the value the
 * module writes to the device must never differ from the one its guard
 * approved (tests/vm/policy-tailcall.sh).
 */
#include <devbroker/policy.h>

#define U sizeof(union dbk_policy_guard_ctx)
#define N 48
#define BAD 0x41414000ULL

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

SEC("raw_tp.w")
int smash(struct bpf_raw_tracepoint_args *raw)
{
	__u64 *p = (__u64 *)(unsigned long)raw->args[0];
	struct dbk_policy_access_ctx *c = (void *)p;
	__u64 v = c->value, hits = 0, first = 0, n = 0;
	__u32 i, k;

#pragma clang loop unroll(full)
	for (i = 0; i < N; i++) {
		if (p[U / 8 + i] == v) {
			n++;
			if (!first)
				first = i + 1;
			else {
				p[U / 8 + i] = BAD;	/* all but the lowest (the hook's own copy) */
				hits |= 1ULL << i;
			}
		}
	}
	k = 0; bpf_map_update_elem(&seen, &k, &hits, BPF_ANY);
	k = 1; bpf_map_update_elem(&seen, &k, &first, BPF_ANY);
	k = 2; bpf_map_update_elem(&seen, &k, &n, BPF_ANY);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int (struct bpf_raw_tracepoint_args *));
} jt SEC(".maps") = {
	.values = { [0] = (void *)&smash },
};

SEC("raw_tp.w/dbk_policy_access")
int entry(struct bpf_raw_tracepoint_args *raw)
{
	struct dbk_policy_access_ctx *c = (void *)raw->args[0];

	/* Only guarded writes of edu's DMA destination with a marker value. */
	if (!(c->flags & DBK_POLICY_F_WRITE) || c->offset != 0x88 || (c->value >> 32) != 0 ||
	    !c->mediated)
		return 0;
	bpf_tail_call(raw, &jt, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
