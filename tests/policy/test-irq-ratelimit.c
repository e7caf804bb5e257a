// SPDX-License-Identifier: GPL-2.0-only
/* irq_ratelimit's bucket and cap, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/irq_ratelimit.bpf.c"

static struct dbk_policy_irq_ctx last;

static int run(struct dbk_policy_dev dev, __u32 rate)
{
	struct dbk_policy_irq_ctx c = { .version = DBK_POLICY_VERSION, .dev = dev,
					.index = DBK_IRQ_INDEX_MSI, .count = 1, .rate = rate };

	RUN(irq_ratelimit, &c);
	last = c;
	return c.verdict & DBK_POLICY_DENY ? c.error : 0;
}

int main(void)
{
	struct dbk_policy_dev a = shim_dev(0x1234, 0x11e8, 0x20), b = shim_dev(0x1234, 0x11e8, 0x28);
	struct irq_config cfg = { .burst = 2, .per_sec = 1, .max_rate = 50 };
	__u32 zero = 0;
	__u64 kb = dbk_dev_key(&b);
	int i, ok = 1;

	shim_init();
	SHIM_MAP(config);
	SHIM_MAP(device_config);
	SHIM_MAP(buckets);
	for (i = 0; i < DEFAULT_BURST; i++)
		ok &= run(a, 100000) == 0 && last.rate == 100000;
	CHECK(ok, "defaults: a burst of %d enables, the rate left alone", DEFAULT_BURST);
	CHECK(run(a, 100000) == EAGAIN, "the next enable: EAGAIN");
	shim_now += 999999999;
	CHECK(run(a, 100000) == EAGAIN, "999 ms later: still EAGAIN");
	shim_now += 1;
	CHECK(run(a, 100000) == 0 && run(a, 100000) == EAGAIN, "1 s later: one more enable");
	shim_now += 3600 * 1000000000ULL;
	for (i = 0, ok = 1; i < DEFAULT_BURST; i++)
		ok &= run(a, 100000) == 0;
	CHECK(ok && run(a, 100000) == EAGAIN, "an hour later: the bucket holds the burst, no more");

	shim_update(&config, &zero, &cfg, BPF_ANY);
	CHECK(run(b, 100000) == 0 && last.rate == 50, "max_rate 50: the grant's cap lowered to 50");
	CHECK(run(b, 20) == 0 && last.rate == 20, "a cap already below max_rate is kept");
	CHECK(run(b, 100000) == EAGAIN, "burst 2: the third enable is refused");
	cfg.burst = 10;
	cfg.max_rate = 0;
	shim_update(&device_config, &kb, &cfg, BPF_ANY);
	shim_now += 10 * 1000000000ULL;
	CHECK(run(b, 300) == 0 && last.rate == 300, "a per-device setting overrides config[0] (no cap)");
	return tap_done();
}
