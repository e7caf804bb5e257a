/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: one request (struct nvme_req, what dbk_block hands over:
 * op, offset, length, buffer) to one NVMe command.  Pure: no device, so
 * the host unit tests (tests/unit/test-nvme.c) check every encoding.
 *
 * Read and Write (§6.9, §6.15): SLBA in CDW10-11, NLB (0's based) in
 * CDW12 15:0, FUA in CDW12 bit 30; the data in the slot's bounce buffer,
 * described by PRPs (§4.3): PRP1 the first page (offset 0: bounce
 * buffers are page aligned), PRP2 the second page if the transfer ends
 * there, else the address of a PRP list of pages 2..n.  The list is the
 * slot's own, within one page: no chaining.
 * Write Zeroes (§6.17): SLBA, NLB, FUA as in Write; no data (DEAC clear:
 * the blocks stay allocated, as NBD's NO_HOLE may ask).
 * Dataset Management (§6.7): one range (NR = 0), attribute Deallocate;
 * the range (NLB *not* 0's based) in the bounce buffer.
 * Flush (§6.8): the namespace only.
 */
#include <errno.h>
#include <string.h>

#include "nvme.h"

/*
 * -ENXIO: no such (usable) namespace; -EINVAL: a malformed request (no
 * length, misaligned, longer than max_transfer, or than NLB can say);
 * -EOPNOTSUPP: a command ONCS does not list.  Ranges beyond the
 * namespace go to the controller, which answers LBA Out of Range
 * (§4.6.1.2.1): that is its job, and the self-test checks the answer
 * comes back as an NVMe status.
 */
int nvme_check_req(const struct nvme_ns *ns, uint32_t max_transfer, uint16_t oncs,
		   const struct nvme_req *req)
{
	uint32_t mask;

	if (!ns || !ns->usable)
		return -ENXIO;
	if (req->op == NVME_OP_FLUSH)
		return 0;
	mask = (1u << ns->lba_shift) - 1;
	if (!req->length || (req->length & mask) || (req->offset & mask))
		return -EINVAL;
	switch (req->op) {
	case NVME_OP_READ:
	case NVME_OP_WRITE:
		return req->length > max_transfer || !req->buf ? -EINVAL : 0;
	case NVME_OP_WRITE_ZEROES:
		if (!(oncs & NVME_ONCS_WRITE_ZEROES))
			return -EOPNOTSUPP;
		return (req->length >> ns->lba_shift) > NVME_RW_MAX_NLB ? -EINVAL : 0;
	case NVME_OP_TRIM:
		return oncs & NVME_ONCS_DSM ? 0 : -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

/*
 * @req passed nvme_check_req(); @s is the command's slot (bounce buffer,
 * PRP list).  Whether the write's data was copied into the bounce buffer.
 */
bool nvme_build_cmd(const struct nvme_ns *ns, const struct nvme_req *req, struct nvme_slot *s,
		    struct nvme_sqe *sqe)
{
	uint64_t slba = req->offset >> ns->lba_shift;
	uint32_t nlb = req->length >> ns->lba_shift, pages, i;

	memset(sqe, 0, sizeof(*sqe));
	sqe->nsid = req->nsid;
	switch (req->op) {
	case NVME_OP_READ:
	case NVME_OP_WRITE:
		sqe->opcode = req->op == NVME_OP_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
		pages = (req->length + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
		sqe->prp1 = s->bounce_iova;
		if (pages == 2) {
			sqe->prp2 = s->bounce_iova + NVME_PAGE_SIZE;
		} else if (pages > 2) {
			for (i = 1; i < pages; i++)
				s->prp[i - 1] = s->bounce_iova + (uint64_t)i * NVME_PAGE_SIZE;
			sqe->prp2 = s->prp_iova;
		}
		sqe->cdw10 = (uint32_t)slba;
		sqe->cdw11 = (uint32_t)(slba >> 32);
		sqe->cdw12 = (nlb - 1u) | (req->fua ? NVME_RW_FUA : 0);
		/* Unless the request's buffer is the slot's own (nvme_io_lend()). */
		if (req->op == NVME_OP_WRITE && req->buf != s->bounce) {
			memcpy(s->bounce, req->buf, req->length);
			return true;
		}
		break;
	case NVME_OP_FLUSH:
		sqe->opcode = NVME_CMD_FLUSH;
		break;
	case NVME_OP_WRITE_ZEROES:
		sqe->opcode = NVME_CMD_WRITE_ZEROES;
		sqe->cdw10 = (uint32_t)slba;
		sqe->cdw11 = (uint32_t)(slba >> 32);
		sqe->cdw12 = (nlb - 1u) | (req->fua ? NVME_RW_FUA : 0);	/* FUA: CDW12 bit 30 too */
		break;
	case NVME_OP_TRIM: {
		struct nvme_dsm_range *rg = s->bounce;

		memset(rg, 0, sizeof(*rg));
		rg->nlb = nlb;
		rg->slba = slba;
		sqe->opcode = NVME_CMD_DSM;
		sqe->prp1 = s->bounce_iova;
		sqe->cdw10 = 0;			/* NR: one range */
		sqe->cdw11 = NVME_DSM_AD;
		break;
	}
	}
	return false;
}
