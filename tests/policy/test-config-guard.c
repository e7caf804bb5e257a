// SPDX-License-Identifier: GPL-2.0-only
/* config_guard's allow-list, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/config_guard.bpf.c"

static int run(struct dbk_policy_dev dev, __u32 off, __u32 width)
{
	struct dbk_policy_config_ctx c = { .version = DBK_POLICY_VERSION, .dev = dev,
					   .offset = off, .width = width, .value = 0x6 };

	RUN(config_guard, &c);
	return c.verdict & DBK_POLICY_DENY ? c.error : 0;
}

int main(void)
{
	struct dbk_policy_dev a = shim_dev(0x1234, 0x11e8, 0x20), b = shim_dev(0x1234, 0x11e8, 0x28);
	struct cfg_key k = { .dev = dbk_dev_key(&a), .offset = 0xc0 };
	__u32 four = DBK_SZ4, all = DBK_SZ1 | DBK_SZ2 | DBK_SZ4;

	shim_init();
	SHIM_MAP(allow);
	CHECK(run(a, 4, 2) == 0, "the command register: allowed");
	CHECK(run(a, 0xc0, 4) == EPERM, "0xc0 with an empty allow-list: EPERM");
	CHECK(run(a, 0x3c, 1) == EPERM, "interrupt line: EPERM");
	shim_update(&allow, &k, &four, BPF_ANY);
	CHECK(run(a, 0xc0, 4) == 0, "0xc0 allowed for device A, 4 bytes: allowed");
	CHECK(run(a, 0xc0, 2) == EPERM, "0xc0 2 bytes (only 4 listed): EPERM");
	CHECK(run(a, 0xc4, 4) == EPERM, "0xc4 (not listed): EPERM");
	CHECK(run(b, 0xc0, 4) == EPERM, "0xc0 on device B (listed for A only): EPERM");
	k.dev = DBK_ANY_DEV;
	k.offset = 0xd0;
	shim_update(&allow, &k, &all, BPF_ANY);
	CHECK(run(a, 0xd0, 1) == 0 && run(b, 0xd0, 2) == 0, "0xd0 listed for any device: allowed on both");
	return tap_done();
}
