/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SCSI over BOT for a USB disk: the command descriptor blocks of SPC-4
 * and SBC-3, their answers, and sense data.
 *
 * Every field a device sends is checked before use: a short answer is an
 * error, not zeros, and a capacity outside what we can serve stops the
 * driver with a message instead of a file of absurd size.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "scsi.h"
#include "util.h"

/* ---- CDBs ---- */

size_t scsi_cdb_test_unit_ready(uint8_t *cdb)
{
	memset(cdb, 0, 6);	/* SPC-4 6.47 */
	return 6;
}

size_t scsi_cdb_request_sense(uint8_t *cdb, uint8_t alloc)
{
	memset(cdb, 0, 6);	/* SPC-4 6.39: DESC=0, fixed format */
	cdb[0] = SCSI_REQUEST_SENSE;
	cdb[4] = alloc;
	return 6;
}

size_t scsi_cdb_inquiry(uint8_t *cdb, uint16_t alloc)
{
	memset(cdb, 0, 6);	/* SPC-4 6.4.1: EVPD=0, standard data */
	cdb[0] = SCSI_INQUIRY;
	put_be16(cdb + 3, alloc);
	return 6;
}

size_t scsi_cdb_read_capacity10(uint8_t *cdb)
{
	memset(cdb, 0, 10);	/* SBC-3 5.15 */
	cdb[0] = SCSI_READ_CAPACITY10;
	return 10;
}

size_t scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc)
{
	memset(cdb, 0, 16);	/* SBC-3 5.16 */
	cdb[0] = SCSI_SERVICE_ACTION_IN16;
	cdb[1] = SCSI_SAI_READ_CAPACITY16;
	put_be32(cdb + 10, alloc);
	return 16;
}

size_t scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t blocks)
{
	if (lba + blocks <= 0x100000000ull && blocks <= 0xffff) {
		/* SBC-3 5.11 READ(10), 5.32 WRITE(10): FUA, DPO off. */
		memset(cdb, 0, 10);
		cdb[0] = write ? SCSI_WRITE10 : SCSI_READ10;
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)blocks);
		return 10;
	}
	/* SBC-3 5.13 READ(16), 5.34 WRITE(16). */
	memset(cdb, 0, 16);
	cdb[0] = write ? SCSI_WRITE16 : SCSI_READ16;
	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, blocks);
	return 16;
}

size_t scsi_cdb_synchronize_cache10(uint8_t *cdb)
{
	/* SBC-3 5.22: LBA 0 and 0 blocks mean the whole medium. */
	memset(cdb, 0, 10);
	cdb[0] = SCSI_SYNCHRONIZE_CACHE10;
	return 10;
}

/* ---- answers ---- */

int scsi_parse_sense(const uint8_t *buf, size_t n, struct scsi_sense *s)
{
	uint8_t code;

	if (n < 1)
		return -EBADMSG;
	code = buf[0] & 0x7f;
	memset(s, 0, sizeof(*s));
	switch (code) {
	case 0x70:	/* current, fixed format (SPC-4 4.5.3) */
	case 0x71:	/* deferred */
		if (n < 3)
			return -EBADMSG;
		s->key = buf[2] & 0x0f;
		/* ASC/ASCQ only if the additional length reaches them. */
		if (n >= 14 && buf[7] >= 6) {
			s->asc = buf[12];
			s->ascq = buf[13];
		}
		return 0;
	case 0x72:	/* descriptor format (SPC-4 4.5.2) */
	case 0x73:
		if (n < 4)
			return -EBADMSG;
		s->key = buf[1] & 0x0f;
		s->asc = buf[2];
		s->ascq = buf[3];
		return 0;
	default:
		return -EBADMSG;
	}
}

int scsi_sense_errno(const struct scsi_sense *s)
{
	switch (s->key) {
	case SCSI_SENSE_RECOVERED_ERROR:
		return 0;
	case SCSI_SENSE_NOT_READY:
		if (s->asc == 0x3a)		/* medium not present */
			return -ENOMEDIUM;
		if (s->asc == 0x04 && (s->ascq == 0x01 || s->ascq == 0x00))
			return -EAGAIN;		/* becoming ready, cause unknown */
		return -EIO;
	case SCSI_SENSE_UNIT_ATTENTION:		/* reset, medium changed... */
	case SCSI_SENSE_ABORTED_COMMAND:
		return -EAGAIN;
	case SCSI_SENSE_ILLEGAL_REQUEST:
		return s->asc == 0x20 ? -EOPNOTSUPP : -EINVAL;
	case SCSI_SENSE_DATA_PROTECT:
		return -EROFS;
	default:	/* no sense (yet CHECK CONDITION), medium, hardware... */
		return -EIO;
	}
}

const char *scsi_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
		"BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
		"RESERVED (0xc)", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};

	return names[key & 0x0f];
}

const char *scsi_asc_text(uint8_t asc, uint8_t ascq)
{
	static const struct { uint8_t asc, ascq; const char *text; } t[] = {
		{ 0x04, 0x00, "logical unit not ready, cause not reportable" },
		{ 0x04, 0x01, "logical unit is in process of becoming ready" },
		{ 0x0c, 0x00, "write error" },
		{ 0x11, 0x00, "unrecovered read error" },
		{ 0x20, 0x00, "invalid command operation code" },
		{ 0x21, 0x00, "logical block address out of range" },
		{ 0x24, 0x00, "invalid field in CDB" },
		{ 0x25, 0x00, "logical unit not supported" },
		{ 0x27, 0x00, "write protected" },
		{ 0x28, 0x00, "not ready to ready change, medium may have changed" },
		{ 0x29, 0x00, "power on, reset, or bus device reset occurred" },
		{ 0x3a, 0x00, "medium not present" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].asc == asc && t[i].ascq == ascq)
			return t[i].text;
	return NULL;
}

const char *scsi_op_name(uint8_t op)
{
	switch (op) {
	case SCSI_TEST_UNIT_READY: return "TEST UNIT READY";
	case SCSI_REQUEST_SENSE: return "REQUEST SENSE";
	case SCSI_INQUIRY: return "INQUIRY";
	case SCSI_READ_CAPACITY10: return "READ CAPACITY(10)";
	case SCSI_READ10: return "READ(10)";
	case SCSI_WRITE10: return "WRITE(10)";
	case SCSI_SYNCHRONIZE_CACHE10: return "SYNCHRONIZE CACHE(10)";
	case SCSI_READ16: return "READ(16)";
	case SCSI_WRITE16: return "WRITE(16)";
	case SCSI_SERVICE_ACTION_IN16: return "READ CAPACITY(16)";
	default: return "command";
	}
}

/* Copy a space-padded ASCII field, trimmed, printable only. */
static void copy_field(char *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : ' ';
	while (len > 0 && dst[len - 1] == ' ')
		len--;
	dst[len] = '\0';
}

int scsi_parse_inquiry(const uint8_t *buf, size_t n, struct scsi_inquiry *inq)
{
	memset(inq, 0, sizeof(*inq));
	if (n < 5)
		return -EBADMSG;
	/* SPC-4 6.4.2, table 140. */
	inq->qualifier = buf[0] >> 5;
	inq->type = buf[0] & 0x1f;
	inq->removable = !!(buf[1] & 0x80);
	if (n >= 16)
		copy_field(inq->vendor, buf + 8, 8);
	if (n >= 32)
		copy_field(inq->product, buf + 16, 16);
	if (n >= 36)
		copy_field(inq->revision, buf + 32, 4);
	return 0;
}

int scsi_parse_capacity10(const uint8_t *buf, size_t n, uint64_t *blocks,
			  uint32_t *block_size)
{
	uint32_t last;

	if (n < SCSI_CAP10_LEN)
		return -EBADMSG;
	/* SBC-3 5.15.2: RETURNED LOGICAL BLOCK ADDRESS is the last one;
	 * 0xffffffff: "too large, use READ CAPACITY(16)". */
	last = get_be32(buf);
	*block_size = get_be32(buf + 4);
	if (last == 0xffffffffu)
		return 1;
	*blocks = (uint64_t)last + 1;
	return 0;
}

int scsi_parse_capacity16(const uint8_t *buf, size_t n, uint64_t *blocks,
			  uint32_t *block_size)
{
	uint64_t last;

	if (n < 12)
		return -EBADMSG;
	last = get_be64(buf);
	*block_size = get_be32(buf + 8);
	/* The last LBA + 1 must not wrap (then it is absurd anyway). */
	*blocks = last == UINT64_MAX ? 0 : last + 1;
	return 0;
}

int scsi_check_capacity(uint64_t blocks, uint32_t block_size)
{
	if (block_size != 512 && block_size != 1024 && block_size != 2048 &&
	    block_size != 4096)
		return -EINVAL;
	if (blocks == 0 || blocks > (uint64_t)INT64_MAX / block_size)
		return -EINVAL;
	return 0;
}

/* ---- the disk ---- */

static void log_check_condition(const struct bot_request *rq, const struct scsi_sense *s)
{
	const char *text = scsi_asc_text(s->asc, s->ascq);

	usbs_log("%s: %s (asc/ascq %02x/%02x%s%s)", scsi_op_name(rq->cdb[0]),
		 scsi_sense_key_name(s->key), s->asc, s->ascq, text ? ": " : "",
		 text ? text : "");
}

int scsi_disk_request_sense(struct scsi_disk *d, struct scsi_sense *s)
{
	uint8_t cdb[6], buf[SCSI_SENSE_LEN];
	struct bot_request rq = {
		.cdb = cdb, .dir = BOT_DIR_IN, .data = buf, .length = sizeof(buf),
	};
	int r;

	memset(buf, 0, sizeof(buf));
	rq.cdb_len = (uint8_t)scsi_cdb_request_sense(cdb, sizeof(buf));
	r = bot_command(d->bot, &rq);
	if (r < 0)
		return r;
	/* REQUEST SENSE itself failing: nothing more to learn. */
	if (rq.status != BOT_STATUS_PASSED) {
		usbs_log("REQUEST SENSE failed too");
		return -EIO;
	}
	r = scsi_parse_sense(buf, rq.valid, s);
	if (r < 0)
		usbs_log("REQUEST SENSE: no sense data (%u bytes, response code 0x%02x)",
			 rq.valid, buf[0]);
	return r;
}

int scsi_disk_exec(struct scsi_disk *d, struct bot_request *rq)
{
	unsigned int tries;
	int r;

	for (tries = 0; ; tries++) {
		r = bot_command(d->bot, rq);
		if (r < 0)
			return r;
		if (rq->status == BOT_STATUS_PASSED)
			return 0;
		/* CHECK CONDITION: the sense says why (SPC-4 4.5). */
		r = scsi_disk_request_sense(d, &d->sense);
		if (r < 0)
			return r == -ENODEV ? r : -EIO;
		r = scsi_sense_errno(&d->sense);
		if (r == 0)
			return 0;
		/* A unit attention after a reset is normal: say nothing. */
		if (r == -EAGAIN && tries < 3) {
			if (d->sense.key == SCSI_SENSE_NOT_READY)
				usleep(100000);
			continue;
		}
		/* TEST UNIT READY failing is how a device says "not ready":
		 * its caller decides. */
		if (rq->cdb[0] != SCSI_TEST_UNIT_READY)
			log_check_condition(rq, &d->sense);
		return r;
	}
}

int scsi_disk_inquiry(struct scsi_disk *d)
{
	uint8_t cdb[6], buf[SCSI_INQUIRY_LEN];
	struct bot_request rq = {
		.cdb = cdb, .dir = BOT_DIR_IN, .data = buf, .length = sizeof(buf),
	};
	int r;

	memset(buf, 0, sizeof(buf));
	rq.cdb_len = (uint8_t)scsi_cdb_inquiry(cdb, sizeof(buf));
	r = scsi_disk_exec(d, &rq);
	if (r < 0)
		return r;
	r = scsi_parse_inquiry(buf, rq.valid, &d->inq);
	if (r < 0) {
		usbs_log("INQUIRY: %u bytes of data, too short", rq.valid);
		return r;
	}
	return 0;
}

int scsi_disk_wait_ready(struct scsi_disk *d, unsigned int tries)
{
	uint8_t cdb[6];
	struct bot_request rq = { .cdb = cdb, .dir = BOT_DIR_NONE };
	unsigned int i;
	int r = -EIO;

	rq.cdb_len = (uint8_t)scsi_cdb_test_unit_ready(cdb);
	for (i = 0; i < tries; i++) {
		r = scsi_disk_exec(d, &rq);
		if (r != -EAGAIN && r != -ENOMEDIUM)
			break;
		usleep(100000);
	}
	if (r < 0 && r != -ENODEV)
		usbs_log("TEST UNIT READY: not ready: %s (asc/ascq %02x/%02x)",
			 scsi_sense_key_name(d->sense.key), d->sense.asc, d->sense.ascq);
	return r;
}

int scsi_disk_read_capacity(struct scsi_disk *d)
{
	uint8_t cdb[16], buf[SCSI_CAP16_LEN];
	struct bot_request rq = {
		.cdb = cdb, .dir = BOT_DIR_IN, .data = buf, .length = SCSI_CAP10_LEN,
	};
	uint64_t blocks = 0;
	uint32_t bs = 0;
	int r;

	memset(buf, 0, sizeof(buf));
	rq.cdb_len = (uint8_t)scsi_cdb_read_capacity10(cdb);
	r = scsi_disk_exec(d, &rq);
	if (r < 0)
		return r;
	r = scsi_parse_capacity10(buf, rq.valid, &blocks, &bs);
	if (r == 1) {
		/* More than 2^32 blocks: SBC-3 5.15.2 says ask (16). */
		memset(buf, 0, sizeof(buf));
		rq.length = SCSI_CAP16_LEN;
		rq.cdb_len = (uint8_t)scsi_cdb_read_capacity16(cdb, SCSI_CAP16_LEN);
		r = scsi_disk_exec(d, &rq);
		if (r < 0)
			return r;
		r = scsi_parse_capacity16(buf, rq.valid, &blocks, &bs);
	}
	if (r < 0) {
		usbs_log("%s: %u bytes of data, too short", scsi_op_name(cdb[0]), rq.valid);
		return r;
	}
	r = scsi_check_capacity(blocks, bs);
	if (r < 0) {
		usbs_log("the device reports %llu blocks of %u bytes: not a capacity we serve "
			 "(blocks of 512, 1024, 2048 or 4096 bytes, at least one)",
			 (unsigned long long)blocks, bs);
		return r;
	}
	d->blocks = blocks;
	d->block_size = bs;
	return 0;
}

static int scsi_disk_rw(struct scsi_disk *d, int write, uint64_t lba,
			uint32_t blocks, uint8_t *buf)
{
	uint8_t cdb[16];
	int r;

	if (lba > d->blocks || blocks > d->blocks - lba)
		return -EINVAL;
	while (blocks) {
		uint32_t n = blocks < d->max_blocks ? blocks : d->max_blocks;
		struct bot_request rq = {
			.cdb = cdb,
			.dir = write ? BOT_DIR_OUT : BOT_DIR_IN,
			.data = buf,
			.length = n * d->block_size,
		};

		rq.cdb_len = (uint8_t)scsi_cdb_rw(cdb, write, lba, n);
		r = scsi_disk_exec(d, &rq);
		if (r < 0) {
			if (r != -ENODEV)
				usbs_log("%s LBA %llu, %u blocks: %s", scsi_op_name(cdb[0]),
					 (unsigned long long)lba, n, strerror(-r));
			return r;
		}
		/* BOT 6.7: a residue on a good status is a short command. */
		if (rq.valid != rq.length) {
			usbs_log("%s LBA %llu, %u blocks: the device moved %u of %u bytes "
				 "(residue %u)", scsi_op_name(cdb[0]), (unsigned long long)lba,
				 n, rq.valid, rq.length, rq.residue);
			return -EIO;
		}
		lba += n;
		blocks -= n;
		buf += rq.length;
	}
	return 0;
}

int scsi_disk_read(struct scsi_disk *d, uint64_t lba, uint32_t blocks, void *buf)
{
	return scsi_disk_rw(d, 0, lba, blocks, buf);
}

int scsi_disk_write(struct scsi_disk *d, uint64_t lba, uint32_t blocks,
		    const void *buf)
{
	/* The buffer is only read (a bulk OUT), never written to. */
	return scsi_disk_rw(d, 1, lba, blocks, (uint8_t *)(uintptr_t)buf);
}

int scsi_disk_sync(struct scsi_disk *d)
{
	uint8_t cdb[10];
	struct bot_request rq = {
		.cdb = cdb, .dir = BOT_DIR_NONE, .timeout_ms = d->sync_timeout_ms,
	};
	int r;

	if (d->no_sync)
		return 0;
	rq.cdb_len = (uint8_t)scsi_cdb_synchronize_cache10(cdb);
	r = scsi_disk_exec(d, &rq);
	/* Many USB disks have no cache to flush and say so. */
	if (r == -EOPNOTSUPP || r == -EINVAL) {
		usbs_log("the device has no SYNCHRONIZE CACHE; not asking again");
		d->no_sync = true;
		return 0;
	}
	return r;
}
