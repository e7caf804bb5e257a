/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side harness for policy logic: include this, then a policy's
 * NAME.bpf.c, and call its programs with hand-made ctx structs.  The BPF
 * helpers the policies use are replaced by a small map emulation, a clock
 * and a thread id the test sets.  No kernel, no privileges.  TAP output.
 */
#ifndef DBK_POLICY_SHIM_H
#define DBK_POLICY_SHIM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devbroker/policy.h>

static int tap_n, tap_fail;

#define CHECK(cond, ...) do {						\
	int ok_ = !!(cond);						\
	printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);		\
	printf(__VA_ARGS__);						\
	if (!ok_) {							\
		printf(" (line %d)", __LINE__);				\
		tap_fail++;						\
	}								\
	printf("\n");							\
} while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

/* ---- maps: up to 8, each up to 64 entries of key <= 64 and value <= 256 bytes */
struct shim_entry {
	int used;
	unsigned char key[64];
	unsigned char value[256] __attribute__((aligned(8)));
};

struct shim_map {
	void *def;
	size_t ksz, vsz;
	unsigned int max;
	int array;
	struct shim_entry e[64];
};

static struct shim_map shim_maps[8];
static int shim_nmaps;
static uint64_t shim_now = 1000000000000ULL;
static uint32_t shim_tid = 100;

static struct shim_map *shim_find(void *def)
{
	int i;

	for (i = 0; i < shim_nmaps; i++)
		if (shim_maps[i].def == def)
			return &shim_maps[i];
	fprintf(stderr, "shim: unregistered map\n");
	abort();
}

/* Register a BTF-defined map (its __uint/__type members give the sizes). */
#define SHIM_MAP(m) shim_register(&(m), sizeof(*(m).key), sizeof(*(m).value),	\
				  sizeof(*(m).type) / sizeof(int),		\
				  sizeof(*(m).max_entries) / sizeof(int))

static void shim_register(void *def, size_t ksz, size_t vsz, int type, unsigned int max)
{
	struct shim_map *m = &shim_maps[shim_nmaps++];

	if (ksz > 64 || vsz > 256 || shim_nmaps > 8)
		abort();
	memset(m, 0, sizeof(*m));
	m->def = def;
	m->ksz = ksz;
	m->vsz = vsz;
	m->max = max < 64 ? max : 64;
	m->array = type == BPF_MAP_TYPE_ARRAY;
}

static void shim_clear(void *def)
{
	struct shim_map *m = shim_find(def);
	unsigned int i;

	for (i = 0; i < 64; i++)
		memset(&m->e[i], 0, sizeof(m->e[i]));
}

static void *shim_lookup(void *def, const void *key)
{
	struct shim_map *m = shim_find(def);
	unsigned int i;

	if (m->array) {
		uint32_t idx;

		memcpy(&idx, key, 4);
		return idx < m->max ? m->e[idx].value : NULL;
	}
	for (i = 0; i < m->max; i++)
		if (m->e[i].used && !memcmp(m->e[i].key, key, m->ksz))
			return m->e[i].value;
	return NULL;
}

static long shim_update(void *def, const void *key, const void *value, __u64 flags)
{
	struct shim_map *m = shim_find(def);
	void *v = shim_lookup(def, key);
	unsigned int i;

	if (v && flags == BPF_NOEXIST)
		return -17;
	if (!v && m->array)
		return -7;
	if (!v) {
		for (i = 0; i < m->max && m->e[i].used; i++)
			;
		if (i == m->max)
			return -7;
		m->e[i].used = 1;
		memcpy(m->e[i].key, key, m->ksz);
		v = m->e[i].value;
	}
	memcpy(v, value, m->vsz);
	return 0;
}

static long shim_delete(void *def, const void *key)
{
	struct shim_map *m = shim_find(def);
	unsigned int i;

	for (i = 0; i < m->max; i++)
		if (m->e[i].used && !memcmp(m->e[i].key, key, m->ksz)) {
			memset(&m->e[i], 0, sizeof(m->e[i]));
			return 0;
		}
	return -2;
}

static __u64 shim_ktime(void)
{
	return shim_now;
}

static __u64 shim_pid_tgid(void)
{
	return ((__u64)4242 << 32) | shim_tid;
}

static void shim_init(void)
{
	bpf_map_lookup_elem = shim_lookup;
	bpf_map_update_elem = shim_update;
	bpf_map_delete_elem = shim_delete;
	bpf_ktime_get_ns = shim_ktime;
	bpf_get_current_pid_tgid = shim_pid_tgid;
}

/* Run program @prog on @ctx as the tracepoint would. */
#define RUN(prog, ctx) do {						\
	__u64 args_[1] = { (__u64)(uintptr_t)(ctx) };			\
	prog((struct bpf_raw_tracepoint_args *)args_);			\
} while (0)

/*
 * Run the guard @prog for hook @hook (DBK_GUARD_*) on @ctx as the module
 * would: in a union dbk_policy_guard_ctx, its verdict and error cleared.
 */
#define RUN_GUARD(prog, hook, ctx) do {					\
	union dbk_policy_guard_ctx u_;					\
	__u64 args_[2] = { (__u64)(uintptr_t)&u_, (hook) };		\
									\
	memset(&u_, 0, sizeof(u_));					\
	memcpy(&u_, (ctx), sizeof(*(ctx)));				\
	u_.master.verdict = 0;						\
	u_.master.error = 0;						\
	prog((struct bpf_raw_tracepoint_args *)args_);			\
	memcpy((ctx), &u_, sizeof(*(ctx)));				\
} while (0)

static struct dbk_policy_dev shim_dev(__u16 vendor, __u16 device, __u8 devfn)
{
	struct dbk_policy_dev d = { .vendor = vendor, .device = device, .devfn = devfn };

	return d;
}

#endif
