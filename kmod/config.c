// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config space for a driver: reads virtualized, writes filtered.  The module
 * owns the BARs, the ROM BAR, the rest of the standard header and the MSI
 * and MSI-X capabilities; of the command register a driver may change only
 * the memory, I/O and bus-master bits, and bus mastering only with a DMA
 * right.
 */
#include <linux/mm.h>
#include <linux/pci.h>

#include "dbk.h"

#define DBK_CMD_DRIVER_BITS (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)

static bool dbk_config_valid(struct pci_dev *pdev, unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
	       off < pdev->cfg_size && size <= pdev->cfg_size - off;
}

/* BAR and ROM registers read as their type bits only: no bus addresses. */
static u32 dbk_config_virt(struct pci_dev *pdev, unsigned int off4, u32 raw)
{
	int bar = (off4 - PCI_BASE_ADDRESS_0) / 4;

	if (off4 == PCI_ROM_ADDRESS)
		return 0;
	if (off4 < PCI_BASE_ADDRESS_0 || off4 > PCI_BASE_ADDRESS_5)
		return raw;
	if (bar > 0 && (pci_resource_flags(pdev, bar - 1) & IORESOURCE_MEM_64))
		return 0;	/* the upper half of a 64-bit BAR */
	if (raw & PCI_BASE_ADDRESS_SPACE_IO)
		return raw & ~PCI_BASE_ADDRESS_IO_MASK;
	return raw & ~PCI_BASE_ADDRESS_MEM_MASK;
}

int dbk_config_read(struct dbk_grant *g, unsigned int off, unsigned int size, u32 *val)
{
	struct pci_dev *pdev = g->dev->pdev;
	u32 raw;
	int ret;

	lockdep_assert_held(&g->lock);
	if (!dbk_config_valid(pdev, off, size))
		return -EINVAL;
	ret = pci_user_read_config_dword(pdev, off & ~3U, &raw);
	if (ret)
		return pcibios_err_to_errno(ret);
	raw = dbk_config_virt(pdev, off & ~3U, raw) >> ((off & 3) * 8);
	*val = size == 4 ? raw : raw & ((1U << (size * 8)) - 1);
	return 0;
}

static unsigned int dbk_msi_cap_len(struct pci_dev *pdev)
{
	u16 flags;

	pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &flags);
	return ((flags & PCI_MSI_FLAGS_64BIT) ? 14 : 10) +
	       ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);
}

static bool dbk_config_in(unsigned int off, unsigned int size, unsigned int start,
			  unsigned int len)
{
	return start && off < start + len && start < off + size;
}

/*
 * Capabilities no driver writes, even with DBK_GRANT_F_CONFIG_WRITE: they
 * move address decoding (SR-IOV, Resizable BAR), power (PM), isolation
 * (ACS), translation (ATS, PRI, PASID), link and error handling for the
 * whole hierarchy (PCIe, AER, DPC), or belong to the kernel (MSI, MSI-X).
 */
static const struct { u8 id; u8 len; } dbk_cap_deny[] = {
	{ PCI_CAP_ID_PM, PCI_PM_SIZEOF },
	{ PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 },
	{ PCI_CAP_ID_AF, PCI_CAP_AF_SIZEOF },
	{ PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF },
};

static const struct { u16 id; u16 len; } dbk_ext_cap_deny[] = {
	{ PCI_EXT_CAP_ID_SRIOV, PCI_EXT_CAP_SRIOV_SIZEOF },
	{ PCI_EXT_CAP_ID_REBAR, 4 + 6 * 8 },
	{ PCI_EXT_CAP_ID_ACS, 0x40 },
	{ PCI_EXT_CAP_ID_ATS, PCI_EXT_CAP_ATS_SIZEOF },
	{ PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_PRI_SIZEOF },
	{ PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_PASID_SIZEOF },
	{ PCI_EXT_CAP_ID_ERR, PCI_ERR_ROOT_ERR_SRC + 4 },
	{ PCI_EXT_CAP_ID_DPC, 0x40 },
};

static bool dbk_config_denied(struct pci_dev *pdev, unsigned int off, unsigned int size)
{
	unsigned int i;
	u16 pos;

	if (pdev->msi_cap && dbk_config_in(off, size, pdev->msi_cap, dbk_msi_cap_len(pdev)))
		return true;
	for (i = 0; i < ARRAY_SIZE(dbk_cap_deny); i++)
		for (pos = pci_find_capability(pdev, dbk_cap_deny[i].id); pos;
		     pos = pci_find_next_capability(pdev, pos, dbk_cap_deny[i].id))
			if (dbk_config_in(off, size, pos, dbk_cap_deny[i].len))
				return true;
	for (i = 0; off >= PCI_CFG_SPACE_SIZE && i < ARRAY_SIZE(dbk_ext_cap_deny); i++)
		for (pos = pci_find_ext_capability(pdev, dbk_ext_cap_deny[i].id); pos;
		     pos = pci_find_next_ext_capability(pdev, pos, dbk_ext_cap_deny[i].id))
			if (dbk_config_in(off, size, pos, dbk_ext_cap_deny[i].len))
				return true;
	return false;
}

/* A write touching the command register: only the driver's bits change. */
static int dbk_config_write_cmd(struct dbk_grant *g, unsigned int off, unsigned int size,
				u32 val)
{
	struct pci_dev *pdev = g->dev->pdev;
	u16 cur, cmd;
	int ret;

	if (off >= PCI_STATUS)
		return 0;	/* status bits are RW1C error flags: ignored */
	pci_read_config_word(pdev, PCI_COMMAND, &cur);
	if (size == 1)
		cmd = off == PCI_COMMAND ? (cur & 0xff00) | (val & 0xff) : cur;
	else
		cmd = val & 0xffff;
	cmd = (cur & ~DBK_CMD_DRIVER_BITS) | (cmd & DBK_CMD_DRIVER_BITS);
	if ((cmd & PCI_COMMAND_MASTER) && !(cur & PCI_COMMAND_MASTER) &&
	    !dbk_grant_dma_allowed(g))
		return -EPERM;
	if (cmd == cur)
		return 0;
	ret = dbk_policy_config(g, PCI_COMMAND, 2, cmd);
	if (!ret && (cmd & PCI_COMMAND_MASTER) && !(cur & PCI_COMMAND_MASTER))
		ret = dbk_policy_master(g);
	if (ret)
		return ret;
	/*
	 * With decoding off, a BAR access is an Unsupported Request, which
	 * some platforms escalate to a machine check: take the mappings away
	 * first, and refuse BAR accesses until decoding is back (as vfio).
	 */
	lockdep_assert_held_write(&g->lock);
	g->mem_off = !(cmd & PCI_COMMAND_MEMORY);
	g->io_off = !(cmd & PCI_COMMAND_IO);
	if (g->mem_off)
		unmap_mapping_range(g->inode->i_mapping, 0, DBK_REGION_OFFSET(DBK_NUM_BARS), true);
	pci_write_config_word(pdev, PCI_COMMAND, cmd);
	return 0;
}

int dbk_config_write(struct dbk_grant *g, unsigned int off, unsigned int size, u32 val)
{
	struct pci_dev *pdev = g->dev->pdev;
	int ret;

	lockdep_assert_held(&g->lock);
	if (!dbk_config_valid(pdev, off, size))
		return -EINVAL;
	if (dbk_config_in(off, size, PCI_COMMAND, 4))
		return dbk_config_write_cmd(g, off, size, val);
	if (off < PCI_STD_HEADER_SIZEOF || dbk_config_denied(pdev, off, size))
		return -EPERM;
	if (!(g->flags & DBK_GRANT_F_CONFIG_WRITE))
		return -EPERM;
	ret = dbk_policy_config(g, off, size, val);
	if (ret)
		return ret;
	if (size == 1)
		ret = pci_user_write_config_byte(pdev, off, val);
	else if (size == 2)
		ret = pci_user_write_config_word(pdev, off, val);
	else
		ret = pci_user_write_config_dword(pdev, off, val);
	return ret ? pcibios_err_to_errno(ret) : 0;
}
