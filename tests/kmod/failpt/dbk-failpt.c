// SPDX-License-Identifier: GPL-2.0-only
/*
 * dbk-failpt: a test-only module (VM only, never shipped) that fails one
 * IOMMU page-table allocation on demand, for tests/vm/kmod-dma-partial.sh.
 * The stock kernel has no fail_page_alloc, and intel-iommu's
 * alloc_pgtable_page() is inlined, so: a kretprobe on __alloc_pages()
 * that, while `armed`, makes the first GFP_ATOMIC | __GFP_ZERO order-0
 * allocation of task `pid` (an IOMMU page-table page) return NULL, once.
 * From the review that found a map failing part way left its PTEs.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/gfp.h>

static int pid;
module_param(pid, int, 0644);
static int armed;
module_param(armed, int, 0644);
static int failed;
module_param(failed, int, 0444);

static int dbk_failpt_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	/* __alloc_pages(gfp, order, ...): x86-64 arguments */
	if (!READ_ONCE(armed) || current->tgid != READ_ONCE(pid) || regs->si ||
	    (gfp_t)regs->di != (GFP_ATOMIC | __GFP_ZERO))
		return 1;	/* not this call: no return handler */
	return 0;
}

static int dbk_failpt_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct page *page = (struct page *)regs_return_value(regs);

	if (page && xchg(&armed, 0)) {
		__free_pages(page, 0);
		regs->ax = 0;
		failed++;
	}
	return 0;
}

static struct kretprobe dbk_failpt_probe = {
	.handler = dbk_failpt_ret,
	.entry_handler = dbk_failpt_entry,
	.kp.symbol_name = "__alloc_pages",
	.maxactive = 64,
};

static int __init dbk_failpt_init(void)
{
	return register_kretprobe(&dbk_failpt_probe);
}

static void __exit dbk_failpt_exit(void)
{
	unregister_kretprobe(&dbk_failpt_probe);
}
module_init(dbk_failpt_init);
module_exit(dbk_failpt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devbroker tests: fail one IOMMU page-table allocation (VM only)");
