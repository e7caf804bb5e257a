/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NVMe registers, queue entries and the few data structures this driver
 * reads.  "Spec" is the NVM Express Base Specification 1.4 (June 2019);
 * sections moved in 2.0, which is cited where it differs ("2.0 §").
 * Only what drivers/nvme uses is here; everything is little-endian, as the
 * spec says (§1.4.1), and this driver runs on little-endian hosts only.
 */
#ifndef NVME_REGS_H
#define NVME_REGS_H

#include <stdint.h>

#define NVME_BAR		0	/* MLBAR/MUBAR: the registers (PCI header, §2.1.10) */
#define NVME_PAGE_SHIFT		12	/* the host page size we program in CC.MPS */
#define NVME_PAGE_SIZE		(1u << NVME_PAGE_SHIFT)

/* ---- Controller registers, §3.1 (2.0 §3.1.3) ---- */
#define NVME_REG_CAP		0x00	/* 64-bit Controller Capabilities, §3.1.1 */
#define NVME_REG_VS		0x08	/* Version, §3.1.2 */
#define NVME_REG_INTMS		0x0c	/* Interrupt Mask Set (pin-based/MSI only) */
#define NVME_REG_INTMC		0x10	/* Interrupt Mask Clear */
#define NVME_REG_CC		0x14	/* Controller Configuration, §3.1.5 */
#define NVME_REG_CSTS		0x1c	/* Controller Status, §3.1.6 */
#define NVME_REG_AQA		0x24	/* Admin Queue Attributes, §3.1.8 */
#define NVME_REG_ASQ		0x28	/* 64-bit Admin SQ Base Address, §3.1.9 */
#define NVME_REG_ACQ		0x30	/* 64-bit Admin CQ Base Address, §3.1.10 */
#define NVME_REG_DBS		0x1000	/* first doorbell, §3.1.24-25 */

/* CAP, §3.1.1 */
#define NVME_CAP_MQES(cap)	((uint32_t)((cap) & 0xffff))		/* 0's based */
#define NVME_CAP_CQR(cap)	(((cap) >> 16) & 1)			/* contiguous queues required */
#define NVME_CAP_TO(cap)	((uint32_t)(((cap) >> 24) & 0xff))	/* 500 ms units */
#define NVME_CAP_DSTRD(cap)	((uint32_t)(((cap) >> 32) & 0xf))	/* doorbell stride 2^(2+DSTRD) */
#define NVME_CAP_NSSRS(cap)	(((cap) >> 36) & 1)
#define NVME_CAP_CSS_NVM(cap)	(((cap) >> 37) & 1)			/* NVM command set */
#define NVME_CAP_MPSMIN(cap)	((uint32_t)(((cap) >> 48) & 0xf))	/* 2^(12+MPSMIN) */
#define NVME_CAP_MPSMAX(cap)	((uint32_t)(((cap) >> 52) & 0xf))

/* CC, §3.1.5 */
#define NVME_CC_EN		(1u << 0)
#define NVME_CC_CSS_NVM		(0u << 4)
#define NVME_CC_MPS(shift)	((uint32_t)((shift) - 12) << 7)
#define NVME_CC_AMS_RR		(0u << 11)
#define NVME_CC_SHN_MASK	(3u << 14)
#define NVME_CC_SHN_NORMAL	(1u << 14)
#define NVME_CC_SHN_ABRUPT	(2u << 14)
#define NVME_CC_IOSQES(n)	((uint32_t)(n) << 16)	/* log2 of the SQ entry size: 6 (64 bytes) */
#define NVME_CC_IOCQES(n)	((uint32_t)(n) << 20)	/* log2 of the CQ entry size: 4 (16 bytes) */

/* CSTS, §3.1.6 */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)	/* Controller Fatal Status */
#define NVME_CSTS_SHST_MASK	(3u << 2)
#define NVME_CSTS_SHST_NORMAL	(0u << 2)
#define NVME_CSTS_SHST_OCCUR	(1u << 2)	/* shutdown processing occurring */
#define NVME_CSTS_SHST_CMPLT	(2u << 2)	/* shutdown processing complete */

/* AQA, §3.1.8: both sizes 0's based, at most 4096 entries. */
#define NVME_AQA(sq, cq)	((uint32_t)((sq) - 1) | ((uint32_t)((cq) - 1) << 16))

/*
 * Doorbells, §3.1.24 (SQyTDBL) and §3.1.25 (CQyHDBL):
 * SQ y tail at 0x1000 + (2y) * (4 << DSTRD), CQ y head at 0x1000 + (2y + 1) * (4 << DSTRD).
 */
#define NVME_SQ_DB(qid, dstrd)	(NVME_REG_DBS + (2u * (qid)) * (4u << (dstrd)))
#define NVME_CQ_DB(qid, dstrd)	(NVME_REG_DBS + (2u * (qid) + 1) * (4u << (dstrd)))

/* ---- Submission Queue Entry, §4.2 (2.0 §4.1): 64 bytes ---- */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* FUSE (1:0) = 0, PSDT (7:6) = 0: PRPs */
	uint16_t cid;		/* Command Identifier, unique per SQ while outstanding */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;		/* metadata pointer: unused (no metadata formats) */
	uint64_t prp1;		/* Data Pointer, §4.3 */
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* ---- Completion Queue Entry, §4.6 (2.0 §4.2): 16 bytes ---- */
struct nvme_cqe {
	uint32_t dw0;		/* command specific */
	uint32_t dw1;
	uint16_t sqhd;		/* SQ Head Pointer: how far the controller consumed */
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;	/* bit 0: Phase Tag (§4.6 figure "DW3"); 15:1 the Status Field */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQ entries are 64 bytes (CC.IOSQES=6)");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQ entries are 16 bytes (CC.IOCQES=4)");

/*
 * Status Field, §4.6.1 (2.0 §4.2.3), as this driver keeps it: the 15 bits
 * above the phase tag, shifted down (SC 7:0, SCT 10:8, CRD 12:11, M 13, DNR 14).
 */
#define NVME_CQE_PHASE(st)	((st) & 1u)
#define NVME_CQE_STATUS(st)	((uint16_t)((st) >> 1))
#define NVME_SC(s)		((s) & 0xffu)
#define NVME_SCT(s)		(((s) >> 8) & 0x7u)
#define NVME_DNR(s)		(((s) >> 14) & 1u)
#define NVME_STATUS_CODE(s)	((s) & 0x7ffu)	/* SCT and SC, without More/DNR/CRD */

/* Generic Command Status (SCT 0), §4.6.1.2.1 */
#define NVME_SC_SUCCESS		0x00
#define NVME_SC_INVALID_OPCODE	0x01
#define NVME_SC_INVALID_FIELD	0x02
#define NVME_SC_DATA_XFER_ERROR	0x04
#define NVME_SC_ABORT_REQ	0x07	/* Command Abort Requested */
#define NVME_SC_SQ_DELETED	0x08	/* Command Aborted due to SQ Deletion */
#define NVME_SC_INVALID_NS	0x0b	/* Invalid Namespace or Format */
#define NVME_SC_LBA_RANGE	0x80	/* LBA Out of Range */
#define NVME_SC_CAP_EXCEEDED	0x81	/* Capacity Exceeded */
/* Command Specific Status (SCT 1), §4.6.1.2.2 */
#define NVME_SCT_CMD_SPECIFIC	1
#define NVME_SC_QID_INVALID	0x01	/* Invalid Queue Identifier (Create I/O queues) */
#define NVME_SC_QSIZE_INVALID	0x02	/* Invalid Queue Size */
#define NVME_SC_ABORT_LIMIT	0x03	/* Abort Command Limit Exceeded */
#define NVME_SC_IV_INVALID	0x08	/* Invalid Interrupt Vector */

/* ---- Admin commands, §5 (2.0 §5) ---- */
#define NVME_ADM_DELETE_SQ	0x00	/* §5.6 */
#define NVME_ADM_CREATE_SQ	0x01	/* §5.4 */
#define NVME_ADM_DELETE_CQ	0x04	/* §5.5 */
#define NVME_ADM_CREATE_CQ	0x05	/* §5.3 */
#define NVME_ADM_IDENTIFY	0x06	/* §5.15 */
#define NVME_ADM_ABORT		0x08	/* §5.1 */
#define NVME_ADM_SET_FEATURES	0x09	/* §5.21 */
#define NVME_ADM_GET_LOG_PAGE	0x02	/* §5.14 */
#define NVME_ADM_GET_FEATURES	0x0a	/* §5.13 */
#define NVME_ADM_ASYNC_EVENT	0x0c	/* §5.2 Asynchronous Event Request */

/* Asynchronous Event Request completion DW0 (§5.2.1): type, information, log page. */
#define NVME_AER_TYPE(dw0)	((dw0) & 0x7u)
#define NVME_AER_INFO(dw0)	(((dw0) >> 8) & 0xffu)
#define NVME_AER_LOG(dw0)	(((dw0) >> 16) & 0xffu)
#define NVME_AER_TYPE_ERROR	0
#define NVME_AER_TYPE_SMART	1
#define NVME_AER_TYPE_NOTICE	2
#define NVME_AER_NOTICE_NS_CHANGED	0x00	/* Namespace Attribute Changed (§5.2.1) */

/* Get Log Page CDW10 (§5.14): LID 7:0, RAE bit 15, NUMDL 31:16 (dwords, 0's based). */
#define NVME_LOG_CDW10(lid, bytes)	((uint32_t)(lid) | (uint32_t)((bytes) / 4u - 1u) << 16)
#define NVME_LOG_CHANGED_NS	0x04	/* Changed Namespace List (§5.14.1.4): 1024 NSIDs */
#define NVME_LOG_CHANGED_NS_MANY	0xffffffffu	/* its first entry: more than 1024 changed */

/* Create I/O CQ CDW11, §5.3: PC (physically contiguous), IEN, IV 31:16. */
#define NVME_CQ_PC		(1u << 0)
#define NVME_CQ_IEN		(1u << 1)
#define NVME_CQ_IV(v)		((uint32_t)(v) << 16)
/* Create I/O SQ CDW11, §5.4: PC, QPRIO 2:1 (ignored under round robin), CQID 31:16. */
#define NVME_SQ_PC		(1u << 0)
#define NVME_SQ_CQID(q)		((uint32_t)(q) << 16)
/* Create/Delete queue CDW10: QID 15:0, QSIZE 31:16 (0's based). */
#define NVME_QUEUE_CDW10(qid, size)	((uint32_t)(qid) | ((uint32_t)((size) - 1) << 16))

/* Identify CNS values, §5.15.1 (figure "CNS values") */
#define NVME_CNS_NS		0x00	/* Identify Namespace data structure */
#define NVME_CNS_CTRL		0x01	/* Identify Controller data structure */
#define NVME_CNS_NS_ACTIVE	0x02	/* Active Namespace ID list: up to 1024 NSIDs above CDW1.NSID */

/* Set Features, §5.21.1: Number of Queues (FID 07h, §5.21.1.7). */
#define NVME_FEAT_NUM_QUEUES	0x07
/* Asynchronous Event Configuration (FID 0Bh, §5.21.1.11): bit 8, Namespace Attribute Notices. */
#define NVME_FEAT_ASYNC_EVENT	0x0b
#define NVME_AEC_NS_ATTR	(1u << 8)
/* CDW11 and the completion's DW0: NSQR 15:0, NCQR 31:16, both 0's based. */

/* ---- NVM command set, §6 (2.0: NVM Command Set Specification §3) ---- */
#define NVME_CMD_FLUSH		0x00	/* §6.8 */
#define NVME_CMD_WRITE		0x01	/* §6.15 */
#define NVME_CMD_READ		0x02	/* §6.9 */
#define NVME_CMD_WRITE_ZEROES	0x08	/* §6.17 */
#define NVME_CMD_DSM		0x09	/* Dataset Management, §6.7 */

/* Read/Write/Write Zeroes: CDW10-11 SLBA, CDW12 NLB 15:0 (0's based), FUA bit 30. */
#define NVME_RW_FUA		(1u << 30)
#define NVME_WZ_DEAC		(1u << 25)	/* Write Zeroes: deallocate (§6.17) */
#define NVME_RW_MAX_NLB		65536u		/* NLB is 16 bits, 0's based */
/* Dataset Management: CDW10 NR 7:0 (0's based), CDW11 AD bit 2 (deallocate). */
#define NVME_DSM_AD		(1u << 2)
struct nvme_dsm_range {		/* §6.7, figure "Dataset Management - Range Definition" */
	uint32_t cattr;
	uint32_t nlb;		/* length in logical blocks: NOT 0's based */
	uint64_t slba;
};

/* ---- Identify Controller data structure, §5.15.2.2 (byte offsets) ---- */
#define NVME_IDC_VID		0	/* 2 bytes */
#define NVME_IDC_SN		4	/* 20 bytes, ASCII, space padded */
#define NVME_IDC_MN		24	/* 40 bytes */
#define NVME_IDC_FR		64	/* 8 bytes */
#define NVME_IDC_MDTS		77	/* max transfer 2^MDTS * CAP.MPSMIN pages; 0: no limit */
#define NVME_IDC_CNTLID		78	/* 2 bytes */
#define NVME_IDC_VER		80	/* 4 bytes */
#define NVME_IDC_OAES		92	/* 4 bytes: Optional Asynchronous Events Supported */
#define NVME_OAES_NS_ATTR	(1u << 8)	/* Namespace Attribute Notices */
#define NVME_IDC_ACL		258	/* Abort Command Limit, 0's based */
#define NVME_IDC_AERL		259	/* Asynchronous Event Request Limit, 0's based */
#define NVME_IDC_SQES		512	/* required 3:0 / maximum 7:4 log2 sizes */
#define NVME_IDC_CQES		513
#define NVME_IDC_NN		516	/* 4 bytes: Number of Namespaces */
#define NVME_IDC_ONCS		520	/* 2 bytes: Optional NVM Command Support */
#define NVME_IDC_VWC		525	/* Volatile Write Cache present: bit 0 */
#define NVME_ONCS_DSM		(1u << 2)
#define NVME_ONCS_WRITE_ZEROES	(1u << 3)

/* ---- Identify Namespace data structure, §5.15.2.1 (NVM: 2.0 NVM CS §4.1.5.1) ---- */
#define NVME_IDNS_NSZE		0	/* 8 bytes: size in logical blocks */
#define NVME_IDNS_NCAP		8
#define NVME_IDNS_NUSE		16
#define NVME_IDNS_NLBAF		25	/* number of LBA formats, 0's based */
#define NVME_IDNS_FLBAS		26	/* 3:0 the format in use (2.0: 6:5 its high bits), bit 4 metadata at end of LBA */
#define NVME_IDNS_NGUID		104	/* 16 bytes: Namespace Globally Unique Identifier */
#define NVME_IDNS_EUI64		120	/* 8 bytes: IEEE Extended Unique Identifier */
#define NVME_IDNS_LBAF(i)	(128 + 4 * (i))	/* MS 15:0, LBADS 23:16 (log2), RP 25:24 */

/* The data structures are little endian (§1.5 conventions), our CPU need not be. */
static inline uint16_t nvme_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t nvme_le32(const uint8_t *p)
{
	return (uint32_t)nvme_le16(p) | (uint32_t)nvme_le16(p + 2) << 16;
}
static inline uint64_t nvme_le64(const uint8_t *p)
{
	return (uint64_t)nvme_le32(p) | (uint64_t)nvme_le32(p + 4) << 32;
}

#endif /* NVME_REGS_H */
