// SPDX-License-Identifier: GPL-2.0-only
/*
 * devbroker module entry: the PCI driver with no ID table.  Devices are
 * handed to it by an administrator through driver_override, as with vfio-pci.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "devbroker.h"

static int dbk_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	/* Only devices explicitly handed over with driver_override. */
	if (!pdev->driver_override)
		return -EINVAL;
	pci_info(pdev, "bound to devbroker\n");
	return 0;
}

static void dbk_pci_remove(struct pci_dev *pdev)
{
	pci_info(pdev, "released by devbroker\n");
}

static struct pci_driver dbk_pci_driver = {
	.name = DBK_DRIVER_NAME,
	.id_table = NULL,
	.probe = dbk_pci_probe,
	.remove = dbk_pci_remove,
	.driver_managed_dma = true,
};

module_pci_driver(dbk_pci_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devbroker: brokered PCI access for unprivileged userspace drivers");
