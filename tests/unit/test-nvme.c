/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme, the part that needs no device (cmd.c): one request to one
 * NVMe command.  The encodings are the NVMe Base Specification 1.4's:
 * Read/Write §6.9/§6.15 (SLBA CDW10-11, NLB 0's based, FUA bit 30), PRPs
 * §4.3, Write Zeroes §6.17, Dataset Management §6.7 (range NLB 1-based),
 * Flush §6.8; and the request checks (namespace, alignment, MDTS, ONCS).
 * The rest runs against QEMU's controller in the VM (tests/vm/nvme.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nvme.h"

#define BOUNCE_IOVA	0x40000000ULL
#define PRP_IOVA	0x50000800ULL

static struct nvme_ns ns512 = { .nsid = 1, .blocks = 32768, .lba_shift = 9, .usable = true };
static struct nvme_ns ns4k = { .nsid = 2, .blocks = 4096, .lba_shift = 12, .usable = true };
static uint8_t bounce[512 * 1024] __attribute__((aligned(4096)));
static uint64_t prp[512];
static uint8_t data[512 * 1024];

static struct nvme_slot slot(void)
{
	struct nvme_slot s = { .bounce = bounce, .bounce_iova = BOUNCE_IOVA, .prp = prp,
			       .prp_iova = PRP_IOVA };

	memset(prp, 0xee, sizeof(prp));
	return s;
}

static void test_read_one_page(void **state)
{
	struct nvme_req r = { .op = NVME_OP_READ, .nsid = 1, .offset = 17 * 512, .length = 4096, .buf = data };
	struct nvme_slot s = slot();
	struct nvme_sqe sqe;

	(void)state;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), 0);
	nvme_build_cmd(&ns512, &r, &s, &sqe);
	assert_int_equal(sqe.opcode, NVME_CMD_READ);
	assert_int_equal(sqe.nsid, 1);
	assert_int_equal(sqe.flags, 0);			/* PRPs, not SGLs; no fused op */
	assert_true(sqe.prp1 == BOUNCE_IOVA);
	assert_true(sqe.prp2 == 0);			/* one page: PRP2 unused */
	assert_int_equal(sqe.cdw10, 17);
	assert_int_equal(sqe.cdw11, 0);
	assert_int_equal(sqe.cdw12, 7);			/* 8 blocks, 0's based */
	assert_true(prp[0] == 0xeeeeeeeeeeeeeeeeULL);	/* no list */
}

static void test_write_two_pages_fua(void **state)
{
	struct nvme_req r = { .op = NVME_OP_WRITE, .nsid = 2, .offset = (uint64_t)0x123456789 << 12,
			      .length = 8192, .buf = data, .fua = true };
	struct nvme_slot s = slot();
	struct nvme_sqe sqe;
	unsigned int i;

	(void)state;
	for (i = 0; i < 8192; i++)
		data[i] = (uint8_t)(i * 7);
	memset(bounce, 0, 8192);
	nvme_build_cmd(&ns4k, &r, &s, &sqe);
	assert_int_equal(sqe.opcode, NVME_CMD_WRITE);
	assert_true(sqe.prp1 == BOUNCE_IOVA);
	assert_true(sqe.prp2 == BOUNCE_IOVA + 4096);	/* the second page itself */
	assert_int_equal(sqe.cdw10, 0x23456789);	/* SLBA low */
	assert_int_equal(sqe.cdw11, 0x1);		/* SLBA high */
	assert_int_equal(sqe.cdw12, 1u | NVME_RW_FUA);
	assert_memory_equal(bounce, data, 8192);	/* the data went to the bounce buffer */
}

static void test_prp_list(void **state)
{
	static const uint32_t lens[] = { 12288, 65536, 131072, 524288 };
	unsigned int i, j;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct nvme_req r = { .op = NVME_OP_READ, .nsid = 1, .length = lens[i], .buf = data };
		struct nvme_slot s = slot();
		struct nvme_sqe sqe;
		uint32_t pages = lens[i] / 4096;

		assert_int_equal(nvme_check_req(&ns512, 524288, 0, &r), 0);
		nvme_build_cmd(&ns512, &r, &s, &sqe);
		assert_true(sqe.prp1 == BOUNCE_IOVA);
		assert_true(sqe.prp2 == PRP_IOVA);	/* more than two pages: the list */
		for (j = 1; j < pages; j++)
			assert_true(prp[j - 1] == BOUNCE_IOVA + 4096ULL * j);
		assert_true(prp[pages - 1] == 0xeeeeeeeeeeeeeeeeULL);	/* nothing past the end */
		assert_int_equal(sqe.cdw12, lens[i] / 512 - 1);
	}
}

static void test_write_zeroes_dsm_flush(void **state)
{
	struct nvme_req wz = { .op = NVME_OP_WRITE_ZEROES, .nsid = 1, .offset = 1024, .length = 65536 * 512 };
	struct nvme_req dsm = { .op = NVME_OP_TRIM, .nsid = 1, .offset = 4096, .length = 1 << 20 };
	struct nvme_req fl = { .op = NVME_OP_FLUSH, .nsid = 1, .offset = 3, .length = 5 };
	const struct nvme_dsm_range *rg = (const void *)bounce;
	uint16_t oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	struct nvme_slot s = slot();
	struct nvme_sqe sqe;

	(void)state;
	assert_int_equal(nvme_check_req(&ns512, 131072, oncs, &wz), 0);	/* no max_transfer: no data */
	nvme_build_cmd(&ns512, &wz, &s, &sqe);
	assert_int_equal(sqe.opcode, NVME_CMD_WRITE_ZEROES);
	assert_int_equal(sqe.cdw10, 2);
	assert_int_equal(sqe.cdw12, 65535);
	assert_true(sqe.prp1 == 0);
	wz.length += 512;					/* NLB is 16 bits */
	assert_int_equal(nvme_check_req(&ns512, 131072, oncs, &wz), -EINVAL);
	assert_int_equal(nvme_check_req(&ns512, 131072, NVME_ONCS_DSM, &wz), -EOPNOTSUPP);

	assert_int_equal(nvme_check_req(&ns512, 131072, oncs, &dsm), 0);
	nvme_build_cmd(&ns512, &dsm, &s, &sqe);
	assert_int_equal(sqe.opcode, NVME_CMD_DSM);
	assert_int_equal(sqe.cdw10, 0);				/* one range */
	assert_int_equal(sqe.cdw11, NVME_DSM_AD);
	assert_true(sqe.prp1 == BOUNCE_IOVA);
	assert_int_equal(rg->nlb, 2048);			/* not 0's based */
	assert_true(rg->slba == 8);
	assert_int_equal(rg->cattr, 0);
	assert_int_equal(nvme_check_req(&ns512, 131072, NVME_ONCS_WRITE_ZEROES, &dsm), -EOPNOTSUPP);

	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &fl), 0);	/* offset/length ignored */
	nvme_build_cmd(&ns512, &fl, &s, &sqe);
	assert_int_equal(sqe.opcode, NVME_CMD_FLUSH);
	assert_int_equal(sqe.nsid, 1);
	assert_int_equal(sqe.cdw10, 0);
	assert_true(sqe.prp1 == 0);
}

static void test_checks(void **state)
{
	struct nvme_req r = { .op = NVME_OP_READ, .nsid = 1, .offset = 0, .length = 4096, .buf = data };
	struct nvme_ns bad = ns512;

	(void)state;
	assert_int_equal(nvme_check_req(NULL, 131072, 0, &r), -ENXIO);
	bad.usable = false;
	assert_int_equal(nvme_check_req(&bad, 131072, 0, &r), -ENXIO);
	r.length = 0;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);
	r.length = 1000;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);
	r.length = 512;
	r.offset = 100;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);
	r.offset = 512;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), 0);
	assert_int_equal(nvme_check_req(&ns4k, 131072, 0, &r), -EINVAL);	/* 512 B on 4 KiB blocks */
	r.length = 131072 + 512;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);	/* above max_transfer */
	r.length = 512;
	r.buf = NULL;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);
	r.buf = data;
	r.op = (enum nvme_op)42;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), -EINVAL);
	/* Beyond the namespace is the controller's to refuse (LBA Out of Range). */
	r.op = NVME_OP_READ;
	r.offset = ns512.blocks << 9;
	assert_int_equal(nvme_check_req(&ns512, 131072, 0, &r), 0);
}

/* §4.6 / §4.6.1: Phase Tag in bit 0, SC 8:1, SCT 11:9, DNR 15 of the status word. */
static void test_status(void **state)
{
	uint16_t word = (uint16_t)(1u | NVME_SC_LBA_RANGE << 1 | 0u << 9 | 1u << 15);
	uint16_t st = NVME_CQE_STATUS(word);

	(void)state;
	assert_int_equal(NVME_CQE_PHASE(word), 1);
	assert_int_equal(NVME_SC(st), NVME_SC_LBA_RANGE);
	assert_int_equal(NVME_SCT(st), 0);
	assert_int_equal(NVME_DNR(st), 1);
	assert_int_equal(NVME_STATUS_CODE(st), 0x80);
	word = (uint16_t)(NVME_SC_QSIZE_INVALID << 1 | 1u << 9);
	st = NVME_CQE_STATUS(word);
	assert_int_equal(NVME_SCT(st), NVME_SCT_CMD_SPECIFIC);
	assert_int_equal(NVME_SC(st), NVME_SC_QSIZE_INVALID);
	assert_int_equal(NVME_CQE_PHASE(word), 0);
	/* Doorbells (§3.1.24-25), with and without a stride. */
	assert_int_equal(NVME_SQ_DB(0, 0), 0x1000);
	assert_int_equal(NVME_CQ_DB(0, 0), 0x1004);
	assert_int_equal(NVME_SQ_DB(3, 0), 0x1018);
	assert_int_equal(NVME_CQ_DB(3, 2), 0x1000 + 7 * 16);
	assert_int_equal(NVME_AQA(32, 64), 0x003f001f);
	assert_int_equal(NVME_QUEUE_CDW10(5, 32), 0x001f0005);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_one_page),
		cmocka_unit_test(test_write_two_pages_fua),
		cmocka_unit_test(test_prp_list),
		cmocka_unit_test(test_write_zeroes_dsm_flush),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
