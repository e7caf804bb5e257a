// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interrupts for a driver: each vector signals an eventfd straight from the
 * hard IRQ handler.  INTx is masked when it fires and unmasked by the
 * driver, as vfio does.  A per-grant rate cap masks a storm until the end
 * of the current second instead of letting it livelock the machine (an MSI
 * without mask bits: its MSI enable bit, as masking would only stop the eventfd).
 */
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dbk.h"

/* MSI without mask bits: only the device's enable bit stops its messages. */
static void dbk_irq_msi_enable(struct dbk_grant *g, bool on)
{
	struct pci_dev *pdev = g->dev->pdev;
	u16 flags;

	pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &flags);
	flags = on ? flags | PCI_MSI_FLAGS_ENABLE : flags & ~PCI_MSI_FLAGS_ENABLE;
	pci_write_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, flags);
}

/* Masked by the caller until the window ends (or for @min jiffies), then unmasked. */
static void dbk_irq_throttle(struct dbk_grant *g, unsigned long min)
{
	lockdep_assert_held(&g->rate_lock);
	if (g->throttled || g->stopping)
		return;
	g->throttled = true;
	g->throttles++;
	if (g->msi_unmaskable)
		dbk_irq_msi_enable(g, false);
	schedule_delayed_work(&g->unthrottle, min ?: g->rate_window - jiffies + 1);
}

/* An INTx not ours: counted as kernel/irq/spurious.c does, masked 200 ms (a pause) well before. */
static void dbk_irq_spurious(struct dbk_grant *g)
{
	if (time_after(jiffies, g->last_spurious + HZ / 10))
		g->spurious = 0;
	g->last_spurious = jiffies;
	if (++g->spurious < DBK_MAX_SPURIOUS || g->intx_masked)
		return;
	g->spurious = 0;
	pci_intx(g->dev->pdev, 0);
	g->intx_masked = true;
	dbk_irq_throttle(g, HZ / 5);
}

/* Within the rate cap?  If not, mask @vec until the window ends. */
static bool dbk_irq_rate_ok(struct dbk_grant *g, struct dbk_vec *vec)
{
	lockdep_assert_held(&g->rate_lock);
	if (time_after_eq(jiffies, g->rate_window)) {
		g->rate_window = jiffies + HZ;
		g->rate_count = 0;
	}
	if (++g->rate_count <= g->irq_rate) {
		g->delivered++;
		return true;
	}
	if (g->irq_index != DBK_IRQ_INDEX_INTX && !g->stopping) {	/* INTx is masked already */
		disable_irq_nosync(vec->irq);
		vec->disabled = true;
	}
	dbk_irq_throttle(g, 0);
	return false;
}

/* Unmask a masked INTx; true if it is pending again, and to be signalled within the cap. */
static bool dbk_irq_unmask_intx_locked(struct dbk_grant *g)
{
	lockdep_assert_held(&g->rate_lock);
	if (!g->intx_masked)
		return false;
	if (!g->intx_maskable)
		enable_irq(g->vecs[0].irq);
	else if (!pci_check_and_unmask_intx(g->dev->pdev))
		return dbk_irq_rate_ok(g, &g->vecs[0]);	/* stays masked */
	g->intx_masked = false;
	return false;
}

static void dbk_irq_unthrottle(struct work_struct *work)
{
	struct dbk_grant *g = container_of(to_delayed_work(work), struct dbk_grant, unthrottle);
	bool resignal = false;
	u32 i;

	spin_lock_irq(&g->rate_lock);
	g->throttled = false;
	for (i = 0; i < g->nvec; i++) {
		if (g->vecs[i].disabled) {
			g->vecs[i].disabled = false;
			enable_irq(g->vecs[i].irq);
		}
	}
	/* What the device raised meanwhile was lost: its driver looks again. */
	if (g->msi_unmaskable)
		dbk_irq_msi_enable(g, true);
	for (i = 0; g->msi_unmaskable && i < g->nvec; i++)
		if (g->vecs[i].trigger)
			eventfd_signal(g->vecs[i].trigger, 1);
	if (g->irq_index == DBK_IRQ_INDEX_INTX)
		resignal = dbk_irq_unmask_intx_locked(g);
	spin_unlock_irq(&g->rate_lock);
	if (resignal && g->vecs[0].trigger)
		eventfd_signal(g->vecs[0].trigger, 1);
	pci_notice_ratelimited(g->dev->pdev, "interrupt storm over %u/s: was masked for the rest of a second\n",
			       g->irq_rate);
}

void dbk_irq_init(struct dbk_grant *g)
{
	g->irq_index = -1;
	g->rate_window = jiffies + HZ;
	spin_lock_init(&g->rate_lock);
	INIT_DELAYED_WORK(&g->unthrottle, dbk_irq_unthrottle);
}

static irqreturn_t dbk_irq_handler(int irq, void *arg)
{
	struct dbk_vec *vec = arg;
	struct dbk_grant *g = vec->grant;
	bool signal;

	/* Held across DisINTx, against the command register's read-modify-write. */
	spin_lock(&g->rate_lock);
	if (g->irq_index == DBK_IRQ_INDEX_INTX) {
		if (!g->intx_maskable) {
			disable_irq_nosync(irq);
		} else if (g->intx_masked || !pci_check_and_mask_intx(g->dev->pdev)) {
			dbk_irq_spurious(g);	/* masked ones are not ours either */
			spin_unlock(&g->rate_lock);
			return IRQ_NONE;
		}
		g->intx_masked = true;
	}
	signal = dbk_irq_rate_ok(g, vec);
	spin_unlock(&g->rate_lock);
	if (signal && vec->trigger)
		eventfd_signal(vec->trigger, 1);
	return IRQ_HANDLED;
}

/* How many vectors of @index the grant may enable on this device. */
static u32 dbk_irq_max(struct dbk_grant *g, u32 index)
{
	struct pci_dev *pdev = g->dev->pdev;
	int n;

	switch (index) {
	case DBK_IRQ_INDEX_INTX:
		return (g->flags & DBK_GRANT_F_INTX) && pdev->pin && pdev->irq ? 1 : 0;
	case DBK_IRQ_INDEX_MSI:
		n = (g->flags & DBK_GRANT_F_MSI) ? pci_msi_vec_count(pdev) : 0;
		break;
	default:
		n = (g->flags & DBK_GRANT_F_MSIX) ? pci_msix_vec_count(pdev) : 0;
	}
	return n > 0 ? min_t(u32, n, g->max_vectors) : 0;
}

/* Stop every vector.  Called with g->lock held for writing. */
void dbk_irq_release(struct dbk_grant *g)
{
	struct pci_dev *pdev = g->dev->pdev;
	u32 i;

	lockdep_assert_held_write(&g->lock);
	if (g->irq_index < 0)
		return;
	/* No handler may schedule the unthrottle work once this is set. */
	spin_lock_irq(&g->rate_lock);
	g->stopping = true;
	spin_unlock_irq(&g->rate_lock);
	cancel_delayed_work_sync(&g->unthrottle);
	/* Freeing a disabled line is fine: the next request_irq() resets its depth. */
	for (i = 0; i < g->nvec; i++)
		free_irq(g->vecs[i].irq, &g->vecs[i]);
	if (g->irq_index != DBK_IRQ_INDEX_INTX) {
		pci_free_irq_vectors(pdev);
		if (!dbk_grant_dma_allowed(g))
			pci_clear_master(pdev);
	}
	/* Disabling MSI re-enables INTx (pci_intx_for_msi()): no line is left unhandled. */
	pci_intx(pdev, 0);
	for (i = 0; i < g->nvec; i++)
		if (g->vecs[i].trigger)
			eventfd_ctx_put(g->vecs[i].trigger);
	kfree(g->vecs);
	g->vecs = NULL;
	g->nvec = 0;
	g->irq_index = -1;
	g->throttled = false;
	g->intx_masked = false;
	g->msi_unmaskable = false;
}

static int dbk_irq_request(struct dbk_grant *g, u32 index, u32 n, struct eventfd_ctx **ctx)
{
	struct pci_dev *pdev = g->dev->pdev;
	struct dbk_vec *vecs;
	unsigned long irqflags = 0;
	u16 flags;
	u32 i;
	int ret;

	lockdep_assert_held_write(&g->lock);
	vecs = kcalloc(n, sizeof(*vecs), GFP_KERNEL);
	if (!vecs)
		return -ENOMEM;
	if (index == DBK_IRQ_INDEX_INTX) {
		/* A shared line needs DisINTx masking; without it, the line must be ours alone. */
		g->intx_maskable = pci_intx_mask_supported(pdev);
		irqflags = g->intx_maskable ? IRQF_SHARED : 0;
		pci_intx(pdev, 1);
		vecs[0].irq = pdev->irq;
	} else {
		/*
		 * An MSI is a memory write by the device: it needs bus mastering.
		 * Behind an IOMMU the device's other writes land in the grant's own
		 * domain (empty without a DMA right); without one, it is a DMA right.
		 */
		ret = dbk_grant_master_allowed(g) ? dbk_policy_master(g) : -EPERM;
		/* The kernel writes the MSI-X table, in a memory BAR. */
		if (!ret && index == DBK_IRQ_INDEX_MSIX && g->mem_off)
			ret = -EIO;
		if (ret)
			goto err_free;
		pci_set_master(pdev);
		ret = pci_alloc_irq_vectors(pdev, n, n, index == DBK_IRQ_INDEX_MSI ?
					    PCI_IRQ_MSI : PCI_IRQ_MSIX);
		if (ret < 0 && !dbk_grant_dma_allowed(g))
			pci_clear_master(pdev);		/* it was for the MSI only */
		if (ret < 0)
			goto err_free;
		for (i = 0; i < n; i++)
			vecs[i].irq = pci_irq_vector(pdev, i);
		if (index == DBK_IRQ_INDEX_MSI) {
			pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &flags);
			g->msi_unmaskable = !(flags & PCI_MSI_FLAGS_MASKBIT);
		}
	}
	/* The handler reads these as soon as it is requested. */
	g->vecs = vecs;
	g->nvec = 0;
	g->irq_index = index;
	g->stopping = false;
	/* The rate window runs on across disable/enable: toggling buys no budget. */
	for (i = 0; i < n; i++) {
		vecs[i].grant = g;
		vecs[i].trigger = ctx[i];
		snprintf(vecs[i].name, sizeof(vecs[i].name), "devbroker[%s]-%u",
			 pci_name(pdev), i);
		ret = request_irq(vecs[i].irq, dbk_irq_handler, irqflags, vecs[i].name, &vecs[i]);
		if (ret)
			goto err_irqs;
		g->nvec = i + 1;
	}
	return 0;

err_irqs:
	/* The caller still owns ctx[]; do not put the triggers twice. */
	for (i = 0; i < n; i++)
		vecs[i].trigger = NULL;
	dbk_irq_release(g);
	return ret;
err_free:
	kfree(vecs);
	return ret == -EINVAL ? -ENOSPC : ret;
}

static void dbk_irq_intx_unmask(struct dbk_grant *g)
{
	bool resignal;

	spin_lock_irq(&g->rate_lock);
	resignal = !g->throttled && dbk_irq_unmask_intx_locked(g);	/* else the work unmasks */
	spin_unlock_irq(&g->rate_lock);
	if (resignal && g->vecs[0].trigger)
		eventfd_signal(g->vecs[0].trigger, 1);
}

int dbk_irq_set(struct dbk_grant *g, const void __user *uarg)
{
	struct eventfd_ctx **ctx = NULL;
	struct dbk_irq_set s;
	s32 *fds = NULL;
	u32 i, max;
	int ret;

	ret = dbk_copy_arg(&s, sizeof(s), sizeof(s), uarg);
	if (ret)
		return ret;
	if ((s.flags != DBK_IRQ_SET_TRIGGER && s.flags != DBK_IRQ_SET_UNMASK) ||
	    s.index >= DBK_IRQ_INDEX_COUNT || s.start || s.reserved)
		return -EINVAL;

	if (s.flags == DBK_IRQ_SET_UNMASK) {
		if (s.index != DBK_IRQ_INDEX_INTX || s.count)
			return -EINVAL;
		down_read(&g->lock);
		ret = g->revoked ? -ENODEV : g->irq_index != DBK_IRQ_INDEX_INTX ? -EINVAL : 0;
		if (!ret)
			dbk_irq_intx_unmask(g);
		up_read(&g->lock);
		return ret;
	}

	max = dbk_irq_max(g, s.index);
	if (!max && s.count)
		return (g->flags & (DBK_GRANT_F_INTX << s.index)) ? -EINVAL : -EPERM;
	if (s.count > max)
		return -EINVAL;
	if (s.count) {
		ret = dbk_policy_irq(g, s.index, s.count);
		if (ret)
			return ret;
		fds = memdup_user(u64_to_user_ptr(s.fds), s.count * sizeof(*fds));
		if (IS_ERR(fds))
			return PTR_ERR(fds);
		ctx = kcalloc(s.count, sizeof(*ctx), GFP_KERNEL);
		if (!ctx) {
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < s.count; i++) {
			if (fds[i] == -1)
				continue;
			ctx[i] = fds[i] < 0 ? ERR_PTR(-EINVAL) : eventfd_ctx_fdget(fds[i]);
			if (IS_ERR(ctx[i])) {
				ret = PTR_ERR(ctx[i]);
				ctx[i] = NULL;
				goto out;
			}
		}
	}

	down_write(&g->lock);
	if (g->revoked) {
		ret = -ENODEV;
	} else {
		if (s.count || g->irq_index == (int)s.index)
			dbk_irq_release(g);
		if (s.count)
			ret = dbk_irq_request(g, s.index, s.count, ctx);
	}
	up_write(&g->lock);
	if (!ret) {
		kfree(ctx);	/* the vectors own the triggers now */
		ctx = NULL;
	}
out:
	for (i = 0; ctx && i < s.count; i++)
		if (ctx[i])
			eventfd_ctx_put(ctx[i]);
	kfree(ctx);
	kfree(fds);
	return ret;
}

int dbk_irq_info(struct dbk_grant *g, void __user *uarg)
{
	struct dbk_irq_info info;
	int ret;

	ret = dbk_copy_arg(&info, sizeof(info), sizeof(info), uarg);
	if (ret)
		return ret;
	if (info.flags || info.index >= DBK_IRQ_INDEX_COUNT || info.reserved)
		return -EINVAL;
	down_read(&g->lock);
	ret = g->revoked ? -ENODEV : 0;
	info.count = dbk_irq_max(g, info.index);
	info.enabled = g->irq_index == (int)info.index ? g->nvec : 0;
	spin_lock_irq(&g->rate_lock);
	info.flags = (info.enabled ? DBK_IRQ_INFO_F_ENABLED : 0) |
		     (g->throttled ? DBK_IRQ_INFO_F_THROTTLED : 0);
	info.delivered = g->delivered;
	info.throttled = g->throttles;
	spin_unlock_irq(&g->rate_lock);
	up_read(&g->lock);
	if (ret)
		return ret;
	return copy_to_user(uarg, &info, info.argsz) ? -EFAULT : 0;
}
