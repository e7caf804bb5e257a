/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SCSI commands a USB disk needs, over Bulk-Only Transport: SPC-4
 * (INQUIRY, TEST UNIT READY, REQUEST SENSE, sense data) and SBC-3 (READ
 * CAPACITY, READ, WRITE, SYNCHRONIZE CACHE).  Builders and parsers are
 * pure (unit-tested on the host); the scsi_disk_* functions run them.
 */
#ifndef USB_STORAGE_SCSI_H
#define USB_STORAGE_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bot.h"

/* Operation codes (SPC-4 table D.2, SBC-3 table 11). */
#define SCSI_TEST_UNIT_READY	0x00
#define SCSI_REQUEST_SENSE	0x03
#define SCSI_INQUIRY		0x12
#define SCSI_READ_CAPACITY10	0x25
#define SCSI_READ10		0x28
#define SCSI_WRITE10		0x2a
#define SCSI_SYNCHRONIZE_CACHE10 0x35
#define SCSI_READ16		0x88
#define SCSI_WRITE16		0x8a
#define SCSI_SERVICE_ACTION_IN16 0x9e
#define  SCSI_SAI_READ_CAPACITY16 0x10

/* Sense keys (SPC-4 table 47). */
#define SCSI_SENSE_NO_SENSE		0x0
#define SCSI_SENSE_RECOVERED_ERROR	0x1
#define SCSI_SENSE_NOT_READY		0x2
#define SCSI_SENSE_MEDIUM_ERROR		0x3
#define SCSI_SENSE_HARDWARE_ERROR	0x4
#define SCSI_SENSE_ILLEGAL_REQUEST	0x5
#define SCSI_SENSE_UNIT_ATTENTION	0x6
#define SCSI_SENSE_DATA_PROTECT		0x7
#define SCSI_SENSE_BLANK_CHECK		0x8
#define SCSI_SENSE_ABORTED_COMMAND	0xb
#define SCSI_SENSE_MISCOMPARE		0xe

#define SCSI_INQUIRY_LEN	36	/* the standard data (SPC-4 6.4.2) */
#define SCSI_SENSE_LEN		18	/* fixed format, what USB disks expect */
#define SCSI_CAP10_LEN		8
#define SCSI_CAP16_LEN		32

/* Peripheral device type 0: direct access block device (SBC). */
#define SCSI_TYPE_DISK		0x00

struct scsi_sense {
	uint8_t key, asc, ascq;
};

struct scsi_inquiry {
	uint8_t qualifier, type;
	int removable;
	char vendor[9], product[17], revision[5];	/* trimmed */
};

/* ---- pure: CDBs ---- */
size_t scsi_cdb_test_unit_ready(uint8_t *cdb);
size_t scsi_cdb_request_sense(uint8_t *cdb, uint8_t alloc);
size_t scsi_cdb_inquiry(uint8_t *cdb, uint16_t alloc);
size_t scsi_cdb_read_capacity10(uint8_t *cdb);
size_t scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc);
/* READ/WRITE(10) when the blocks lie below 2^32, (16) otherwise. */
size_t scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t blocks);
size_t scsi_cdb_synchronize_cache10(uint8_t *cdb);

/* ---- pure: parsing ---- */

/*
 * Sense data, fixed (0x70/0x71) or descriptor (0x72/0x73) format (SPC-4
 * 4.5).  @return 0, or -EBADMSG (too short, unknown response code)
 */
int scsi_parse_sense(const uint8_t *buf, size_t n, struct scsi_sense *s);

/*
 * What a CHECK CONDITION with this sense means to a caller: 0 (recovered
 * error: the command did its work), -EAGAIN (worth retrying: unit
 * attention, becoming ready, aborted command), -ENOMEDIUM, -EROFS,
 * -EOPNOTSUPP (invalid opcode), -EINVAL (other illegal request), -EIO
 * (medium and hardware errors, everything else).
 */
int scsi_sense_errno(const struct scsi_sense *s);
const char *scsi_sense_key_name(uint8_t key);
/* A few additional sense codes (SPC-4 D.2), or NULL. */
const char *scsi_asc_text(uint8_t asc, uint8_t ascq);
const char *scsi_op_name(uint8_t op);

/* @return 0, -EBADMSG (fewer than 5 bytes) */
int scsi_parse_inquiry(const uint8_t *buf, size_t n, struct scsi_inquiry *inq);

/*
 * READ CAPACITY(10) parameter data (SBC-3 5.15.2): @return 0, 1 (the
 * capacity does not fit: ask READ CAPACITY(16)), -EBADMSG (short)
 */
int scsi_parse_capacity10(const uint8_t *buf, size_t n, uint64_t *blocks,
			  uint32_t *block_size);
/* READ CAPACITY(16) (SBC-3 5.16.2): @return 0, -EBADMSG (short) */
int scsi_parse_capacity16(const uint8_t *buf, size_t n, uint64_t *blocks,
			  uint32_t *block_size);

/*
 * A capacity we are willing to serve: 512, 1024, 2048 or 4096-byte blocks,
 * at least one, and a size in bytes that fits off_t.
 * @return 0, or -EINVAL
 */
int scsi_check_capacity(uint64_t blocks, uint32_t block_size);

/* ---- the disk ---- */

struct scsi_disk {
	struct bot *bot;
	struct scsi_inquiry inq;
	uint64_t blocks;
	uint32_t block_size;
	uint32_t max_blocks;		/* per READ/WRITE command */
	unsigned int sync_timeout_ms;
	bool no_sync;			/* SYNCHRONIZE CACHE refused once */
	struct scsi_sense sense;	/* of the last CHECK CONDITION */
};

/*
 * Run one command; on CHECK CONDITION fetch the sense (REQUEST SENSE) and
 * turn it into an errno (scsi_sense_errno()); retry unit attentions and
 * aborted commands a few times.  @return 0 or a negative errno (-ENODEV:
 * the device is gone)
 */
int scsi_disk_exec(struct scsi_disk *d, struct bot_request *rq);

int scsi_disk_request_sense(struct scsi_disk *d, struct scsi_sense *s);
int scsi_disk_inquiry(struct scsi_disk *d);
/* TEST UNIT READY until ready, for @tries attempts 100 ms apart. */
int scsi_disk_wait_ready(struct scsi_disk *d, unsigned int tries);
/* Sets d->blocks and d->block_size, checked. */
int scsi_disk_read_capacity(struct scsi_disk *d);
/* Whole blocks, split at d->max_blocks per command. */
int scsi_disk_read(struct scsi_disk *d, uint64_t lba, uint32_t blocks, void *buf);
int scsi_disk_write(struct scsi_disk *d, uint64_t lba, uint32_t blocks,
		    const void *buf);
/* SYNCHRONIZE CACHE(10) of the whole medium; a device that has no such
 * command (many USB disks) is not asked again. */
int scsi_disk_sync(struct scsi_disk *d);

#endif
