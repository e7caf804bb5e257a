/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --selftest: the transport's error handling, against the real device.
 * Each check makes the host misbehave in one way (bot.h, struct
 * bot_faults) so that the device answers with an error, then checks that
 * the driver took the path BOT prescribes and that the command, and the
 * next one, still deliver the right data.  Results are TAP-like lines,
 * "usb-storage: selftest: ok N - ..." on stderr.
 *
 * What provokes what (QEMU 7.2's hw/usb/dev-storage.c, and BOT):
 *  - a CBW with a wrong signature: the device STALLs it (BOT 6.6.1), the
 *    host does reset recovery and sends the command again;
 *  - reading the CSW into 12 bytes: the device STALLs the status stage;
 *    the host clears the halt and reads the CSW again (BOT 5.3.3);
 *  - skipping the data stage of a WRITE: the device STALLs every CSW read
 *    (it still waits for data); after the second one, reset recovery;
 *  - a CBW asking for 2 blocks for a 1-block READ (Hi > Di, case 5): the
 *    device pads the data stage and reports the difference as residue;
 *  - a bulk IN larger than the CBW says: the device ends the data stage
 *    with a short packet;
 *  - skipping the data stage of a READ: the block's first 13 bytes arrive
 *    where the CSW was expected.  Blocks crafted to look like CSWs make
 *    this an invalid CSW (garbage, wrong tag), a meaningless one (residue
 *    larger than asked) or a phase error (status 2): reset recovery each
 *    time (BOT 6.5, 6.3);
 *  - a READ beyond the last block: CHECK CONDITION, REQUEST SENSE,
 *    ILLEGAL REQUEST / LBA out of range.
 *
 * No timeout is provoked: what would provoke one in QEMU 7.2 (a READ whose
 * CBW announces no data, case 2) can trip an assertion in QEMU itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest.h"
#include "util.h"

struct st {
	struct scsi_disk *d;
	struct bot_stats before;
	uint64_t lba;
	int n, failed;
	bool gone;
};

/* One result line; @r, the last call's result, is shown when it failed. */
static void check(struct st *t, bool ok, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(struct st *t, bool ok, int r, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	t->n++;
	if (!ok)
		t->failed++;
	usbs_log("selftest: %sok %d - %s%s%s", ok ? "" : "not ", t->n, text,
		 r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
}

static void snap(struct st *t)
{
	t->before = t->d->bot->stats;
}

/* How much a counter grew since snap(). */
#define GREW(t, field) ((t)->d->bot->stats.field - (t)->before.field)

static int rd(struct st *t, void *buf)
{
	int r = scsi_disk_read(t->d, t->lba, 1, buf);

	if (r == -ENODEV)
		t->gone = true;
	return r;
}

static int wr(struct st *t, const void *buf)
{
	int r = scsi_disk_write(t->d, t->lba, 1, buf);

	if (r == -ENODEV)
		t->gone = true;
	return r;
}

/* A block whose first 13 bytes are a CSW (BOT 5.2), the rest zeros. */
static void craft_csw(uint8_t *blk, size_t bs, uint32_t tag, uint32_t residue,
		      uint8_t status)
{
	static const uint8_t sig[4] = { 'U', 'S', 'B', 'S' };
	int i;

	memset(blk, 0, bs);
	memcpy(blk, sig, 4);
	for (i = 0; i < 4; i++) {
		blk[4 + i] = (uint8_t)(tag >> (8 * i));
		blk[8 + i] = (uint8_t)(residue >> (8 * i));
	}
	blk[12] = status;
}

/*
 * Write @blk, then read it with the data stage skipped: the device's data
 * is taken for the CSW.  The write takes one tag, so the read's tag is
 * the current one plus 2.
 */
static int crafted_read(struct st *t, uint8_t *blk, uint8_t *got)
{
	int r = wr(t, blk);

	if (r < 0)
		return r;
	snap(t);
	t->d->bot->faults.skip_data = true;
	return rd(t, got);
}

int usbs_selftest(struct scsi_disk *d)
{
	struct st t = { .d = d, .lba = d->blocks - 1 };
	size_t bs = d->block_size, i;
	uint8_t *orig, *p, *got, cdb[16];
	struct bot_request rq;
	uint32_t tag;
	int r;

	orig = malloc(bs);
	p = malloc(bs);
	got = malloc(2 * bs);
	if (!orig || !p || !got) {
		free(orig);
		free(p);
		free(got);
		return -ENOMEM;
	}
	/* Never "USBS" at the start: this pattern must not pass as a CSW. */
	for (i = 0; i < bs; i++)
		p[i] = (uint8_t)(0xa5 ^ (i * 7 + i / 251));

	r = rd(&t, orig);
	check(&t, r == 0, r, "read the scratch block (LBA %llu)", (unsigned long long)t.lba);
	if (r < 0)
		goto out;
	r = wr(&t, p);
	if (r == 0)
		r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs), r, "a pattern written reads back");

	snap(&t);
	d->bot->faults.cbw_bad_signature = true;
	memset(got, 0, bs);
	r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, stalls) == 1 &&
	      GREW(&t, resets) == 1 && GREW(&t, retries) == 1, r,
	      "CBW with a bad signature: STALL, reset recovery, command sent again, "
	      "right data (stalls +%lu, resets +%lu, retries +%lu)",
	      GREW(&t, stalls), GREW(&t, resets), GREW(&t, retries));

	snap(&t);
	d->bot->faults.csw_short_buffer = true;
	memset(got, 0, bs);
	r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, stalls) == 1 &&
	      GREW(&t, resets) == 0, r,
	      "STALL of the CSW: halt cleared, CSW read again, no reset (stalls +%lu, "
	      "resets +%lu)", GREW(&t, stalls), GREW(&t, resets));

	/* A second pattern, written with the data stage skipped first. */
	for (i = 0; i < bs; i++)
		p[i] = (uint8_t)(0x3c + i * 13);
	snap(&t);
	d->bot->faults.skip_data = true;
	r = wr(&t, p);
	if (r == 0)
		r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, stalls) == 2 &&
	      GREW(&t, resets) == 1 && GREW(&t, retries) == 1, r,
	      "WRITE without its data: the CSW STALLs twice, reset recovery, the WRITE "
	      "sent again lands (stalls +%lu, resets +%lu)", GREW(&t, stalls),
	      GREW(&t, resets));

	/* Hi > Di (BOT 6.7.2 case 5): two blocks asked, one meant. */
	snap(&t);
	memset(got, 0xee, 2 * bs);
	memset(&rq, 0, sizeof(rq));
	rq.cdb = cdb;
	rq.cdb_len = (uint8_t)scsi_cdb_rw(cdb, 0, t.lba, 1);
	rq.dir = BOT_DIR_IN;
	rq.data = got;
	rq.length = (uint32_t)(2 * bs);
	r = bot_command(d->bot, &rq);
	if (r == -ENODEV)
		t.gone = true;
	check(&t, r == 0 && rq.status == BOT_STATUS_PASSED && rq.residue == bs &&
	      rq.valid == bs && !memcmp(got, p, bs) && GREW(&t, resets) == 0, r,
	      "CBW for 2 blocks, READ of 1: status %u, residue %u, %u valid bytes, right "
	      "data, no reset", rq.status, rq.residue, rq.valid);

	snap(&t);
	d->bot->faults.in_extra = (uint32_t)bs;
	memset(got, 0, bs);
	r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, short_in) == 1 &&
	      GREW(&t, resets) == 0, r,
	      "short data stage (bulk IN longer than the CBW): CSW read, right data, "
	      "no reset (short +%lu)", GREW(&t, short_in));

	snap(&t);
	d->bot->faults.skip_data = true;
	memset(got, 0, bs);
	r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, bad_csw) == 1 &&
	      GREW(&t, resets) == 1, r,
	      "data where the CSW belongs (bad signature): reset recovery, READ sent "
	      "again, right data (bad CSWs +%lu)", GREW(&t, bad_csw));

	tag = d->bot->tag + 2;
	craft_csw(p, bs, tag ^ 0x5a5a0000u, 0, BOT_STATUS_PASSED);
	r = crafted_read(&t, p, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, bad_csw) == 1 &&
	      GREW(&t, resets) == 1, r,
	      "CSW with a wrong tag: rejected, reset recovery, right data");

	tag = d->bot->tag + 2;
	craft_csw(p, bs, tag, 0x10000, BOT_STATUS_PASSED);
	r = crafted_read(&t, p, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, bad_csw) == 1 &&
	      GREW(&t, resets) == 1, r,
	      "CSW with a residue larger than asked: rejected, reset recovery, right data");

	tag = d->bot->tag + 2;
	craft_csw(p, bs, tag, 0, BOT_STATUS_PHASE_ERROR);
	r = crafted_read(&t, p, got);
	check(&t, r == 0 && !memcmp(got, p, bs) && GREW(&t, phase_errors) == 1 &&
	      GREW(&t, resets) == 1, r,
	      "phase error (CSW status 2): reset recovery, READ sent again, right data "
	      "(phase errors +%lu)", GREW(&t, phase_errors));

	/* CHECK CONDITION and REQUEST SENSE: one block past the end. */
	snap(&t);
	memset(&rq, 0, sizeof(rq));
	rq.cdb = cdb;
	rq.cdb_len = (uint8_t)scsi_cdb_rw(cdb, 0, d->blocks, 1);
	rq.dir = BOT_DIR_IN;
	rq.data = got;
	rq.length = (uint32_t)bs;
	memset(&d->sense, 0, sizeof(d->sense));
	r = scsi_disk_exec(d, &rq);
	if (r == -ENODEV)
		t.gone = true;
	check(&t, r == -EINVAL && d->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
	      d->sense.asc == 0x21 && GREW(&t, resets) == 0, 0,
	      "READ past the last block: CHECK CONDITION, sense %s %02x/%02x, %s",
	      scsi_sense_key_name(d->sense.key), d->sense.asc, d->sense.ascq,
	      r ? strerror(-r) : "no error");

	r = wr(&t, orig);
	if (r == 0)
		r = rd(&t, got);
	check(&t, r == 0 && !memcmp(got, orig, bs), r,
	      "the scratch block restored; %lu reset recoveries in all", d->bot->stats.resets);
out:
	free(orig);
	free(p);
	free(got);
	return t.gone ? -ENODEV : t.failed;
}
