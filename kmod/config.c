// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config space for a driver: reads virtualized, writes by allow list.  The
 * module owns the standard header and every capability but vendor-specific
 * ones; of the command register a driver may change only the memory, I/O
 * and bus-master bits, and bus mastering only with a DMA right.
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

/*
 * BAR and ROM registers read as their type bits only: no bus addresses.
 * Nor does the MSI capability show the kernel's message address and data.
 */
static u32 dbk_config_virt(struct pci_dev *pdev, unsigned int off4, u32 raw)
{
	int bar = (off4 - PCI_BASE_ADDRESS_0) / 4;
	unsigned int data;
	u16 flags;

	if (pdev->msi_cap && off4 > pdev->msi_cap && off4 < pdev->msi_cap + 16) {
		pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &flags);
		data = pdev->msi_cap + PCI_MSI_DATA_32 + ((flags & PCI_MSI_FLAGS_64BIT) ? 4 : 0);
		return off4 < data ? 0 : off4 == data ? raw & 0xffff0000 : raw;
	}
	if (off4 < PCI_BASE_ADDRESS_0 || off4 > PCI_BASE_ADDRESS_5)
		return off4 == PCI_ROM_ADDRESS ? 0 : raw;
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

/* Standard capabilities of known size (MSI: its largest; PCIe: all of v2, 0x3c). */
static const u8 dbk_cap_len[] = {
	[PCI_CAP_ID_PM] = PCI_PM_SIZEOF, [PCI_CAP_ID_MSI] = 24, [PCI_CAP_ID_AF] = PCI_CAP_AF_SIZEOF,
	[PCI_CAP_ID_EXP] = PCI_EXP_SLTSTA2 + 2, [PCI_CAP_ID_MSIX] = PCI_CAP_MSIX_SIZEOF,
};

/*
 * What DBK_GRANT_F_CONFIG_WRITE may write (vfio-pci's raw areas): bytes
 * between capabilities and vendor-specific capabilities' bodies.  Mapped
 * at probe: no next pointer hides one later.
 */
void dbk_config_map(struct dbk_device *dev)
{
	DECLARE_BITMAP(caps, PCI_CFG_SPACE_EXP_SIZE) = { 0 };
	unsigned long *ok = dev->cfg_writable;
	struct pci_dev *pdev = dev->pdev;
	unsigned int pos, end, body, ttl;
	u32 hdr, len;
	u8 p8;

	pci_read_config_byte(pdev, PCI_CAPABILITY_LIST, &p8);
	for (ttl = 48; p8 >= PCI_STD_HEADER_SIZEOF && ttl--;) {
		__set_bit(p8 & ~3, caps);
		pci_read_config_byte(pdev, (p8 & ~3) + PCI_CAP_LIST_NEXT, &p8);
	}
	for (pos = PCI_CFG_SPACE_SIZE, ttl = 480; pos >= PCI_CFG_SPACE_SIZE && ttl--;
	     pos = PCI_EXT_CAP_NEXT(hdr)) {
		if (pdev->cfg_size <= pos || pci_read_config_dword(pdev, pos, &hdr) || !hdr ||
		    hdr == ~0U)
			break;
		__set_bit(pos, caps);
	}
	bitmap_set(ok, PCI_STD_HEADER_SIZEOF, pdev->cfg_size - PCI_STD_HEADER_SIZEOF);
	for_each_set_bit(pos, caps, PCI_CFG_SPACE_EXP_SIZE) {
		pci_read_config_dword(pdev, pos, &hdr);
		end = find_next_bit(caps, pos < PCI_CFG_SPACE_SIZE ? PCI_CFG_SPACE_SIZE :
				    pdev->cfg_size, pos + 1);
		if (pos < PCI_CFG_SPACE_SIZE && (hdr & 0xff) < ARRAY_SIZE(dbk_cap_len) &&
		    dbk_cap_len[hdr & 0xff])
			end = min_t(unsigned int, end, pos + dbk_cap_len[hdr & 0xff]);
		bitmap_clear(ok, pos, end - pos);
		body = pos < PCI_CFG_SPACE_SIZE ? 3 : 8;	/* past a vendor-specific header */
		if (body == 3 && (hdr & 0xff) == PCI_CAP_ID_VNDR)
			len = (hdr >> 16) & 0xff;
		else if (body == 8 && PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_VNDR &&
			 !pci_read_config_dword(pdev, pos + PCI_VNDR_HEADER, &hdr))
			len = PCI_VNDR_HEADER_LEN(hdr);
		else
			continue;
		len = min(end - pos, len);
		if (len > body)
			bitmap_set(ok, pos + body, len - body);
	}
}

/*
 * A write within the command register: only the driver's bits change, in
 * a read-modify-write under rate_lock, which the INTx handler's DisINTx holds.
 */
static int dbk_config_write_cmd(struct dbk_grant *g, unsigned int off, unsigned int size,
				u32 val)
{
	struct pci_dev *pdev = g->dev->pdev;
	u16 cur, cmd;
	int ret;

	lockdep_assert_held_write(&g->lock);
	pci_read_config_word(pdev, PCI_COMMAND, &cur);
	cmd = size == 2 ? val : off == PCI_COMMAND ? (cur & 0xff00) | val : (cur & 0xff) | val << 8;
	cmd = (cur & ~DBK_CMD_DRIVER_BITS) | (cmd & DBK_CMD_DRIVER_BITS);
	if ((cmd & PCI_COMMAND_MASTER) && !(cur & PCI_COMMAND_MASTER) &&
	    !dbk_grant_dma_allowed(g))
		return -EPERM;
	if (!dbk_grant_master_allowed(g))
		cmd &= ~PCI_COMMAND_MASTER;	/* whatever the register reads as now */
	/* The kernel masks MSI-X vectors through the table, in a memory BAR. */
	if (!(cmd & PCI_COMMAND_MEMORY) && g->irq_index == DBK_IRQ_INDEX_MSIX)
		return -EBUSY;
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
	g->mem_off = !(cmd & PCI_COMMAND_MEMORY);
	g->io_off = !(cmd & PCI_COMMAND_IO);
	if (g->mem_off)
		unmap_mapping_range(g->inode->i_mapping, 0, DBK_REGION_OFFSET(DBK_NUM_BARS), true);
	spin_lock_irq(&g->rate_lock);
	pci_read_config_word(pdev, PCI_COMMAND, &cur);
	pci_write_config_word(pdev, PCI_COMMAND,
			      (cur & ~DBK_CMD_DRIVER_BITS) | (cmd & DBK_CMD_DRIVER_BITS));
	/* The PCI core's record, which resume follows (pci_pm_reenable_device()). */
	pdev->is_busmaster = !!(cmd & PCI_COMMAND_MASTER);
	spin_unlock_irq(&g->rate_lock);
	return 0;
}

int dbk_config_write(struct dbk_grant *g, unsigned int off, unsigned int size, u32 val)
{
	struct dbk_device *dev = g->dev;
	int ret;

	lockdep_assert_held(&g->lock);
	if (!dbk_config_valid(dev->pdev, off, size))
		return -EINVAL;
	if (off >= PCI_COMMAND && off + size <= PCI_STATUS)
		return dbk_config_write_cmd(g, off, size, val);
	if (!(g->flags & DBK_GRANT_F_CONFIG_WRITE) ||
	    find_next_zero_bit(dev->cfg_writable, off + size, off) < off + size)
		return -EPERM;
	/* Guarded, they reach the device in the order the guard saw them (as BAR writes). */
	if (g->dma_guard)
		mutex_lock(&g->guard_lock);
	ret = dbk_policy_config(g, off, size, val);
	if (!ret && size == 1)
		ret = pcibios_err_to_errno(pci_user_write_config_byte(dev->pdev, off, val));
	else if (!ret && size == 2)
		ret = pcibios_err_to_errno(pci_user_write_config_word(dev->pdev, off, val));
	else if (!ret)
		ret = pcibios_err_to_errno(pci_user_write_config_dword(dev->pdev, off, val));
	if (g->dma_guard)
		mutex_unlock(&g->guard_lock);
	return ret;
}
