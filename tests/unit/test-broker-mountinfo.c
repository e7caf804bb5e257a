/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core's mountinfo reader (broker/mountinfo.c), which the
 * driver's sandbox uses to find the mounts of devbrokerd's nbd disks and
 * detach them as root.  The first test is the review's reproducer
 * (/tmp/rv2-sbx): a user's FUSE mount (through the setuid fusermount3)
 * whose line is longer than 4096 bytes, its subtype ending in
 * "1+1+43:0+x" and its source "/": read with fgets() into 4096 bytes and
 * sscanf("%u"), the rest of the line was a line of its own, naming
 * device 43:0 and mount point "/".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mountinfo.h"

/* Every well-formed line of @text, as "ID PARENT MAJ:MIN MOUNTPOINT\n" lines. */
static char *read_all(const char *text, unsigned long *skipped)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct dbk_mountinfo_reader r = { .f = f };
	struct dbk_mountinfo mi;
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);

	assert_non_null(f);
	assert_non_null(o);
	while (dbk_mountinfo_next(&r, &mi) > 0)
		fprintf(o, "%llu %llu %u:%u %s\n", (unsigned long long)mi.id,
			(unsigned long long)mi.parent, mi.major, mi.minor, mi.mount_point);
	*skipped = r.skipped;
	dbk_mountinfo_done(&r);
	fclose(f);
	fclose(o);
	return out;
}

static void test_overlong_fuse_line(void **state)
{
	char mp[4096], line[16384], want[8192];
	unsigned long skipped;
	int k, pad, pre;
	char *got;

	(void)state;
	/* The reproducer's mount point: /tmp/rv2-fuse, 15 levels of 250 'd's, then mNN. */
	strcpy(mp, "/tmp/rv2-fuse");
	for (k = 0; k < 15; k++) {
		strcat(mp, "/");
		memset(mp + strlen(mp) + 250, 0, 1);
		memset(mp + strlen(mp), 'd', 250);
	}
	strcat(mp, "/m00");
	/* Every alignment of the forged text around the old 4095-byte cut. */
	for (k = -8; k <= 8; k++) {
		char text[20000];

		pre = snprintf(line, sizeof(line), "1234 25 0:52 / %s rw,nosuid,nodev,relatime - fuse.",
			       mp);
		pad = 4095 - pre + k;
		assert_true(pad > 0);
		memset(line + pre, 'a', (size_t)pad);
		snprintf(line + pre + pad, sizeof(line) - (size_t)(pre + pad),
			 "1+1+43:0+x / rw,user_id=65534,group_id=65534\n");
		snprintf(text, sizeof(text), "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n%s"
			 "26 22 0:23 / /proc rw,nosuid - proc proc rw\n", line);
		got = read_all(text, &skipped);
		snprintf(want, sizeof(want), "22 1 8:1 /\n1234 25 0:52 %s\n26 22 0:23 /proc\n", mp);
		assert_string_equal(got, want);
		assert_int_equal(skipped, 0);
		assert_null(strstr(got, " 43:"));
		free(got);
	}
}

/* What sscanf("%*u %*u %u:%u") took, and the kernel never writes. */
static void test_strict_fields(void **state)
{
	static const char *const bad[] = {
		"1+1+43:0+x / rw\n",				/* the forged piece itself */
		"+1 +1 43:0 / / rw - ext4 /dev/nbd0 rw\n",	/* signs */
		"-1 1 43:0 / / rw - ext4 /dev/nbd0 rw\n",
		" 1 1 43:0 / / rw - ext4 /dev/nbd0 rw\n",	/* leading space */
		"1  1 43:0 / / rw - ext4 /dev/nbd0 rw\n",	/* two spaces */
		"1 1 43 :0 / / rw - ext4 /dev/nbd0 rw\n",
		"1 1 43:+0 / / rw - ext4 /dev/nbd0 rw\n",
		"1 1 0x2b:0 / / rw - ext4 /dev/nbd0 rw\n",
		"1 1 4096:0 / / rw - ext4 /dev/nbd0 rw\n",	/* major above 12 bits */
		"1 1 43:1048576 / / rw - ext4 /dev/nbd0 rw\n",	/* minor above 20 bits */
		"18446744073709551616 1 43:0 / / rw - ext4 /dev/nbd0 rw\n",	/* 2^64 */
		"1 1 43:0 / mnt rw - ext4 /dev/nbd0 rw\n",	/* not absolute */
		"1 1 43:0 / /\\000x rw - ext4 /dev/nbd0 rw\n",	/* a NUL in the path */
		"1 1 43:0 / /mnt\n",				/* no field after the mount point */
		"1 1 43:0 /\n",
		"",
	};
	unsigned long skipped;
	unsigned int i;
	char *got;

	(void)state;
	for (i = 0; bad[i][0]; i++) {
		got = read_all(bad[i], &skipped);
		assert_string_equal(got, "");
		assert_int_equal(skipped, 1);
		free(got);
	}
	/* A NUL inside a line, and a last line with no newline (a short read). */
	{
		static const char nul[] = "1 1 43:0 / /mnt rw\0x\n";
		FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
		struct dbk_mountinfo_reader r = { .f = f };
		struct dbk_mountinfo mi;

		assert_int_equal(dbk_mountinfo_next(&r, &mi), 0);
		assert_int_equal(r.skipped, 1);
		dbk_mountinfo_done(&r);
		fclose(f);
	}
	got = read_all("1 1 43:0 / /mnt rw - ext4 /dev/nbd0 rw", &skipped);
	assert_string_equal(got, "");
	assert_int_equal(skipped, 1);
	free(got);
}

static void test_well_formed(void **state)
{
	unsigned long skipped;
	char *got;

	(void)state;
	got = read_all("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		       "1234 22 43:32 / /mnt/a\\040b\\011c\\012d\\134e rw,relatime - ext4 /dev/nbd2 rw\n"
		       "18446744073709551615 4095 4095:1048575 /sub /srv rw master:3 - xfs /dev/x rw\n",
		       &skipped);
	assert_string_equal(got, "22 1 8:1 /\n"
				 "1234 22 43:32 /mnt/a b\tc\nd\\e\n"
				 "18446744073709551615 4095 4095:1048575 /srv\n");
	assert_int_equal(skipped, 0);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlong_fuse_line),
		cmocka_unit_test(test_strict_fields),
		cmocka_unit_test(test_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
