/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/usb-storage, the parts that need no device: Bulk-Only Transport
 * CBW encoding, CSW validation (valid / meaningful / phase error), the
 * residue rules and what the host does after each stage; SCSI CDBs, sense
 * data, INQUIRY and capacity answers (including broken ones); and the
 * read-modify-write of partial blocks, against memory.  The transport
 * itself runs against QEMU's usb-storage in the VM (tests/vm/usb-storage.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bot.h"
#include "disk.h"
#include "scsi.h"
#include "util.h"

/* ---- BOT: CBW ---- */

static void test_cbw_encode(void **state)
{
	/* READ(10), LBA 0x12345678, 8 blocks: QEMU's dev-storage layout
	 * (struct usb_msd_cbw) and BOT table 5.1. */
	static const uint8_t want[BOT_CBW_LEN] = {
		0x55, 0x53, 0x42, 0x43,		/* "USBC" */
		0x04, 0x03, 0x02, 0x01,		/* tag */
		0x00, 0x10, 0x00, 0x00,		/* 4096 bytes */
		0x80, 0x00, 0x0a,		/* IN, LUN 0, 10-byte CDB */
		0x28, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x08, 0x00,
		0, 0, 0, 0, 0, 0,
	};
	uint8_t cbw[BOT_CBW_LEN], cdb[16];
	size_t len;

	(void)state;
	len = scsi_cdb_rw(cdb, 0, 0x12345678, 8);
	assert_int_equal(len, 10);
	memset(cbw, 0xff, sizeof(cbw));
	assert_int_equal(bot_cbw_encode(cbw, 0x01020304, 4096, BOT_DIR_IN, 0, cdb,
					(uint8_t)len), 0);
	assert_memory_equal(cbw, want, sizeof(want));

	/* OUT and no data: bmCBWFlags bit 7 clear; the LUN goes in byte 13. */
	assert_int_equal(bot_cbw_encode(cbw, 7, 512, BOT_DIR_OUT, 3, cdb, 10), 0);
	assert_int_equal(cbw[12], 0);
	assert_int_equal(cbw[13], 3);
	assert_int_equal(bot_cbw_encode(cbw, 7, 0, BOT_DIR_NONE, 0, cdb, 6), 0);
	assert_int_equal(cbw[12], 0);
	assert_int_equal(cbw[14], 6);
}

static void test_cbw_refuses(void **state)
{
	uint8_t cbw[BOT_CBW_LEN], cdb[17] = { 0 };

	(void)state;
	assert_int_equal(bot_cbw_encode(cbw, 1, 0, BOT_DIR_NONE, 0, NULL, 6), -EINVAL);
	assert_int_equal(bot_cbw_encode(cbw, 1, 0, BOT_DIR_NONE, 0, cdb, 0), -EINVAL);
	assert_int_equal(bot_cbw_encode(cbw, 1, 0, BOT_DIR_NONE, 0, cdb, 17), -EINVAL);
	assert_int_equal(bot_cbw_encode(cbw, 1, 0, BOT_DIR_NONE, 16, cdb, 6), -EINVAL);
	/* Data needs a direction, a direction needs data. */
	assert_int_equal(bot_cbw_encode(cbw, 1, 512, BOT_DIR_NONE, 0, cdb, 10), -EINVAL);
	assert_int_equal(bot_cbw_encode(cbw, 1, 0, BOT_DIR_IN, 0, cdb, 10), -EINVAL);
	assert_int_equal(bot_cbw_encode(cbw, 1, 512, (enum bot_dir)7, 0, cdb, 10), -EINVAL);
}

/* ---- BOT: CSW ---- */

static void csw(uint8_t *b, uint32_t sig, uint32_t tag, uint32_t residue, uint8_t status)
{
	int i;

	for (i = 0; i < 4; i++) {
		b[i] = (uint8_t)(sig >> (8 * i));
		b[4 + i] = (uint8_t)(tag >> (8 * i));
		b[8 + i] = (uint8_t)(residue >> (8 * i));
	}
	b[12] = status;
}

static void test_csw_check(void **state)
{
	uint8_t b[16] = { 0 }, status = 0xee;
	uint32_t residue = 0xeeeeeeee;

	(void)state;
	csw(b, BOT_CSW_SIGNATURE, 42, 0, 0);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), 0);
	assert_int_equal(status, 0);
	assert_int_equal(residue, 0);
	/* Failed, with a residue up to the whole length: valid, meaningful. */
	csw(b, BOT_CSW_SIGNATURE, 42, 512, 1);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), 0);
	assert_int_equal(status, 1);
	assert_int_equal(residue, 512);

	/* Not valid (BOT 6.3.1): size, signature, tag. */
	csw(b, BOT_CSW_SIGNATURE, 42, 0, 0);
	assert_int_equal(bot_csw_check(b, 12, 42, 512, &status, &residue), -EBADMSG);
	assert_int_equal(bot_csw_check(b, 14, 42, 512, &status, &residue), -EBADMSG);
	assert_int_equal(bot_csw_check(b, 0, 42, 512, &status, &residue), -EBADMSG);
	assert_int_equal(bot_csw_check(b, 13, 43, 512, &status, &residue), -EBADMSG);
	csw(b, BOT_CBW_SIGNATURE, 42, 0, 0);	/* "USBC": an echoed CBW */
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), -EBADMSG);

	/* Not meaningful (BOT 6.3.2): residue beyond the length, unknown status. */
	csw(b, BOT_CSW_SIGNATURE, 42, 513, 0);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), -ERANGE);
	csw(b, BOT_CSW_SIGNATURE, 42, 1, 0);
	assert_int_equal(bot_csw_check(b, 13, 42, 0, &status, &residue), -ERANGE);
	csw(b, BOT_CSW_SIGNATURE, 42, 0, 3);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), -ERANGE);
	csw(b, BOT_CSW_SIGNATURE, 42, 0, 0xff);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), -ERANGE);

	/* Phase error: whatever its residue says. */
	csw(b, BOT_CSW_SIGNATURE, 42, 0xffffffff, 2);
	assert_int_equal(bot_csw_check(b, 13, 42, 512, &status, &residue), -EPROTO);
	assert_int_equal(status, 2);
}

static void test_valid_data(void **state)
{
	(void)state;
	/* Everything moved, nothing left over. */
	assert_int_equal(bot_valid_data(4096, 4096, 0), 4096);
	/* Hi > Di, padded (QEMU): 1024 moved, 512 meant. */
	assert_int_equal(bot_valid_data(1024, 1024, 512), 512);
	/* Hi > Di, a short packet, residue consistent. */
	assert_int_equal(bot_valid_data(1024, 512, 512), 512);
	/* A short stage the residue does not admit: what arrived. */
	assert_int_equal(bot_valid_data(1024, 100, 0), 100);
	/* A data stage STALLed at once. */
	assert_int_equal(bot_valid_data(512, 0, 512), 0);
	/* A residue beyond the length (already refused by bot_csw_check()):
	 * never more than nothing. */
	assert_int_equal(bot_valid_data(512, 512, 0xffffffff), 0);
	/* More on the bus than asked (the caller's bigger buffer). */
	assert_int_equal(bot_valid_data(512, 1024, 0), 512);
}

static void test_classify(void **state)
{
	(void)state;
	/* Command stage. */
	assert_int_equal(bot_classify(BOT_STAGE_CBW, BOT_DIR_IN, 0, 31, 31), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_CBW, BOT_DIR_IN, LIBUSB_ERROR_PIPE, 0, 31),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CBW, BOT_DIR_IN, 0, 30, 31),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CBW, BOT_DIR_IN, LIBUSB_ERROR_TIMEOUT, 0, 31),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CBW, BOT_DIR_IN, LIBUSB_ERROR_NO_DEVICE, 0, 31),
			 BOT_GONE);
	/* Data stage. */
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, 0, 512, 512), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, 0, 100, 512), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, 0, 0, 512), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_OUT, 0, 512, 512), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_OUT, 0, 100, 512),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, 0, 513, 512),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, LIBUSB_ERROR_PIPE, 10, 512),
			 BOT_CLEAR_HALT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_OUT, LIBUSB_ERROR_PIPE, 0, 512),
			 BOT_CLEAR_HALT);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, LIBUSB_ERROR_OVERFLOW, 512, 512),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_IN, LIBUSB_ERROR_TIMEOUT, 0, 512),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_DATA, BOT_DIR_OUT, LIBUSB_ERROR_NO_DEVICE, 0, 512),
			 BOT_GONE);
	/* Status stage. */
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, 0, 13, 13), BOT_NEXT);
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, LIBUSB_ERROR_PIPE, 0, 13),
			 BOT_CLEAR_HALT);
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, 0, 12, 13),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, LIBUSB_ERROR_OVERFLOW, 13, 13),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, LIBUSB_ERROR_IO, 0, 13),
			 BOT_RESET_RECOVERY);
	assert_int_equal(bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, LIBUSB_ERROR_NO_DEVICE, 0, 13),
			 BOT_GONE);
}

static void test_find_endpoints(void **state)
{
	struct libusb_endpoint_descriptor eps[3] = {
		{ .bEndpointAddress = 0x81, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK },
		{ .bEndpointAddress = 0x02, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK },
		{ .bEndpointAddress = 0x83, .bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT },
	};
	struct libusb_interface_descriptor alt = {
		.bInterfaceClass = 0x08, .bInterfaceSubClass = 0x06,
		.bInterfaceProtocol = 0x50, .bNumEndpoints = 2, .endpoint = eps,
	};
	uint8_t in = 0, out = 0;

	(void)state;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), 0);	/* QEMU's */
	assert_int_equal(in, 0x81);
	assert_int_equal(out, 0x02);
	/* The interrupt endpoint is not a bulk one, whatever its order. */
	eps[0].bEndpointAddress = 0x83;
	eps[0].bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT;
	eps[2].bEndpointAddress = 0x85;
	eps[2].bmAttributes = LIBUSB_TRANSFER_TYPE_BULK;
	alt.bNumEndpoints = 3;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), 0);
	assert_int_equal(in, 0x85);
	assert_int_equal(out, 0x02);
	/* No bulk IN: refused. */
	alt.bNumEndpoints = 2;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), -ENOENT);
	/* CBI (protocol 00/01), UFI (subclass 04), HID: not ours. */
	alt.bInterfaceProtocol = 0x01;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), -ENODEV);
	alt.bInterfaceProtocol = 0x50;
	alt.bInterfaceSubClass = 0x04;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), -ENODEV);
	alt.bInterfaceSubClass = 0x06;
	alt.bInterfaceClass = 0x03;
	assert_int_equal(bot_find_endpoints(&alt, &in, &out), -ENODEV);
}

/* ---- SCSI ---- */

static void test_cdbs(void **state)
{
	static const uint8_t read10[10] = { 0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x00, 0 };
	static const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0 };
	static const uint8_t read16[16] = {
		0x88, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0,
	};
	static const uint8_t cap16[16] = {
		0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0,
	};
	static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	static const uint8_t sense[6] = { 0x03, 0, 0, 0, 18, 0 };
	static const uint8_t sync10[10] = { 0x35 };
	uint8_t cdb[16];

	(void)state;
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0x12345678, 256), 10);
	assert_memory_equal(cdb, read10, 10);
	assert_int_equal(scsi_cdb_rw(cdb, 1, 0, 0xffff), 10);
	assert_memory_equal(cdb, write10, 10);
	/* Beyond what READ(10) can say: READ(16). */
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0x100000000ull, 8), 16);
	assert_memory_equal(cdb, read16, 16);
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0xfffffff8ull, 9), 16);	/* ends past 2^32 */
	assert_int_equal(scsi_cdb_rw(cdb, 1, 0, 0x10000), 16);
	assert_int_equal(cdb[0], SCSI_WRITE16);
	assert_int_equal(scsi_cdb_read_capacity16(cdb, 32), 16);
	assert_memory_equal(cdb, cap16, 16);
	assert_int_equal(scsi_cdb_inquiry(cdb, 36), 6);
	assert_memory_equal(cdb, inquiry, 6);
	assert_int_equal(scsi_cdb_request_sense(cdb, 18), 6);
	assert_memory_equal(cdb, sense, 6);
	assert_int_equal(scsi_cdb_synchronize_cache10(cdb), 10);
	assert_memory_equal(cdb, sync10, 10);
	assert_int_equal(scsi_cdb_test_unit_ready(cdb), 6);
	assert_int_equal(cdb[0], 0);
}

static void test_sense(void **state)
{
	/* Fixed format, current: MEDIUM ERROR, unrecovered read error. */
	uint8_t fixed[18] = { 0xf0, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x00 };
	/* Descriptor format: NOT READY, medium not present. */
	uint8_t desc[8] = { 0x72, 0x02, 0x3a, 0x00 };
	struct scsi_sense s;

	(void)state;
	assert_int_equal(scsi_parse_sense(fixed, sizeof(fixed), &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_MEDIUM_ERROR);
	assert_int_equal(s.asc, 0x11);
	assert_int_equal(scsi_sense_errno(&s), -EIO);
	assert_string_equal(scsi_sense_key_name(s.key), "MEDIUM ERROR");
	assert_string_equal(scsi_asc_text(s.asc, s.ascq), "unrecovered read error");
	assert_int_equal(scsi_parse_sense(desc, sizeof(desc), &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_NOT_READY);
	assert_int_equal(scsi_sense_errno(&s), -ENOMEDIUM);

	/* Too short for ASC/ASCQ: the key alone. */
	fixed[7] = 4;
	assert_int_equal(scsi_parse_sense(fixed, sizeof(fixed), &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_MEDIUM_ERROR);
	assert_int_equal(s.asc, 0);
	assert_int_equal(scsi_parse_sense(fixed, 8, &s), 0);
	assert_int_equal(s.asc, 0);
	/* Not sense data at all. */
	assert_int_equal(scsi_parse_sense(fixed, 2, &s), -EBADMSG);
	assert_int_equal(scsi_parse_sense(fixed, 0, &s), -EBADMSG);
	fixed[0] = 0x00;
	assert_int_equal(scsi_parse_sense(fixed, sizeof(fixed), &s), -EBADMSG);
	assert_int_equal(scsi_parse_sense(desc, 3, &s), -EBADMSG);
}

static void test_sense_errno(void **state)
{
	static const struct { uint8_t key, asc, ascq; int err; } t[] = {
		{ SCSI_SENSE_RECOVERED_ERROR, 0x17, 0x01, 0 },
		{ SCSI_SENSE_NOT_READY, 0x04, 0x01, -EAGAIN },
		{ SCSI_SENSE_NOT_READY, 0x04, 0x02, -EIO },	/* needs a START UNIT */
		{ SCSI_SENSE_NOT_READY, 0x3a, 0x00, -ENOMEDIUM },
		{ SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00, -EIO },
		{ SCSI_SENSE_HARDWARE_ERROR, 0x44, 0x00, -EIO },
		{ SCSI_SENSE_ILLEGAL_REQUEST, 0x20, 0x00, -EOPNOTSUPP },
		{ SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00, -EINVAL },
		{ SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0x00, -EINVAL },
		{ SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00, -EAGAIN },
		{ SCSI_SENSE_UNIT_ATTENTION, 0x28, 0x00, -EAGAIN },
		{ SCSI_SENSE_DATA_PROTECT, 0x27, 0x00, -EROFS },
		{ SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x00, -EAGAIN },
		{ SCSI_SENSE_NO_SENSE, 0x00, 0x00, -EIO },
		{ SCSI_SENSE_MISCOMPARE, 0x1d, 0x00, -EIO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scsi_sense s = { t[i].key, t[i].asc, t[i].ascq };

		assert_int_equal(scsi_sense_errno(&s), t[i].err);
	}
	assert_null(scsi_asc_text(0x99, 0x99));
}

static void test_inquiry(void **state)
{
	/* QEMU's scsi-hd: direct access, "QEMU    QEMU HARDDISK   2.5+". */
	uint8_t b[36] = { 0x00, 0x80, 0x05, 0x02, 31, 0, 0, 0 };
	struct scsi_inquiry inq;

	(void)state;
	memcpy(b + 8, "QEMU    QEMU HARDDISK   2.5+", 28);
	assert_int_equal(scsi_parse_inquiry(b, sizeof(b), &inq), 0);
	assert_int_equal(inq.type, SCSI_TYPE_DISK);
	assert_int_equal(inq.qualifier, 0);
	assert_true(inq.removable);
	assert_string_equal(inq.vendor, "QEMU");
	assert_string_equal(inq.product, "QEMU HARDDISK");
	assert_string_equal(inq.revision, "2.5+");
	/* Control characters and high bytes do not reach the log. */
	b[8] = '\n';
	b[9] = 0xc3;
	assert_int_equal(scsi_parse_inquiry(b, sizeof(b), &inq), 0);
	assert_string_equal(inq.vendor, "  MU");
	/* A CD-ROM, a missing LUN (qualifier 3): parsed, for the caller to refuse. */
	b[0] = 0x05;
	assert_int_equal(scsi_parse_inquiry(b, sizeof(b), &inq), 0);
	assert_int_equal(inq.type, 0x05);
	b[0] = 0x7f;
	assert_int_equal(scsi_parse_inquiry(b, sizeof(b), &inq), 0);
	assert_int_equal(inq.qualifier, 3);
	/* Short answers: what is there, nothing beyond. */
	assert_int_equal(scsi_parse_inquiry(b, 20, &inq), 0);
	assert_string_equal(inq.product, "");
	assert_int_equal(scsi_parse_inquiry(b, 4, &inq), -EBADMSG);
}

static void test_capacity(void **state)
{
	uint8_t b[32] = { 0 };
	uint64_t blocks = 0;
	uint32_t bs = 0;

	(void)state;
	/* QEMU's 16 MiB stick: last LBA 32767, 512-byte blocks. */
	b[2] = 0x7f; b[3] = 0xff; b[6] = 0x02;
	assert_int_equal(scsi_parse_capacity10(b, 8, &blocks, &bs), 0);
	assert_int_equal(blocks, 32768);
	assert_int_equal(bs, 512);
	assert_int_equal(scsi_check_capacity(blocks, bs), 0);
	assert_int_equal(scsi_parse_capacity10(b, 7, &blocks, &bs), -EBADMSG);
	/* 0xffffffff: ask READ CAPACITY(16). */
	memset(b, 0xff, 4);
	assert_int_equal(scsi_parse_capacity10(b, 8, &blocks, &bs), 1);

	/* (16): 2^33 blocks of 4096 bytes (32 TiB). */
	memset(b, 0, sizeof(b));
	b[3] = 0x01; b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; b[7] = 0xff; b[10] = 0x10;
	assert_int_equal(scsi_parse_capacity16(b, 32, &blocks, &bs), 0);
	assert_int_equal(blocks, 0x200000000ull);
	assert_int_equal(bs, 4096);
	assert_int_equal(scsi_check_capacity(blocks, bs), 0);
	assert_int_equal(scsi_parse_capacity16(b, 11, &blocks, &bs), -EBADMSG);
	/* A last LBA of 2^64 - 1 does not wrap to a small disk. */
	memset(b, 0xff, 8);
	assert_int_equal(scsi_parse_capacity16(b, 32, &blocks, &bs), 0);
	assert_int_equal(blocks, 0);
	assert_int_equal(scsi_check_capacity(blocks, bs), -EINVAL);

	/* Broken devices: no blocks, absurd block sizes, beyond off_t. */
	assert_int_equal(scsi_check_capacity(0, 512), -EINVAL);
	assert_int_equal(scsi_check_capacity(1, 0), -EINVAL);
	assert_int_equal(scsi_check_capacity(1000, 520), -EINVAL);
	assert_int_equal(scsi_check_capacity(1000, 8192), -EINVAL);
	assert_int_equal(scsi_check_capacity(1000, 0xffffffffu), -EINVAL);
	assert_int_equal(scsi_check_capacity((1ull << 54) - 1, 512), 0);
	assert_int_equal(scsi_check_capacity(1ull << 54, 512), -EINVAL);
	assert_int_equal(scsi_check_capacity(1000, 2048), 0);
}

/* ---- read-modify-write, against memory ---- */

struct mem {
	uint8_t *data;
	uint32_t bs;
	uint64_t blocks;
	unsigned int reads, writes;
	int fail;		/* the next call fails with this */
	int fail_after;		/* ...after this many calls */
};

static int mem_io(struct mem *m, int write, uint64_t lba, uint32_t n, uint8_t *buf)
{
	/* disk.c never asks beyond the disk, nor for nothing. */
	assert_true(n > 0);
	assert_true(lba + n <= m->blocks);
	if (m->fail && m->fail_after-- == 0)
		return m->fail;
	if (write) {
		m->writes++;
		memcpy(m->data + lba * m->bs, buf, (size_t)n * m->bs);
	} else {
		m->reads++;
		memcpy(buf, m->data + lba * m->bs, (size_t)n * m->bs);
	}
	return 0;
}

static int mem_read(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
	return mem_io(ctx, 0, lba, n, buf);
}

static int mem_write(void *ctx, uint64_t lba, uint32_t n, const void *buf)
{
	return mem_io(ctx, 1, lba, n, (uint8_t *)(uintptr_t)buf);
}

static const struct disk_ops mem_ops = { .read = mem_read, .write = mem_write };

static void rmw_random(uint32_t bs, uint64_t blocks, uint32_t max_blocks)
{
	size_t size = (size_t)(bs * blocks), i;
	uint8_t *model = malloc(size), *buf = malloc(size);
	struct mem m = { .data = malloc(size), .bs = bs, .blocks = blocks };
	struct disk d;
	unsigned int seed = 12345 + bs, k;

	assert_non_null(model);
	assert_non_null(buf);
	assert_non_null(m.data);
	for (i = 0; i < size; i++)
		model[i] = m.data[i] = (uint8_t)rand_r(&seed);
	assert_int_equal(disk_init(&d, &mem_ops, &m, bs, blocks, max_blocks), 0);
	assert_int_equal(disk_size(&d), size);
	for (k = 0; k < 3000; k++) {
		uint64_t off = (uint64_t)rand_r(&seed) % size;
		size_t len = (size_t)rand_r(&seed) % (k % 10 ? 2 * bs + 3 : size);

		/* Ends and block boundaries, often. */
		if (k % 7 == 0)
			off -= off % bs;
		if (k % 11 == 0 && len > 1)
			len -= (off + len) % bs;
		if (k % 13 == 0)
			off = size - 1 - (uint64_t)rand_r(&seed) % 3;
		if (len > size - off)
			len = size - off;
		if (k & 1) {
			for (i = 0; i < len; i++)
				buf[i] = (uint8_t)rand_r(&seed);
			assert_int_equal(disk_pwrite(&d, buf, len, off), (ssize_t)len);
			memcpy(model + off, buf, len);
		} else {
			memset(buf, 0xa5, len);
			assert_int_equal(disk_pread(&d, buf, len, off), (ssize_t)len);
			assert_memory_equal(buf, model + off, len);
		}
		assert_memory_equal(m.data, model, size);
	}
	disk_fini(&d);
	free(model);
	free(buf);
	free(m.data);
}

static void test_rmw_random(void **state)
{
	(void)state;
	rmw_random(512, 64, 5);
	rmw_random(4096, 16, 3);
	rmw_random(512, 40, 1);
}

static void test_rmw_edges(void **state)
{
	uint8_t data[8 * 512] = { 0 }, buf[8 * 512];
	struct mem m = { .data = data, .bs = 512, .blocks = 8 };
	struct disk d;

	(void)state;
	assert_int_equal(disk_init(&d, &mem_ops, &m, 512, 8, 4), 0);
	/* Aligned: whole blocks, no read-modify-write, split at 4 blocks. */
	memset(buf, 1, sizeof(buf));
	assert_int_equal(disk_pwrite(&d, buf, 6 * 512, 512), 6 * 512);
	assert_int_equal(m.reads, 0);
	assert_int_equal(m.writes, 2);
	/* One byte inside a block: one read, one write of that block. */
	m.reads = m.writes = 0;
	assert_int_equal(disk_pwrite(&d, "x", 1, 1000), 1);
	assert_int_equal(m.reads, 1);
	assert_int_equal(m.writes, 1);
	assert_int_equal(data[1000], 'x');
	assert_int_equal(data[999], 1);
	assert_int_equal(data[1001], 1);
	/* Straddling a boundary: both edge blocks, nothing else. */
	m.reads = m.writes = 0;
	assert_int_equal(disk_pwrite(&d, "ab", 2, 1535), 2);
	assert_int_equal(m.reads, 2);
	assert_int_equal(m.writes, 2);
	assert_memory_equal(data + 1535, "ab", 2);
	/* Reads: short at the end, nothing past it. */
	assert_int_equal(disk_pread(&d, buf, 100, 8 * 512 - 10), 10);
	assert_int_equal(disk_pread(&d, buf, 100, 8 * 512), 0);
	assert_int_equal(disk_pread(&d, buf, 0, 0), 0);
	/* Writes never grow the disk. */
	assert_int_equal(disk_pwrite(&d, buf, 11, 8 * 512 - 10), -ENOSPC);
	assert_int_equal(disk_pwrite(&d, buf, 1, 8 * 512), -ENOSPC);
	assert_int_equal(disk_pwrite(&d, buf, 10, 8 * 512 - 10), 10);
	/* Errors come through, whichever part fails. */
	m.fail = -ENODEV;
	m.fail_after = 0;
	assert_int_equal(disk_pread(&d, buf, 10, 5), -ENODEV);
	m.fail = -EIO;
	m.fail_after = 1;	/* the head's read works, its write fails */
	assert_int_equal(disk_pwrite(&d, buf, 600, 5), -EIO);
	m.fail = -EIO;
	m.fail_after = 3;	/* head read+write, one whole block, then the tail's read */
	assert_int_equal(disk_pwrite(&d, buf, 1100, 5), -EIO);
	m.fail = 0;
	disk_fini(&d);
	/* Block sizes that are not powers of two, no blocks: refused. */
	assert_int_equal(disk_init(&d, &mem_ops, &m, 520, 8, 4), -EINVAL);
	assert_int_equal(disk_init(&d, &mem_ops, &m, 512, 0, 4), -EINVAL);
	assert_int_equal(disk_init(&d, &mem_ops, &m, 512, 8, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbw_encode),
		cmocka_unit_test(test_cbw_refuses),
		cmocka_unit_test(test_csw_check),
		cmocka_unit_test(test_valid_data),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_find_endpoints),
		cmocka_unit_test(test_cdbs),
		cmocka_unit_test(test_sense),
		cmocka_unit_test(test_sense_errno),
		cmocka_unit_test(test_inquiry),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_rmw_random),
		cmocka_unit_test(test_rmw_edges),
	};

	usbs_quiet = true;
	return cmocka_run_group_tests_name("usb-storage", tests, NULL, NULL);
}
