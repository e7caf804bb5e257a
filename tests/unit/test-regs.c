/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Region arithmetic and register access routing: offset encoding, which
 * accesses go through a mapping and which are mediated (pread/pwrite of
 * exactly the access width at DBK_REGION_OFFSET(bar) + off), and width,
 * alignment and range validation, against a fake grant (fake-kernel.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake-kernel.h"

/* ---- pure arithmetic ---- */

static void test_offset_encoding(void **state)
{
	uint64_t f = 0;

	(void)state;
	assert_int_equal(DBK_REGION_OFFSET(0), 0);
	assert_true(DBK_REGION_OFFSET(1) == 1ULL << 40);
	assert_true(DBK_REGION_OFFSET(DBK_REGION_CONFIG) == 7ULL << 40);
	assert_int_equal(DBK_OFFSET_TO_REGION(DBK_REGION_OFFSET(5) + 0x1234), 5);
	assert_true(DBK_OFFSET_IN_REGION(DBK_REGION_OFFSET(5) + 0x1234) == 0x1234);

	assert_int_equal(dbk__file_offset(3, 0x10, &f), 0);
	assert_true(f == (3ULL << 40) + 0x10);
	assert_int_equal(dbk__file_offset(DBK_REGION_CONFIG, 0xfff, &f), 0);
	assert_true(f == (7ULL << 40) + 0xfff);
	/* An offset reaching into the next region is refused... */
	assert_int_equal(dbk__file_offset(0, 1ULL << 40, &f), -EINVAL);
	assert_int_equal(dbk__file_offset(0, UINT64_MAX, &f), -EINVAL);
	/* ...and so is a region index whose offset would not fit in off_t. */
	assert_int_equal(dbk__file_offset(1u << 23, 0, &f), -EINVAL);
	assert_int_equal(dbk__file_offset(UINT32_MAX, 0, &f), -EINVAL);
	assert_int_equal(dbk__file_offset((1u << 23) - 1, 0, &f), 0);
	assert_true(f <= (uint64_t)INT64_MAX);
}

static void test_check_range(void **state)
{
	(void)state;
	/* widths */
	assert_int_equal(dbk__check_range(0x100, 0, 1), 0);
	assert_int_equal(dbk__check_range(0x100, 0, 2), 0);
	assert_int_equal(dbk__check_range(0x100, 0, 4), 0);
	assert_int_equal(dbk__check_range(0x100, 0, 8), 0);
	assert_int_equal(dbk__check_range(0x100, 0, 0), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 0, 3), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 0, 16), -EINVAL);
	/* alignment */
	assert_int_equal(dbk__check_range(0x100, 1, 1), 0);
	assert_int_equal(dbk__check_range(0x100, 1, 2), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 2, 4), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 4, 8), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 8, 8), 0);
	/* the end of the region, exactly */
	assert_int_equal(dbk__check_range(0x100, 0xfc, 4), 0);
	assert_int_equal(dbk__check_range(0x100, 0x100, 4), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, 0xf8, 8), 0);
	assert_int_equal(dbk__check_range(0x100, 0xff, 1), 0);
	assert_int_equal(dbk__check_range(0x100, 0x100, 1), -EINVAL);
	/* empty and tiny regions */
	assert_int_equal(dbk__check_range(0, 0, 1), -EINVAL);
	assert_int_equal(dbk__check_range(2, 0, 4), -EINVAL);
	/* near UINT64_MAX: no wrap-around */
	assert_int_equal(dbk__check_range(0x100, UINT64_MAX - 7, 8), -EINVAL);
	assert_int_equal(dbk__check_range(0x100, UINT64_MAX & ~3ULL, 4), -EINVAL);
	assert_int_equal(dbk__check_range(UINT64_MAX, UINT64_MAX - 7, 8), -EINVAL);
	assert_int_equal(dbk__check_range(UINT64_MAX, UINT64_MAX - 8 - 7, 8), 0);
}

static void test_find_map(void **state)
{
	static uint8_t mem[0x3000];
	struct dbk_region r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.size = 0x10000;
	r.nr_maps = 2;
	r.maps[0].offset = 0x1000;
	r.maps[0].size = 0x1000;
	r.maps[0].addr = mem;
	r.maps[1].offset = 0x4000;
	r.maps[1].size = 0x2000;
	r.maps[1].addr = mem + 0x1000;

	assert_null(dbk__find_map(&r, 0x0, 4));
	assert_null(dbk__find_map(&r, 0xffc, 4));
	assert_ptr_equal(dbk__find_map(&r, 0x1000, 4), &r.maps[0]);
	assert_ptr_equal(dbk__find_map(&r, 0x1ff8, 8), &r.maps[0]);
	assert_ptr_equal(dbk__find_map(&r, 0x1fff, 1), &r.maps[0]);
	assert_null(dbk__find_map(&r, 0x2000, 1));
	/* an (unaligned) access straddling the end of an area is not mapped */
	assert_null(dbk__find_map(&r, 0x1ffe, 4));
	assert_ptr_equal(dbk__find_map(&r, 0x5ffc, 4), &r.maps[1]);
	assert_null(dbk__find_map(&r, 0x6000, 4));
	assert_null(dbk__find_map(&r, UINT64_MAX - 3, 4));
}

/* ---- routing against the fake grant ---- */

static int setup(void **state)
{
	struct dbk_dev *dev;

	fake_init();
	assert_int_equal(dbk__dev_adopt_sys(fk.fd, &fake_sys, &dev), 0);
	*state = dev;
	return 0;
}

static int teardown(void **state)
{
	dbk_dev_free(*state);	/* closes fk.fd */
	fk.fd = -1;
	fake_fini();
	return 0;
}

static uint64_t file_u64(uint32_t region, uint64_t off, unsigned int width)
{
	uint64_t v = 0;

	assert_int_equal(pread(fk.fd, &v, width, (off_t)(DBK_REGION_OFFSET(region) + off)),
			 (ssize_t)width);
	return v;
}

static void test_adopt_maps_areas(void **state)
{
	struct dbk_dev *dev = *state;
	uint64_t size = 0;

	assert_int_equal(dbk_dev_get_bar_size(dev, 0, &size), 0);
	assert_true(size == 0x4000);
	assert_int_equal(dbk_dev_get_bar_size(dev, 1, &size), 0);
	assert_true(size == 0);
	/* [0x1000, 0x3000) was reported mmap()able, the rest is mediated */
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x0, 4), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0xffc, 4), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x1000, 4), 1);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x2ff8, 8), 1);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x3000, 4), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x3ffc, 4), 0);
	/* I/O BAR: never mapped */
	assert_int_equal(dbk_dev_access_is_mapped(dev, 2, 0x0, 4), 0);
	/* invalid accesses */
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x4000, 4), -EINVAL);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x1002, 4), -EINVAL);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x1000, 3), -EINVAL);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 1, 0x0, 4), -EINVAL);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 6, 0x0, 4), -EINVAL);
	assert_int_equal(dbk_dev_access_is_mapped(NULL, 0, 0x0, 4), -EINVAL);
}

static void test_mediated_exact_width(void **state)
{
	struct dbk_dev *dev = *state;
	static const unsigned int widths[] = { 1, 2, 4, 8 };
	uint64_t v;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		unsigned int w = widths[i];
		uint64_t off = 0x100 + 8 * i;
		uint64_t val = 0x8877665544332211ULL & (w == 8 ? ~0ULL : ((1ULL << (8 * w)) - 1));
		unsigned int before = fk.npwrite;

		assert_int_equal(dbk_reg_write(dev, 0, off, w, val), 0);
		assert_int_equal(fk.npwrite, before + 1);
		assert_true(fk.last_rw_off == DBK_REGION_OFFSET(0) + off);
		assert_int_equal(fk.last_rw_len, w);
		assert_true(file_u64(0, off, w) == val);

		before = fk.npread;
		v = 0;
		assert_int_equal(dbk_reg_read(dev, 0, off, w, &v), 0);
		assert_int_equal(fk.npread, before + 1);
		assert_int_equal(fk.last_rw_len, w);
		assert_true(v == val);
	}
}

static void test_mapped_no_syscall(void **state)
{
	struct dbk_dev *dev = *state;
	unsigned int r0 = fk.npread, w0 = fk.npwrite;
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;

	assert_int_equal(dbk_write32(dev, 0, 0x1004, 0xcafef00d), 0);
	assert_int_equal(dbk_write64(dev, 0, 0x2ff8, 0x1122334455667788ULL), 0);
	assert_int_equal(dbk_write16(dev, 0, 0x1010, 0xbeef), 0);
	assert_int_equal(dbk_write8(dev, 0, 0x1013, 0x5a), 0);
	/* the shared mapping is the file: visible there */
	assert_true(file_u64(0, 0x1004, 4) == 0xcafef00d);
	assert_true(file_u64(0, 0x2ff8, 8) == 0x1122334455667788ULL);
	assert_int_equal(dbk_read32(dev, 0, 0x1004, &v32), 0);
	assert_int_equal(v32, 0xcafef00d);
	assert_int_equal(dbk_read64(dev, 0, 0x2ff8, &v64), 0);
	assert_true(v64 == 0x1122334455667788ULL);
	assert_int_equal(dbk_read16(dev, 0, 0x1010, &v16), 0);
	assert_int_equal(v16, 0xbeef);
	assert_int_equal(dbk_read8(dev, 0, 0x1013, &v8), 0);
	assert_int_equal(v8, 0x5a);
	/* no pread/pwrite for any of that */
	assert_int_equal(fk.npread, r0);
	assert_int_equal(fk.npwrite, w0);
}

static void test_both_paths_one_view(void **state)
{
	struct dbk_dev *dev = *state;
	uint32_t v = 0;

	/* written mediated at the area's edge, read right after it mapped */
	assert_int_equal(dbk_write32(dev, 0, 0xffc, 0x11111111), 0);
	assert_int_equal(dbk_write32(dev, 0, 0x1000, 0x22222222), 0);
	assert_int_equal(dbk_read32(dev, 0, 0xffc, &v), 0);
	assert_int_equal(v, 0x11111111);
	assert_int_equal(dbk_read32(dev, 0, 0x1000, &v), 0);
	assert_int_equal(v, 0x22222222);
	assert_true(file_u64(0, 0x1000, 4) == 0x22222222);
}

static void test_access_validation(void **state)
{
	struct dbk_dev *dev = *state;
	unsigned int r0 = fk.npread, w0 = fk.npwrite;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	/* bad widths */
	assert_int_equal(dbk_reg_read(dev, 0, 0, 3, &v64), -EINVAL);
	assert_int_equal(dbk_reg_read(dev, 0, 0, 0, &v64), -EINVAL);
	assert_int_equal(dbk_reg_write(dev, 0, 0, 16, 0), -EINVAL);
	/* unaligned */
	assert_int_equal(dbk_read16(dev, 0, 0x1, &v16), -EINVAL);
	assert_int_equal(dbk_read32(dev, 0, 0x2, &v32), -EINVAL);
	assert_int_equal(dbk_read64(dev, 0, 0x1004, &v64), -EINVAL);
	assert_int_equal(dbk_write32(dev, 0, 0x1002, 0), -EINVAL);
	/* past the end, and near UINT64_MAX */
	assert_int_equal(dbk_read32(dev, 0, 0x4000, &v32), -EINVAL);
	assert_int_equal(dbk_read64(dev, 0, 0x3ffc, &v64), -EINVAL);
	assert_int_equal(dbk_read32(dev, 0, UINT64_MAX - 3, &v32), -EINVAL);
	assert_int_equal(dbk_read64(dev, 0, UINT64_MAX - 7, &v64), -EINVAL);
	assert_int_equal(dbk_write8(dev, 0, UINT64_MAX, 0), -EINVAL);
	assert_int_equal(dbk_read32(dev, 0, 1ULL << 40, &v32), -EINVAL);
	/* absent and impossible BARs */
	assert_int_equal(dbk_read32(dev, 1, 0, &v32), -EINVAL);
	assert_int_equal(dbk_read32(dev, 6, 0, &v32), -EINVAL);
	assert_int_equal(dbk_read32(dev, UINT32_MAX, 0, &v32), -EINVAL);
	/* NULL */
	assert_int_equal(dbk_read32(dev, 0, 0, NULL), -EINVAL);
	assert_int_equal(dbk_read32(NULL, 0, 0, &v32), -EINVAL);
	assert_int_equal(dbk_write32(NULL, 0, 0, 0), -EINVAL);
	assert_int_equal(dbk_reg_read(dev, 0, 0, 4, NULL), -EINVAL);
	/* read-only BAR2: no write */
	assert_int_equal(dbk_write32(dev, 2, 0, 0), -EACCES);
	assert_int_equal(dbk_read32(dev, 2, 0, &v32), 0);
	/* config space: 256 bytes, same rules */
	assert_int_equal(dbk_cfg_read32(dev, 0x100, &v32), -EINVAL);
	assert_int_equal(dbk_cfg_read32(dev, 0x2, &v32), -EINVAL);
	assert_int_equal(dbk_cfg_read16(dev, 0xff, &v16), -EINVAL);
	assert_int_equal(dbk_cfg_read32(NULL, 0, &v32), -EINVAL);
	assert_int_equal(dbk_cfg_read32(dev, 0, NULL), -EINVAL);
	assert_int_equal(dbk_cfg_write16(dev, UINT32_MAX - 1, 0), -EINVAL);
	/* none of those reached the "kernel" except the one valid BAR2 read */
	assert_int_equal(fk.npread, r0 + 1);
	assert_int_equal(fk.npwrite, w0);
}

static void test_config_space(void **state)
{
	struct dbk_dev *dev = *state;
	uint16_t cmd = 0;
	uint32_t v = 0;

	assert_int_equal(dbk_cfg_write32(dev, 0x10, 0xfeedface), 0);
	assert_true(fk.last_rw_off == DBK_REGION_OFFSET(DBK_REGION_CONFIG) + 0x10);
	assert_int_equal(fk.last_rw_len, 4);
	assert_int_equal(dbk_cfg_read32(dev, 0x10, &v), 0);
	assert_int_equal(v, 0xfeedface);
	assert_int_equal(dbk_cfg_read32(dev, 0xfc, &v), 0);
	/* bus master: read-modify-write of the command register's bit 2 */
	assert_int_equal(dbk_cfg_write16(dev, 0x04, 0x0002), 0);
	assert_int_equal(dbk_dev_set_bus_master(dev, 1), 0);
	assert_int_equal(dbk_cfg_read16(dev, 0x04, &cmd), 0);
	assert_int_equal(cmd, 0x0006);
	assert_int_equal(dbk_dev_set_bus_master(dev, 0), 0);
	assert_int_equal(dbk_cfg_read16(dev, 0x04, &cmd), 0);
	assert_int_equal(cmd, 0x0002);
}

static void test_enodev_marks_revoked(void **state)
{
	struct dbk_dev *dev = *state;
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	unsigned int n;
	uint32_t v = 0;

	assert_int_equal(dbk_dev_is_revoked(dev), 0);
	fk.fail_errno = EIO;
	assert_int_equal(dbk_read32(dev, 0, 0, &v), -EIO);
	assert_int_equal(dbk_dev_is_revoked(dev), 0);
	fk.fail_errno = ENODEV;
	assert_int_equal(dbk_read32(dev, 0, 0, &v), -ENODEV);
	assert_int_equal(dbk_dev_is_revoked(dev), 1);
	/* from now on nothing reaches the kernel, even when it would answer */
	fk.fail_errno = 0;
	n = fk.npread + fk.npwrite + fk.nioctl;
	assert_int_equal(dbk_read32(dev, 0, 0, &v), -ENODEV);
	assert_int_equal(dbk_read32(dev, 0, 0x1000, &v), -ENODEV);	/* mapped too */
	assert_int_equal(dbk_write32(dev, 0, 0x1000, 1), -ENODEV);
	assert_int_equal(dbk_cfg_read32(dev, 0, &v), -ENODEV);
	assert_int_equal(dbk_dev_get_grant_info(dev, &gi), -ENODEV);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1), -ENODEV);
	assert_int_equal(fk.npread + fk.npwrite + fk.nioctl, n);
	/* argument errors still win */
	assert_int_equal(dbk_read32(dev, 0, 2, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_encoding),
		cmocka_unit_test(test_check_range),
		cmocka_unit_test(test_find_map),
		cmocka_unit_test_setup_teardown(test_adopt_maps_areas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mediated_exact_width, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapped_no_syscall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_paths_one_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enodev_marks_revoked, setup, teardown),
	};

	return cmocka_run_group_tests_name("libdev regions and accessors", tests, NULL, NULL);
}
