// SPDX-License-Identifier: GPL-2.0-only
/*
 * irq_ratelimit: how often a device's interrupts may be enabled, and how
 * fast they may then fire.
 *
 * The irq hook runs when a driver enables interrupts (DBK_GRANT_SET_IRQS
 * with a count), not per interrupt.  Each enable takes one token from the
 * device's bucket, which holds at most `burst` tokens and gains `per_sec`
 * tokens per second; with no token left the enable fails with EAGAIN.
 * The bucket belongs to the device, not to the grant: a driver that is
 * restarted in a loop keeps draining the same bucket.  A device's bucket
 * starts full.  Under concurrent enables of one device the count may be
 * off by one per racing CPU.
 *
 * An allowed enable also caps the grant's interrupt rate at `max_rate`
 * per second (all vectors; past it the module masks the vector for the
 * rest of the second and counts a throttle).  The cap only ever lowers
 * the grant's rate, and stays for the grant's life.  0: no cap.
 *
 * Settings: device_config[dbk_dev_key()] if present, else config[0];
 * 0 fields take the defaults burst 4, per_sec 1, max_rate 0.
 *   dbk-policy load irq irq_ratelimit.bpf.o \
 *       --map 'config[0]=burst=2,per_sec=1,max_rate=50'
 */
#include <devbroker/policy.h>

#define NSEC		1000000000LL
#define DEFAULT_BURST	4
#define DEFAULT_PER_SEC	1

struct irq_config {
	__u32 burst;
	__u32 per_sec;
	__u32 max_rate;
	__u32 reserved;
};

struct irq_bucket {
	__s64 tokens;		/* in 1e-9 tokens */
	__u64 last_ns;		/* last refill */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct irq_config);
} device_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct irq_bucket);
} buckets SEC(".maps");

DBK_HOOK(irq, irq_ratelimit)
{
	__u64 key = dbk_key(ctx), now = bpf_ktime_get_ns(), last, elapsed;
	struct irq_config *c = bpf_map_lookup_elem(&device_config, &key);
	__u32 zero = 0, burst, per_sec, max_rate;
	struct irq_bucket *b;
	__s64 cap, old;

	if (!c)
		c = bpf_map_lookup_elem(&config, &zero);
	burst = c && c->burst ? c->burst : DEFAULT_BURST;
	per_sec = c && c->per_sec ? c->per_sec : DEFAULT_PER_SEC;
	max_rate = c ? c->max_rate : 0;
	cap = (__s64)burst * NSEC;

	b = bpf_map_lookup_elem(&buckets, &key);
	if (!b) {
		struct irq_bucket fresh = { .tokens = cap, .last_ns = now };

		bpf_map_update_elem(&buckets, &key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&buckets, &key);
		if (!b) {
			dbk_deny(ctx, EAGAIN);
			return;
		}
	}
	/* Refill: whoever moves last_ns forward adds the time since. */
	last = b->last_ns;
	if (now > last && __sync_val_compare_and_swap(&b->last_ns, last, now) == last) {
		elapsed = now - last;
		if (elapsed > (__u64)cap / per_sec + 1)
			elapsed = (__u64)cap / per_sec + 1;
		__sync_fetch_and_add(&b->tokens, (__s64)elapsed * per_sec);
	}
	if (b->tokens > cap)
		b->tokens = cap;
	old = __sync_fetch_and_add(&b->tokens, -NSEC);
	if (old < NSEC) {
		__sync_fetch_and_add(&b->tokens, NSEC);
		dbk_deny(ctx, EAGAIN);
		return;
	}
	dbk_irq_cap(ctx, max_rate);
}

DBK_POLICY_LICENSE("GPL");
