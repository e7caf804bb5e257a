// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test object (review R5-2), never shipped: an attached access program whose max_tp_access is small
 * (it attaches) tail-calls a RAW_TRACEPOINT_WRITABLE program that reads
 * past the hook's buffer (union dbk_policy_guard_ctx on the kernel stack).
 * Neither bpf_probe_register() nor dbk_policy_guard_get() looks at
 * tail-call targets.
 */
#include <devbroker/policy.h>

#define U sizeof(union dbk_policy_guard_ctx)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 17);
	__type(key, __u32);
	__type(value, __u64);
} leak SEC(".maps");

/* Not attached (dbk-policy takes SEC("raw_tp.w") for a guard and only pins it). */
SEC("raw_tp.w")
int reach(struct bpf_raw_tracepoint_args *raw)
{
	__u64 *p = (__u64 *)(unsigned long)raw->args[0];
	__u32 i;

#pragma clang loop unroll(full)
	for (i = 0; i < 16; i++) {
		__u32 k = i;
		__u64 v = p[U / 8 + i];

		bpf_map_update_elem(&leak, &k, &v, BPF_ANY);
	}
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int (struct bpf_raw_tracepoint_args *));
} jt SEC(".maps") = {
	.values = { [0] = (void *)&reach },
};

SEC("raw_tp.w/dbk_policy_access")
int entry(struct bpf_raw_tracepoint_args *raw)
{
	__u32 k = 16;
	__u64 one = 1;

	bpf_map_update_elem(&leak, &k, &one, BPF_ANY);
	bpf_tail_call(raw, &jt, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
