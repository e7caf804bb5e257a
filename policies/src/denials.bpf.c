// SPDX-License-Identifier: GPL-2.0-only
/*
 * denials: devbrokerd's own program, not a policy.  The module runs its
 * read-only raw tracepoint dbk_policy_denied after every denial by a PCI
 * policy hook; this copies it into the ring buffer dbk_denials as a
 * struct dbk_denial (<devbroker/denial.h>), the record USB denials have
 * too, which the daemon reports as a "denied" event.  The daemon holds the
 * attachment (no pin): it goes with the daemon.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <devbroker/denial.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} dbk_denials SEC(".maps");

/* Denials the ring buffer had no room for (the daemon was behind). */
__u64 dbk_denials_lost;

SEC("raw_tp/dbk_policy_denied")
int dbk_denied(struct bpf_raw_tracepoint_args *ctx)
{
	const struct dbk_policy_denied_ctx *d = (const void *)ctx->args[0];
	__u64 id = bpf_get_current_pid_tgid();
	struct dbk_denial *rec;

	rec = bpf_ringbuf_reserve(&dbk_denials, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&dbk_denials_lost, 1);
		return 0;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	/* Another module's ctx (an older devbroker still loaded) is not passed on. */
	if (bpf_probe_read_kernel(&rec->u.pci, sizeof(rec->u.pci), d) ||
	    rec->u.pci.version != DBK_POLICY_VERSION) {
		bpf_ringbuf_discard(rec, 0);
		return 0;
	}
	rec->bus = DBK_DENIAL_PCI;
	rec->pid = id >> 32;
	rec->tid = (__u32)id;
	rec->uid = (__u32)bpf_get_current_uid_gid();
	rec->cookie = rec->u.pci.dev.cookie;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
