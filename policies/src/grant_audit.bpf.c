// SPDX-License-Identifier: GPL-2.0-only
/*
 * grant_audit: count grant creations and revocations per process, from a
 * kprobe on devbroker.ko.  The first program through the build's
 * clang -> bpftool skeleton chain; the policy hooks proper are writable
 * tracepoints (see docs/).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("kprobe/dbk_grant_create")
int grant_create(void *ctx)
{
	bump(0);
	return 0;
}

SEC("kprobe/dbk_grant_revoke")
int grant_revoke(void *ctx)
{
	bump(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
