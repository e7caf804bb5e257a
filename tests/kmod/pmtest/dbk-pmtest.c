// SPDX-License-Identifier: GPL-2.0-only
/*
 * dbk-pmtest: a test-only module, loaded in the VM by the tests that run a
 * system suspend/resume cycle (/sys/power/pm_test "devices"), never by a
 * user.  vm-run's root and run directory are 9p over virtio-pci, and
 * virtio-9p has no freeze/restore: a suspend resets its virtqueues and the
 * guest hangs at its next file access.  Loaded, this module takes every
 * virtio PCI device out of system sleep (dev->power.syscore), so that the
 * cycle runs every other device's suspend and resume callbacks, the PCI
 * core's included, and the guest lives on.  Unloading puts them back.
 */
#include <linux/module.h>
#include <linux/pci.h>

static void dbk_pmtest_syscore(bool on)
{
	struct pci_dev *pdev = NULL;

	while ((pdev = pci_get_device(PCI_VENDOR_ID_REDHAT_QUMRANET, PCI_ANY_ID, pdev))) {
		dev_pm_syscore_device(&pdev->dev, on);
		pci_info(pdev, "dbk-pmtest: %s system sleep\n", on ? "out of" : "back in");
	}
}

static int __init dbk_pmtest_init(void)
{
	dbk_pmtest_syscore(true);
	return 0;
}

static void __exit dbk_pmtest_exit(void)
{
	dbk_pmtest_syscore(false);
}

module_init(dbk_pmtest_init);
module_exit(dbk_pmtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devbroker tests: virtio PCI devices (the VM's 9p) out of system sleep");
