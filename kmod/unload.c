// SPDX-License-Identifier: GPL-2.0-only
/*
 * An rmmod attempt revokes every grant.
 *
 * Grant files pin the module: their mappings' vm_ops and their file ops
 * are module text, so with a live grant delete_module() fails with -EBUSY
 * before our exit handler could run, and the kernel offers no sleepable
 * hook on that failure.  A kprobe on the syscall's entry sees the attempt
 * and queues the revocation of every grant: the drivers' next accesses
 * fail, they exit, and the next rmmod succeeds.
 *
 * kmod's rmmod checks /sys/module/devbroker/refcnt first and never makes
 * the call while the module is in use; tools that call delete_module()
 * (busybox rmmod, the broker) trigger the revocation.
 */
#include <linux/cred.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>

#include "dbk.h"

static void dbk_unload_work_fn(struct work_struct *work)
{
	dbk_device_revoke_all();
}

static DECLARE_WORK(dbk_unload_work, dbk_unload_work_fn);

/* Atomic context: no sleeping, no faults, just read the name and queue. */
static int dbk_unload_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* The x86-64 syscall wrapper's only argument: the user's registers. */
	const struct pt_regs *uregs = (const struct pt_regs *)regs->di;
	char name[sizeof(KBUILD_MODNAME)];

	/* Root of the initial namespace only: a user namespace's root is nobody here. */
	if (current_user_ns() != &init_user_ns ||
	    !cap_raised(current_cred()->cap_effective, CAP_SYS_MODULE))
		return 0;
	/* Our name and its NUL: anything longer or different is not us. */
	if (copy_from_user_nofault(name, (const char __user *)uregs->di, sizeof(name)))
		return 0;
	if (!memcmp(name, KBUILD_MODNAME, sizeof(name)))
		schedule_work(&dbk_unload_work);
	return 0;
}

static struct kprobe dbk_unload_kp = {
	.symbol_name = "__x64_sys_delete_module",
	.pre_handler = dbk_unload_pre,
};

static bool dbk_unload_armed;

void dbk_unload_arm(void)
{
	int ret = IS_ENABLED(CONFIG_X86_64) ? register_kprobe(&dbk_unload_kp) : -EOPNOTSUPP;

	dbk_unload_armed = !ret;
	if (ret)
		pr_notice("devbroker: rmmod will not revoke live grants (kprobe: %d)\n", ret);
}

void dbk_unload_disarm(void)
{
	if (dbk_unload_armed)
		unregister_kprobe(&dbk_unload_kp);
	cancel_work_sync(&dbk_unload_work);
}
