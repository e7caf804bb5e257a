/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdev: interrupts delivered to eventfds (DBK_GRANT_SET_IRQS). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "libdev-private.h"

static void close_fds(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int set_irqs(struct dbk_dev *dev, uint32_t flags, uint32_t index,
		    uint32_t count, const int *fds)
{
	struct dbk_irq_set set;

	if (dev->backend)
		return dbk__revoked(dev) ? -ENODEV :
		       dev->backend->set_irqs(dev, flags, index, count, fds);
	memset(&set, 0, sizeof(set));
	set.flags = flags;
	set.index = index;
	set.start = 0;
	set.count = count;
	set.fds = (uintptr_t)fds;
	return dbk__ioctl(dev, DBK_GRANT_SET_IRQS, &set);
}

DBK_EXPORT int dbk_irq_enable(struct dbk_dev *dev, uint32_t index, uint32_t count)
{
	int *fds;
	uint32_t i;
	int r;

	if (!dev || index >= DBK_IRQ_INDEX_COUNT || count == 0 ||
	    count > DBK_MAX_VECTORS ||
	    (index == DBK_IRQ_INDEX_INTX && count != 1))
		return -EINVAL;
	if (dbk__revoked(dev))
		return -ENODEV;
	if (dev->irq_index >= 0) {
		r = dbk_irq_disable(dev);
		if (r < 0)
			return r;
	}
	fds = calloc(count, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		fds[i] = -1;
	for (i = 0; i < count; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0) {
			r = -errno;
			goto fail;
		}
	}
	r = set_irqs(dev, DBK_IRQ_SET_TRIGGER, index, count, fds);
	if (r < 0)
		goto fail;
	dev->irq_index = (int)index;
	dev->irq_count = count;
	dev->irq_fds = fds;
	return 0;
fail:
	close_fds(fds, count);
	free(fds);
	return r;
}

DBK_EXPORT int dbk_irq_disable(struct dbk_dev *dev)
{
	int r = 0;

	if (!dev)
		return -EINVAL;
	if (dev->irq_index < 0)
		return 0;
	if (!dbk__revoked(dev))
		r = set_irqs(dev, DBK_IRQ_SET_TRIGGER, (uint32_t)dev->irq_index, 0, NULL);
	else
		r = -ENODEV;
	close_fds(dev->irq_fds, dev->irq_count);
	free(dev->irq_fds);
	dev->irq_fds = NULL;
	dev->irq_count = 0;
	dev->irq_index = -1;
	return r;
}

DBK_EXPORT int dbk_irq_get_fd(const struct dbk_dev *dev, uint32_t vector)
{
	if (!dev || dev->irq_index < 0 || vector >= dev->irq_count)
		return -EINVAL;
	return dev->irq_fds[vector];
}

/*
 * The coarse clock, read from memory: CLOCK_MONOTONIC reads the
 * clocksource, under TCG the HPET (a trap to QEMU).  It decides only how
 * long to wait again after an early wakeup (a signal, or another thread
 * took the count), where a tick's lag makes the wait a tick longer.
 */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

DBK_EXPORT int dbk_irq_wait(struct dbk_dev *dev, uint32_t vector, int timeout_ms)
{
	int64_t deadline = 0;
	struct pollfd pfd;
	int left = timeout_ms;
	uint64_t cnt;
	int fd, r;

	fd = dbk_irq_get_fd(dev, vector);
	if (fd < 0)
		return fd;
	if (timeout_ms > 0)
		deadline = now_ms() + timeout_ms;
	for (;;) {
		ssize_t n;

		if (dbk__revoked(dev))
			return -ENODEV;
		n = read(fd, &cnt, sizeof(cnt));
		if (n == (ssize_t)sizeof(cnt))
			return cnt > INT_MAX ? INT_MAX : (int)cnt;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (timeout_ms == 0 || (timeout_ms > 0 && left == 0))
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (timeout_ms > 0) {
			int64_t rest = deadline - now_ms();

			/* poll() timed out: one more read, then time out. */
			left = r == 0 || rest <= 0 ? 0 : rest < left ? (int)rest : left;
		}
	}
	/* Timed out: a revoked grant never interrupts again, so say so. */
	if (!dev->backend) {
		struct dbk_irq_info info;

		memset(&info, 0, sizeof(info));
		info.index = (uint32_t)dev->irq_index;
		r = dbk__ioctl(dev, DBK_GRANT_GET_IRQ_INFO, &info);
		if (r == -ENODEV)
			return -ENODEV;
	}
	return -ETIMEDOUT;
}

DBK_EXPORT int dbk_irq_unmask(struct dbk_dev *dev)
{
	if (!dev || dev->irq_index != DBK_IRQ_INDEX_INTX)
		return -EINVAL;
	return set_irqs(dev, DBK_IRQ_SET_UNMASK, DBK_IRQ_INDEX_INTX, 0, NULL);
}
