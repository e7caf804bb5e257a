// SPDX-License-Identifier: GPL-2.0-only
/* edu_firewall's table, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/edu_firewall.bpf.c"

static int acc(struct dbk_policy_dev dev, int write, unsigned int width, __u64 off, __u32 bar)
{
	struct dbk_policy_access_ctx a = {
		.version = DBK_POLICY_VERSION, .flags = write ? DBK_POLICY_F_WRITE : 0,
		.dev = dev, .bar = bar, .width = width, .offset = off,
	};

	RUN(edu_firewall, &a);
	return a.verdict & DBK_POLICY_DENY ? a.error : 0;
}

/* Every register x width x direction against the allow-list. */
static const struct { __u64 off; const char *r, *w; } table[] = {
	/* widths allowed for reads and for writes, as "1248" */
	{ 0x00, "4", "" },   { 0x04, "4", "4" },  { 0x08, "4", "4" },  { 0x0c, "", "" },
	{ 0x20, "4", "4" },  { 0x24, "4", "" },   { 0x28, "", "" },    { 0x60, "", "4" },
	{ 0x64, "", "4" },   { 0x68, "", "" },    { 0x80, "48", "48" }, { 0x84, "", "" },
	{ 0x88, "48", "48" }, { 0x90, "48", "48" }, { 0x98, "48", "48" }, { 0x9c, "", "" },
	{ 0xa0, "", "" },    { 0x1000, "", "" },  { 0x40000, "", "" },
};

int main(void)
{
	static const unsigned int widths[] = { 1, 2, 4, 8 };
	struct dbk_policy_dev edu = shim_dev(0x1234, 0x11e8, 0x20), edu2 = shim_dev(0x1234, 0x11e8, 0x28);
	unsigned int i, j, bad = 0, n = 0;
	__u32 zero = 0, one = 1;
	__u64 k;

	shim_init();
	SHIM_MAP(scope);
	SHIM_MAP(devices);
	for (i = 0; i < DBK_ARRAY_SIZE(table); i++)
		for (j = 0; j < 4; j++) {
			char c = '0' + widths[j];
			int rexp = strchr(table[i].r, c) ? 0 : EPERM;
			int wexp = strchr(table[i].w, c) ? 0 : EPERM;

			n += 2;
			if (acc(edu, 0, widths[j], table[i].off, 0) != rexp ||
			    acc(edu, 1, widths[j], table[i].off, 0) != wexp) {
				printf("# 0x%llx width %u: unexpected\n", (unsigned long long)table[i].off,
				       widths[j]);
				bad++;
			}
		}
	CHECK(!bad, "%u register/width/direction cases match the allow-list", n);
	CHECK(acc(edu, 0, 4, 0x00, 1) == EPERM, "BAR1 is not edu's: EPERM");
	CHECK(acc(shim_dev(0x8086, 0x10d3, 0x18), 1, 2, 0x4, 0) == 0, "another device: untouched");

	shim_update(&scope, &zero, &one, BPF_ANY);
	CHECK(acc(edu, 1, 4, 0x100, 0) == 0 && acc(edu2, 1, 4, 0x100, 0) == 0,
	      "scope 1 with no device listed: no edu device is filtered");
	k = dbk_dev_key(&edu2);
	shim_update(&devices, &k, &one, BPF_ANY);
	CHECK(acc(edu, 1, 4, 0x100, 0) == 0 && acc(edu2, 1, 4, 0x100, 0) == EPERM,
	      "scope 1 with the second edu listed: only that one is filtered");
	shim_update(&scope, &zero, &zero, BPF_ANY);
	CHECK(acc(edu, 1, 4, 0x100, 0) == EPERM, "scope 0: every edu device again");
	return tap_done();
}
