/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Surviving revocation: a page past the end of a memfd raises SIGBUS on
 * access exactly like a zapped devbroker mapping.  With
 * dbk_catch_revocation() the access completes, the device is marked
 * revoked and the accessor returns -ENODEV; a SIGBUS elsewhere goes to the
 * previous handler, or kills the process if there was none.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "libdev-private.h"

static long ps;

/* A page whose every access raises SIGBUS (beyond the end of a memfd). */
static void *sigbus_page(int *fdp)
{
	int fd = memfd_create("sigbus", MFD_CLOEXEC);
	void *p;

	assert_true(fd >= 0);
	p = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	*fdp = fd;
	return p;
}

/* A device whose BAR0 [0x1000, 0x2000) is mapped at @page. */
static struct dbk_dev *dev_with_page(int fd, void *page)
{
	struct dbk_dev *dev;

	assert_int_equal(dbk__dev_new_raw(fd, &dev), 0);
	assert_int_equal(dbk__dev_set_region(dev, 0, 0x4000,
		DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE), 0);
	assert_int_equal(dbk__dev_add_map(dev, 0, 0x1000, (uint64_t)ps, page, true), 0);
	return dev;
}

static void test_caught(void **state)
{
	struct dbk_dev *dev;
	uint32_t v = 0xffffffff;
	uint64_t v64;
	void *page;
	int fd;

	(void)state;
	/* cmocka re-installs its own SIGBUS handler around every test */
	dbk__sigbus_reset();
	page = sigbus_page(&fd);
	dev = dev_with_page(fd, page);
	assert_int_equal(dbk_catch_revocation(), 0);
	assert_int_equal(dbk_catch_revocation(), 0);	/* idempotent */
	assert_int_equal(dbk_dev_is_revoked(dev), 0);

	assert_int_equal(dbk_read32(dev, 0, 0x1010, &v), -ENODEV);
	assert_int_equal(dbk_dev_is_revoked(dev), 1);
	assert_int_equal(v, 0xffffffff);	/* not written on failure */
	/* the page is anonymous now: touching it is harmless */
	assert_int_equal(((volatile uint32_t *)page)[4], 0);
	/* everything else says -ENODEV without touching anything */
	assert_int_equal(dbk_read64(dev, 0, 0x1018, &v64), -ENODEV);
	assert_int_equal(dbk_write32(dev, 0, 0x0, 1), -ENODEV);
	dbk_dev_free(dev);
}

static void test_write_caught(void **state)
{
	struct dbk_dev *dev;
	void *page;
	int fd;

	(void)state;
	/* cmocka re-installs its own SIGBUS handler around every test */
	dbk__sigbus_reset();
	page = sigbus_page(&fd);
	dev = dev_with_page(fd, page);
	assert_int_equal(dbk_catch_revocation(), 0);
	assert_int_equal(dbk_write64(dev, 0, 0x1ff8, 42), -ENODEV);
	assert_int_equal(dbk_dev_is_revoked(dev), 1);
	dbk_dev_free(dev);
}

static void test_two_devices(void **state)
{
	struct dbk_dev *a, *b;
	void *pa, *pb;
	uint32_t v;
	int fa, fb;

	(void)state;
	/* cmocka re-installs its own SIGBUS handler around every test */
	dbk__sigbus_reset();
	pa = sigbus_page(&fa);
	pb = sigbus_page(&fb);
	assert_int_equal(ftruncate(fb, ps), 0);	/* b's page is fine */
	a = dev_with_page(fa, pa);
	b = dev_with_page(fb, pb);
	assert_int_equal(dbk_catch_revocation(), 0);
	assert_int_equal(dbk_read32(a, 0, 0x1000, &v), -ENODEV);
	assert_int_equal(dbk_dev_is_revoked(a), 1);
	assert_int_equal(dbk_dev_is_revoked(b), 0);	/* only the owner */
	assert_int_equal(dbk_write32(b, 0, 0x1000, 7), 0);
	assert_int_equal(dbk_read32(b, 0, 0x1000, &v), 0);
	assert_int_equal(v, 7);
	dbk_dev_free(a);
	dbk_dev_free(b);
}

static sigjmp_buf jb;
static volatile sig_atomic_t previous_called;
static void *volatile previous_addr;

static void previous_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	previous_called++;
	previous_addr = si->si_addr;
	siglongjmp(jb, 1);
}

static void test_chains_foreign_sigbus(void **state)
{
	struct sigaction sa;
	volatile uint32_t *foreign;
	struct dbk_dev *dev;
	void *page;
	int fd, ffd;

	(void)state;
	dbk__sigbus_reset();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = previous_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, NULL), 0);
	assert_int_equal(dbk_catch_revocation(), 0);

	/* a SIGBUS page that is not the library's */
	foreign = sigbus_page(&ffd);
	page = sigbus_page(&fd);
	dev = dev_with_page(fd, page);
	if (sigsetjmp(jb, 1) == 0) {
		(void)foreign[0];
		fail_msg("no SIGBUS from a page past the end of a memfd");
	}
	assert_int_equal(previous_called, 1);
	assert_ptr_equal(previous_addr, (void *)foreign);
	assert_int_equal(dbk_dev_is_revoked(dev), 0);	/* not ours: untouched */
	dbk_dev_free(dev);
	munmap((void *)foreign, (size_t)ps);
	close(ffd);
	dbk__sigbus_reset();
	signal(SIGBUS, SIG_DFL);
}

static void test_default_still_kills(void **state)
{
	int status, fd;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile uint32_t *foreign;

		dbk__sigbus_reset();
		signal(SIGBUS, SIG_DFL);
		if (dbk_catch_revocation() < 0)
			_exit(2);
		foreign = sigbus_page(&fd);
		(void)foreign[0];
		_exit(0);	/* must not get here */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

static void test_unregistered_after_free(void **state)
{
	struct dbk_dev *dev;
	int status, fd;
	void *page;
	pid_t pid;

	(void)state;
	/* after dbk_dev_free() the range is no longer the library's */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dbk__sigbus_reset();
		signal(SIGBUS, SIG_DFL);
		page = sigbus_page(&fd);
		dev = dev_with_page(fd, page);
		if (dbk_catch_revocation() < 0)
			_exit(2);
		/* owned=true: freeing unmaps it; map it again, unregistered */
		dbk_dev_free(dev);
		page = mmap(page, (size_t)ps, PROT_READ, MAP_SHARED | MAP_FIXED,
			    memfd_create("again", 0), 0);
		if (page == MAP_FAILED)
			_exit(3);
		(void)((volatile uint32_t *)page)[0];
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caught),
		cmocka_unit_test(test_write_caught),
		cmocka_unit_test(test_two_devices),
		cmocka_unit_test(test_chains_foreign_sigbus),
		cmocka_unit_test(test_default_still_kills),
		cmocka_unit_test(test_unregistered_after_free),
	};

	ps = sysconf(_SC_PAGESIZE);
	return cmocka_run_group_tests_name("libdev revocation (SIGBUS)", tests, NULL, NULL);
}
