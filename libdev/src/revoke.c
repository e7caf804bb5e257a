/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: surviving revocation.
 *
 * When a grant is revoked the kernel zaps every mapping of it, and the
 * next access to a BAR or DMA page raises SIGBUS.  dbk_catch_revocation()
 * installs a handler that recognizes this library's mappings (a registry
 * of address ranges readable from a signal handler: plain atomics, no
 * locks), maps an anonymous page over the faulting page and marks the
 * device revoked, so the faulting instruction completes and the accessor
 * reports -ENODEV.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libdev-private.h"

#define REGISTRY_SLOTS 1024

struct slot {
	uintptr_t start;		/* 0: free; written last, cleared first */
	uintptr_t end;
	struct dbk_dev *dev;
};

static struct slot registry[REGISTRY_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static int installed;
static struct sigaction previous;
static long page_size;

int dbk__sigbus_register(void *addr, size_t len, struct dbk_dev *dev)
{
	int i, r = -ENOSPC;

	if (!addr || len == 0)
		return -EINVAL;
	pthread_mutex_lock(&registry_lock);
	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct slot *s = &registry[i];

		if (__atomic_load_n(&s->start, __ATOMIC_RELAXED) != 0)
			continue;
		__atomic_store_n(&s->end, (uintptr_t)addr + len, __ATOMIC_RELAXED);
		__atomic_store_n(&s->dev, dev, __ATOMIC_RELAXED);
		__atomic_store_n(&s->start, (uintptr_t)addr, __ATOMIC_RELEASE);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&registry_lock);
	return r;
}

void dbk__sigbus_unregister(void *addr)
{
	int i;

	if (!addr)
		return;
	pthread_mutex_lock(&registry_lock);
	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct slot *s = &registry[i];

		if (__atomic_load_n(&s->start, __ATOMIC_RELAXED) == (uintptr_t)addr) {
			__atomic_store_n(&s->start, 0, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction) {
			previous.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (previous.sa_handler != SIG_DFL &&
		   previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/*
	 * Default action (an ignored fault SIGBUS kills anyway): restore it and
	 * return; the access faults again and the kernel delivers it.
	 */
	{
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGBUS, &dfl, NULL);
	}
}

static void sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno, i;

	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct slot *s = &registry[i];
		uintptr_t start = __atomic_load_n(&s->start, __ATOMIC_ACQUIRE);
		struct dbk_dev *dev;
		void *page;

		if (start == 0 || a < start ||
		    a >= __atomic_load_n(&s->end, __ATOMIC_RELAXED))
			continue;
		dev = __atomic_load_n(&s->dev, __ATOMIC_RELAXED);
		page = (void *)(a & ~((uintptr_t)page_size - 1));
		if (mmap(page, (size_t)page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			break;	/* cannot repair: let it kill */
		if (dev)
			dbk__mark_revoked(dev);
		errno = saved;
		return;
	}
	errno = saved;
	chain(sig, si, uc);
}

DBK_EXPORT int dbk_catch_revocation(void)
{
	struct sigaction sa;
	int r = 0;

	pthread_mutex_lock(&install_lock);
	if (!installed) {
		page_size = sysconf(_SC_PAGESIZE);
		if (page_size <= 0)
			page_size = 4096;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigbus_handler;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &previous) < 0)
			r = -errno;
		else
			installed = 1;
	}
	pthread_mutex_unlock(&install_lock);
	return r;
}

void dbk__sigbus_reset(void)
{
	pthread_mutex_lock(&install_lock);
	if (installed)
		sigaction(SIGBUS, &previous, NULL);
	installed = 0;
	memset(&previous, 0, sizeof(previous));
	pthread_mutex_unlock(&install_lock);
}
