/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Argument validation of libdev's public API, and the ioctl-level behaviour
 * of adoption, interrupts and DMA against a fake grant (fake-kernel.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake-kernel.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

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
	dbk_dev_free(*state);
	fk.fd = -1;
	fake_fini();
	return 0;
}

static void test_version(void **state)
{
	char major[16];

	(void)state;
	assert_non_null(dbk_sdk_version());
	assert_string_equal(dbk_sdk_version(), SDK_VERSION_FOR_TEST);
	/* The header's major is the SONAME's. */
	snprintf(major, sizeof(major), "%d.", DBK_SDK_VERSION_MAJOR);
	assert_true(strncmp(dbk_sdk_version(), major, strlen(major)) == 0);
}

static void test_null_and_bad_args(void **state)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_region_info ri = { .argsz = sizeof(ri) };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	struct dbk_dma_buf *buf;
	struct dbk_cuse *cuse;
	struct dbk_cuse_ops ops = { 0 };
	struct dbk_dev *dev;
	uint64_t size;
	size_t n = 0;
	int fd;

	(void)state;
	assert_int_equal(dbk_dev_adopt(-1, &dev), -EINVAL);
	assert_int_equal(dbk_dev_adopt(0, NULL), -EINVAL);
	dbk_dev_free(NULL);
	assert_int_equal(dbk_dev_get_fd(NULL), -EINVAL);
	assert_int_equal(dbk_dev_is_revoked(NULL), -EINVAL);
	assert_int_equal(dbk_dev_get_device_info(NULL, &di), -EINVAL);
	assert_int_equal(dbk_dev_get_grant_info(NULL, &gi), -EINVAL);
	assert_int_equal(dbk_dev_get_region_info(NULL, 0, &ri, NULL, 0), -EINVAL);
	assert_int_equal(dbk_dev_get_irq_info(NULL, 0, &ii), -EINVAL);
	assert_int_equal(dbk_dev_get_bar_size(NULL, 0, &size), -EINVAL);
	assert_int_equal(dbk_dev_set_bus_master(NULL, 1), -EINVAL);
	assert_int_equal(dbk_irq_enable(NULL, DBK_IRQ_INDEX_MSI, 1), -EINVAL);
	assert_int_equal(dbk_irq_disable(NULL), -EINVAL);
	assert_int_equal(dbk_irq_get_fd(NULL, 0), -EINVAL);
	assert_int_equal(dbk_irq_wait(NULL, 0, 0), -EINVAL);
	assert_int_equal(dbk_irq_unmask(NULL), -EINVAL);
	assert_int_equal(dbk_dma_buf_alloc(NULL, 4096, &buf), -EINVAL);
	assert_int_equal(dbk_dma_buf_free(NULL), 0);
	assert_null(dbk_dma_buf_get_vaddr(NULL));
	assert_true(dbk_dma_buf_get_iova(NULL) == 0);
	assert_int_equal(dbk_dma_buf_get_size(NULL), 0);
	assert_int_equal(dbk_dma_map_mem(NULL, (void *)4096, 0, 4096, 0), -EINVAL);
	assert_int_equal(dbk_dma_unmap_mem(NULL, 0, 4096), -EINVAL);
	assert_int_equal(dbk_send_fds(-1, "x", 1, NULL, 0), -EINVAL);
	assert_int_equal(dbk_recv_fds(-1, NULL, 0, NULL, &n), -EINVAL);
	assert_int_equal(dbk_cuse_run(NULL), -EINVAL);
	assert_int_equal(dbk_cuse_stop(NULL), -EINVAL);
	dbk_cuse_free(NULL);

	/* CUSE: bad fd and bad names fail before anything is opened */
	assert_int_equal(dbk_cuse_new(-1, "x", &ops, NULL, &cuse), -EINVAL);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(dbk_cuse_new(fd, NULL, &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "", &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "../evil", &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "a/b", &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, ".hidden", &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "sp ace", &ops, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "edu0", NULL, NULL, &cuse), -EINVAL);
	assert_int_equal(dbk_cuse_new(fd, "edu0", &ops, NULL, NULL), -EINVAL);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);	/* left open */
	close(fd);
	assert_int_equal(dbk_cuse_new(fd, "edu0", &ops, NULL, &cuse), -EINVAL);	/* closed fd */
}

/* dbk_dev_open_vfio(): what it refuses before VFIO is reached. */
static void test_open_vfio_args(void **state)
{
	static const char *const bad[] = {
		"", "0000:00:04", "00:04", "0000:00:04.8", "0000:00:20.0",
		"10000:00:04.0", "0000:100:04.0", "0000:00:04.0x", "zz:00.0",
		"0000:00:04.0 ", "0000:00:04.0/../../x",
	};
	struct dbk_dev *dev = (struct dbk_dev *)0x1;
	int fds = count_fds();
	size_t i;

	(void)state;
	assert_int_equal(dbk_dev_open_vfio(NULL, &dev), -EINVAL);
	assert_int_equal(dbk_dev_open_vfio("0000:00:04.0", NULL), -EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = dbk_dev_open_vfio(bad[i], &dev);

		if (r != -EINVAL)
			fail_msg("\"%s\": %d, want -EINVAL", bad[i], r);
	}
	/* Well formed, in both spellings, but no such device here. */
	assert_int_equal(dbk_dev_open_vfio("ffff:ff:1f.7", &dev), -ENODEV);
	assert_int_equal(dbk_dev_open_vfio("ff:1f.7", &dev), -ENODEV);
	assert_ptr_equal(dev, (struct dbk_dev *)0x1);		/* untouched */
	assert_int_equal(count_fds(), fds);

	/* dbk_dev_adopt_vfio(): a group fd it cannot use is left open. */
	{
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(dbk_dev_adopt_vfio(-1, "00:04.0", &dev), -EINVAL);
		assert_int_equal(dbk_dev_adopt_vfio(fd, NULL, &dev), -EINVAL);
		assert_int_equal(dbk_dev_adopt_vfio(fd, "00:04.0", NULL), -EINVAL);
		assert_int_equal(dbk_dev_adopt_vfio(fd, "00:04", &dev), -EINVAL);
		assert_int_equal(dbk_dev_adopt_vfio(fd, "00:04.0", &dev), -EINVAL);	/* not a group */
		assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);			/* still open */
		close(fd);
		assert_ptr_equal(dev, (struct dbk_dev *)0x1);
		assert_int_equal(count_fds(), fds);
	}
}

static void test_adopt_not_devbroker(void **state)
{
	struct dbk_dev *dev = (struct dbk_dev *)0x1;
	int fd;

	(void)state;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(dbk_dev_adopt(fd, &dev), -ENOTTY);
	assert_ptr_equal(dev, (struct dbk_dev *)0x1);		/* untouched */
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);	/* still open */
	close(fd);
}

static void test_adopt_device_fd_refused(void **state)
{
	struct dbk_dev *dev = NULL;

	(void)state;
	fake_init();
	fk.is_device_fd = true;
	assert_int_equal(dbk__dev_adopt_sys(fk.fd, &fake_sys, &dev), -EINVAL);
	assert_null(dev);
	assert_true(fcntl(fk.fd, F_GETFD) >= 0);	/* not closed on failure */
	fake_fini();
}

static void test_adopt_revoked(void **state)
{
	struct dbk_dev *dev = NULL;

	(void)state;
	fake_init();
	fk.fail_errno = ENODEV;
	assert_int_equal(dbk__dev_adopt_sys(fk.fd, &fake_sys, &dev), -ENODEV);
	assert_null(dev);
	fake_fini();
}

static void test_adopt_ignores_bad_areas(void **state)
{
	struct dbk_dev *dev = NULL;

	(void)state;
	fake_init();
	fk.nr_areas[0] = 4;
	fk.areas[0][0] = (struct dbk_area){ 0x1000, 0x1000 };	/* good */
	fk.areas[0][1] = (struct dbk_area){ 0x2800, 0x1000 };	/* unaligned */
	fk.areas[0][2] = (struct dbk_area){ 0x3000, 0x2000 };	/* past the end */
	fk.areas[0][3] = (struct dbk_area){ UINT64_MAX & ~0xfffULL, 0x1000 }; /* wraps */
	assert_int_equal(dbk__dev_adopt_sys(fk.fd, &fake_sys, &dev), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x1000, 4), 1);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x2800, 4), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x3000, 4), 0);
	dbk_dev_free(dev);
	fk.fd = -1;
	fake_fini();
}

static void test_adopt_respects_mmap_mask(void **state)
{
	struct dbk_dev *dev = NULL;

	(void)state;
	fake_init();
	fk.mmap_mask = 0;	/* areas reported, but the grant says no mmap */
	assert_int_equal(dbk__dev_adopt_sys(fk.fd, &fake_sys, &dev), 0);
	assert_int_equal(dbk_dev_access_is_mapped(dev, 0, 0x1000, 4), 0);
	dbk_dev_free(dev);
	fk.fd = -1;
	fake_fini();
}

static void test_info_wrappers(void **state)
{
	struct dbk_dev *dev = *state;
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_region_info ri = { .argsz = sizeof(ri) };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	struct dbk_area areas[2];
	unsigned int n;

	assert_int_equal(dbk_dev_get_device_info(dev, &di), 0);
	assert_int_equal(di.argsz, sizeof(di));
	assert_true(di.flags & DBK_DEVICE_INFO_F_GRANT);
	assert_int_equal(di.vendor, 0x1234);
	assert_int_equal(dbk_dev_get_grant_info(dev, &gi), 0);
	assert_int_equal(gi.bar_mask, 0x5);
	assert_int_equal(dbk_dev_get_region_info(dev, 0, &ri, areas, 2), 0);
	assert_true(ri.size == 0x4000);
	assert_int_equal(ri.nr_areas, 1);
	assert_true(areas[0].offset == 0x1000 && areas[0].size == 0x2000);
	assert_int_equal(dbk_dev_get_region_info(dev, 0, &ri, NULL, 2), -EINVAL);
	assert_int_equal(dbk_dev_get_region_info(dev, DBK_REGION_DMA_FIRST, &ri, NULL, 0), -EINVAL);
	assert_int_equal(dbk_dev_get_region_info(dev, 3, &ri, NULL, 0), 0);
	assert_true(ri.size == 0);
	assert_int_equal(dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSI, &ii), 0);
	assert_int_equal(ii.count, 4);
	assert_int_equal(dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_COUNT, &ii), -EINVAL);
	assert_int_equal(dbk_dev_get_device_info(dev, NULL), -EINVAL);
	/* The caller's argsz sizes its struct: too short is refused unasked. */
	n = fk.nioctl;
	gi.argsz = 0;
	assert_int_equal(dbk_dev_get_grant_info(dev, &gi), -EINVAL);
	ii.argsz = sizeof(ii) - 1;
	assert_int_equal(dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSI, &ii), -EINVAL);
	di.argsz = offsetof(struct dbk_device_info, reserved);
	assert_int_equal(dbk_dev_get_device_info(dev, &di), -EINVAL);
	assert_int_equal(fk.nioctl, n);
	gi.argsz = DBK_ARGSZ_MAX + 1;
	assert_int_equal(dbk_dev_get_grant_info(dev, &gi), -E2BIG);
	assert_int_equal(fk.nioctl, n);
	/* An argsz that is garbage (forgotten) never makes the library write past its struct. */
	{
		union {
			struct dbk_grant_info gi;
			unsigned char raw[sizeof(struct dbk_grant_info) + 64];
		} u;
		size_t i;

		memset(&u, 0xa5, sizeof(u));
		u.gi.argsz = DBK_ARGSZ_MAX;
		dbk_dev_get_grant_info(dev, &u.gi);
		for (i = sizeof(u.gi); i < sizeof(u.raw); i++)
			assert_int_equal(u.raw[i], 0xa5);
	}
}

static void test_irq(void **state)
{
	struct dbk_dev *dev = *state;
	int fds[4], i;

	assert_int_equal(dbk_irq_get_fd(dev, 0), -EINVAL);	/* nothing enabled */
	assert_int_equal(dbk_irq_wait(dev, 0, 0), -EINVAL);
	assert_int_equal(dbk_irq_unmask(dev), -EINVAL);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 0), -EINVAL);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 2), -EINVAL);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_COUNT, 1), -EINVAL);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSIX, 100000), -EINVAL);
	assert_int_equal(dbk_irq_disable(dev), 0);		/* harmless */

	/* the kernel refuses 5 vectors: nothing is left enabled or open */
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSIX, 5), -EINVAL);
	assert_int_equal(dbk_irq_get_fd(dev, 0), -EINVAL);

	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSIX, 4), 0);
	assert_int_equal(fk.last_irq_set.argsz, sizeof(struct dbk_irq_set));
	assert_int_equal(fk.last_irq_set.flags, DBK_IRQ_SET_TRIGGER);
	assert_int_equal(fk.last_irq_set.index, DBK_IRQ_INDEX_MSIX);
	assert_int_equal(fk.last_irq_set.start, 0);
	assert_int_equal(fk.last_irq_set.count, 4);
	for (i = 0; i < 4; i++) {
		fds[i] = dbk_irq_get_fd(dev, (uint32_t)i);
		assert_true(fds[i] >= 0);
		assert_int_equal(fds[i], fk.irq_fds[i]);
		assert_int_equal(fcntl(fds[i], F_GETFD), FD_CLOEXEC);
	}
	assert_int_equal(dbk_irq_get_fd(dev, 4), -EINVAL);
	assert_int_equal(dbk_irq_unmask(dev), -EINVAL);		/* not INTx */

	/* nothing pending: time out, after the given time */
	assert_int_equal(dbk_irq_wait(dev, 1, 0), -ETIMEDOUT);
	assert_int_equal(dbk_irq_wait(dev, 1, 30), -ETIMEDOUT);
	fake_fire(1);
	fake_fire(1);
	fake_fire(2);
	assert_int_equal(dbk_irq_wait(dev, 1, 1000), 2);	/* counts coalesce */
	assert_int_equal(dbk_irq_wait(dev, 1, 0), -ETIMEDOUT);	/* consumed */
	assert_int_equal(dbk_irq_wait(dev, 0, 0), -ETIMEDOUT);
	assert_int_equal(dbk_irq_wait(dev, 2, -1), 1);
	assert_int_equal(dbk_irq_wait(dev, 9, 0), -EINVAL);

	/* a timeout on a revoked grant says -ENODEV */
	fk.fail_errno = ENODEV;
	assert_int_equal(dbk_irq_wait(dev, 3, 10), -ENODEV);
	assert_int_equal(dbk_dev_is_revoked(dev), 1);
	fk.fail_errno = 0;
	/* disabling a revoked grant's interrupts still closes the eventfds */
	assert_int_equal(dbk_irq_disable(dev), -ENODEV);
	assert_int_equal(dbk_irq_get_fd(dev, 0), -EINVAL);
	for (i = 0; i < 4; i++)
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
}

static void test_irq_switch_and_intx(void **state)
{
	struct dbk_dev *dev = *state;
	int base = count_fds();

	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 2), 0);
	assert_int_equal(count_fds(), base + 2);
	assert_int_equal(dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 1), 0);
	assert_int_equal(count_fds(), base + 1);	/* the MSI eventfds are gone */
	assert_int_equal(fk.irq_enabled_index, DBK_IRQ_INDEX_INTX);
	assert_int_equal(dbk_irq_unmask(dev), 0);
	assert_int_equal(fk.last_irq_set.flags, DBK_IRQ_SET_UNMASK);
	assert_int_equal(fk.last_irq_set.index, DBK_IRQ_INDEX_INTX);
	assert_int_equal(fk.last_irq_set.count, 0);
	assert_int_equal(dbk_irq_disable(dev), 0);
	assert_int_equal(fk.last_irq_set.count, 0);
	assert_int_equal(fk.irq_enabled_count, 0);
	assert_int_equal(count_fds(), base);
}

static void test_dma(void **state)
{
	struct dbk_dev *dev = *state;
	struct dbk_dma_buf *a = NULL, *b = NULL;
	long ps = sysconf(_SC_PAGESIZE);
	void *own;

	assert_int_equal(dbk_dma_buf_alloc(dev, 0, &a), -EINVAL);
	assert_int_equal(dbk_dma_buf_alloc(dev, SIZE_MAX, &a), -EINVAL);
	assert_int_equal(dbk_dma_buf_alloc(dev, 100, NULL), -EINVAL);

	assert_int_equal(dbk_dma_buf_alloc(dev, 100, &a), 0);
	assert_true(fk.last_alloc_size == (uint64_t)ps);	/* rounded by libdev */
	assert_int_equal(dbk_dma_buf_get_size(a), (size_t)ps);
	assert_true(dbk_dma_buf_get_iova(a) == 0x100000);
	/* the mapping is the buffer's region of the grant fd */
	memset(dbk_dma_buf_get_vaddr(a), 0x77, 100);
	{
		unsigned char c = 0;

		assert_int_equal(pread(fk.fd, &c, 1, (off_t)DBK_REGION_OFFSET(DBK_REGION_DMA_FIRST) + 99), 1);
		assert_int_equal(c, 0x77);
	}
	assert_int_equal(dbk_dma_buf_alloc(dev, (size_t)ps + 1, &b), 0);
	assert_true(fk.last_alloc_size == 2 * (uint64_t)ps);
	assert_int_equal(dbk_dma_buf_free(a), 0);
	assert_true(fk.last_unmap.iova == 0x100000);
	assert_true(fk.last_unmap.size == (uint64_t)ps);
	assert_int_equal(fk.last_unmap.argsz, sizeof(struct dbk_dma_unmap));
	/* b is freed by dbk_dev_free() in teardown */

	fk.grant_flags &= ~DBK_GRANT_F_DMA;
	assert_int_equal(dbk_dma_buf_alloc(dev, 100, &a), -EPERM);
	fk.grant_flags |= DBK_GRANT_F_DMA;

	own = mmap(NULL, (size_t)ps * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(own != MAP_FAILED);
	assert_int_equal(dbk_dma_map_mem(dev, own, 0x200000, (size_t)ps, DBK_DMA_MAP_F_READ), 0);
	assert_true(fk.last_map.vaddr == (uintptr_t)own);
	assert_true(fk.last_map.iova == 0x200000);
	assert_true(fk.last_map.size == (uint64_t)ps);
	assert_int_equal(fk.last_map.flags, DBK_DMA_MAP_F_READ);
	assert_int_equal(dbk_dma_map_mem(dev, (char *)own + 1, 0x200000, (size_t)ps, 0), -EINVAL);
	assert_int_equal(dbk_dma_map_mem(dev, own, 0x200001, (size_t)ps, 0), -EINVAL);
	assert_int_equal(dbk_dma_map_mem(dev, own, 0x200000, (size_t)ps + 1, 0), -EINVAL);
	assert_int_equal(dbk_dma_map_mem(dev, own, 0x200000, 0, 0), -EINVAL);
	assert_int_equal(dbk_dma_map_mem(dev, own, 0x200000, (size_t)ps, 0x4), -EINVAL);
	assert_int_equal(dbk_dma_map_mem(dev, own, UINT64_MAX & ~((uint64_t)ps - 1), (size_t)ps * 2,
					 DBK_DMA_MAP_F_READ), -EINVAL);	/* IOVA wraps */
	assert_int_equal(dbk_dma_unmap_mem(dev, 0x200000, (size_t)ps), 0);
	assert_true(fk.last_unmap.iova == 0x200000);
	assert_int_equal(dbk_dma_unmap_mem(dev, 0x200000, 0), -EINVAL);
	munmap(own, (size_t)ps * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_null_and_bad_args),
		cmocka_unit_test(test_open_vfio_args),
		cmocka_unit_test(test_adopt_not_devbroker),
		cmocka_unit_test(test_adopt_device_fd_refused),
		cmocka_unit_test(test_adopt_revoked),
		cmocka_unit_test(test_adopt_ignores_bad_areas),
		cmocka_unit_test(test_adopt_respects_mmap_mask),
		cmocka_unit_test_setup_teardown(test_info_wrappers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_switch_and_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma, setup, teardown),
	};

	return cmocka_run_group_tests_name("libdev API", tests, NULL, NULL);
}
