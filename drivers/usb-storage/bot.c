/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bulk-Only Transport (USB Mass Storage Class Bulk-Only Transport 1.0,
 * "BOT" below): one command is a CBW on Bulk-Out, an optional data stage,
 * and a CSW on Bulk-In (BOT 5.3).  The host's side of the error handling:
 *
 *  - a STALLed data stage ends it: clear the halt, then read the CSW
 *    (BOT 6.7.2, 6.7.3);
 *  - a STALLed CSW: clear the Bulk-In halt and read it once more (BOT
 *    5.3.3, figure 2);
 *  - a refused CBW, a CSW that is not valid or not meaningful, a phase
 *    error, a babble or a timeout: reset recovery (BOT 5.3.4, 6.5, 6.6.1),
 *    after which we send the command again, a bounded number of times.
 *
 * Everything runs synchronously on the caller's thread (libusb's
 * synchronous API), one command at a time, as BOT requires.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devbroker/usb.h>

#include "bot.h"
#include "util.h"

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int bot_cbw_encode(uint8_t out[BOT_CBW_LEN], uint32_t tag, uint32_t length,
		   enum bot_dir dir, uint8_t lun, const uint8_t *cdb,
		   uint8_t cdb_len)
{
	if (!cdb || cdb_len == 0 || cdb_len > BOT_MAX_CDB || lun > BOT_MAX_LUN)
		return -EINVAL;
	if ((length == 0) != (dir == BOT_DIR_NONE) ||
	    (dir != BOT_DIR_NONE && dir != BOT_DIR_IN && dir != BOT_DIR_OUT))
		return -EINVAL;
	/* BOT 5.1, table 5.1. */
	memset(out, 0, BOT_CBW_LEN);
	put_le32(out + 0, BOT_CBW_SIGNATURE);	/* dCBWSignature */
	put_le32(out + 4, tag);			/* dCBWTag */
	put_le32(out + 8, length);		/* dCBWDataTransferLength */
	out[12] = dir == BOT_DIR_IN ? BOT_CBW_FLAG_IN : 0; /* bmCBWFlags */
	out[13] = lun;				/* bCBWLUN, 4 bits */
	out[14] = cdb_len;			/* bCBWCBLength, 5 bits */
	memcpy(out + 15, cdb, cdb_len);		/* CBWCB, zero padded */
	return 0;
}

int bot_csw_check(const uint8_t *buf, size_t n, uint32_t tag, uint32_t length,
		  uint8_t *status, uint32_t *residue)
{
	/* BOT 6.3.1: valid = 13 bytes, the signature, our tag. */
	if (n != BOT_CSW_LEN || get_le32(buf) != BOT_CSW_SIGNATURE ||
	    get_le32(buf + 4) != tag)
		return -EBADMSG;
	*residue = get_le32(buf + 8);
	*status = buf[12];
	/* BOT 6.3.2: meaningful = status 0/1 with dCSWDataResidue <=
	 * dCBWDataTransferLength, or a phase error (whose residue means
	 * nothing). */
	if (*status == BOT_STATUS_PHASE_ERROR)
		return -EPROTO;
	if (*status > BOT_STATUS_PHASE_ERROR || *residue > length)
		return -ERANGE;
	return 0;
}

uint32_t bot_valid_data(uint32_t length, uint32_t actual, uint32_t residue)
{
	uint32_t meant = residue <= length ? length - residue : 0;

	return actual < meant ? actual : meant;
}

enum bot_action bot_classify(enum bot_stage stage, enum bot_dir dir, int r,
			     int actual, int expected)
{
	if (r == LIBUSB_ERROR_NO_DEVICE)
		return BOT_GONE;
	switch (stage) {
	case BOT_STAGE_CBW:
		/* BOT 6.6.1: a device refuses a CBW by STALLing; the host
		 * answers with reset recovery.  So does a short or lost CBW. */
		return r == 0 && actual == BOT_CBW_LEN ? BOT_NEXT : BOT_RESET_RECOVERY;
	case BOT_STAGE_DATA:
		if (r == LIBUSB_ERROR_PIPE)
			return BOT_CLEAR_HALT;	/* BOT 6.7.2 (Hi), 6.7.3 (Ho) */
		if (r != 0)
			return BOT_RESET_RECOVERY; /* babble, timeout, I/O error */
		/* A short IN stage ends with a short packet; the CSW's
		 * residue says how much was meant.  OUT stages are never
		 * short without an error. */
		if (actual < 0 || actual > expected ||
		    (dir == BOT_DIR_OUT && actual != expected))
			return BOT_RESET_RECOVERY;
		return BOT_NEXT;
	case BOT_STAGE_CSW:
		if (r == LIBUSB_ERROR_PIPE)
			return BOT_CLEAR_HALT;	/* BOT 5.3.3, figure 2 */
		return r == 0 && actual == BOT_CSW_LEN ? BOT_NEXT : BOT_RESET_RECOVERY;
	}
	return BOT_RESET_RECOVERY;
}

int bot_find_endpoints(const struct libusb_interface_descriptor *alt,
		       uint8_t *ep_in, uint8_t *ep_out)
{
	int i;

	if (alt->bInterfaceClass != BOT_CLASS ||
	    alt->bInterfaceSubClass != BOT_SUBCLASS_SCSI ||
	    alt->bInterfaceProtocol != BOT_PROTOCOL)
		return -ENODEV;
	*ep_in = *ep_out = 0;
	/* BOT 4.5: one Bulk-In and one Bulk-Out endpoint (an interrupt
	 * endpoint belongs to CBI, not to us). */
	for (i = 0; i < alt->bNumEndpoints && alt->endpoint; i++) {
		const struct libusb_endpoint_descriptor *ep = &alt->endpoint[i];

		if ((ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) !=
		    LIBUSB_TRANSFER_TYPE_BULK)
			continue;
		if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN) {
			if (!*ep_in)
				*ep_in = ep->bEndpointAddress;
		} else if (!*ep_out) {
			*ep_out = ep->bEndpointAddress;
		}
	}
	return *ep_in && *ep_out ? 0 : -ENOENT;
}

int bot_get_max_lun(struct bot *b)
{
	unsigned char lun = 0;
	int r;

	/* BOT 3.2: bmRequestType 10100001b, bRequest 0xfe, wLength 1. */
	r = libusb_control_transfer(b->h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_CLASS |
				    LIBUSB_RECIPIENT_INTERFACE, BOT_REQ_GET_MAX_LUN,
				    0, b->ifno, &lun, 1, b->timeout_ms);
	if (r == LIBUSB_ERROR_NO_DEVICE)
		return -ENODEV;
	/* "Devices that do not support multiple LUNs may STALL this
	 * command."  Other failures: Linux's usb-storage assumes one LUN
	 * too, and so do we. */
	if (r == LIBUSB_ERROR_PIPE || r == 0)
		return 0;
	if (r < 0) {
		usbs_log("Get Max LUN: %s; assuming one LUN", libusb_error_name(r));
		return 0;
	}
	if (lun > BOT_MAX_LUN) {
		usbs_log("Get Max LUN answered %u (at most 15); assuming one LUN", lun);
		return 0;
	}
	return lun;
}

static int clear_halt(struct bot *b, uint8_t ep)
{
	int r = libusb_clear_halt(b->h, ep);

	if (r < 0 && r != LIBUSB_ERROR_NO_DEVICE)
		usbs_log("clearing the halt of endpoint 0x%02x: %s", ep,
			 libusb_error_name(r));
	return dbk_usb_errno(r);
}

int bot_reset_recovery(struct bot *b)
{
	int r;

	b->stats.resets++;
	if (b->verbose)
		usbs_log("reset recovery");
	/* BOT 3.1: bmRequestType 00100001b, bRequest 0xff, wValue 0,
	 * wIndex the interface, wLength 0.  It readies the device for the
	 * next CBW but leaves the endpoints' halts alone: clear those,
	 * Bulk-In first (BOT 5.3.4). */
	r = libusb_control_transfer(b->h, LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS |
				    LIBUSB_RECIPIENT_INTERFACE, BOT_REQ_RESET,
				    0, b->ifno, NULL, 0, b->timeout_ms);
	if (r < 0) {
		if (r != LIBUSB_ERROR_NO_DEVICE)
			usbs_log("Bulk-Only Mass Storage Reset: %s", libusb_error_name(r));
		return dbk_usb_errno(r);
	}
	r = clear_halt(b, b->ep_in);
	if (r == 0)
		r = clear_halt(b, b->ep_out);
	return r;
}

static const char *stage_name(enum bot_stage s)
{
	return s == BOT_STAGE_CBW ? "CBW" : s == BOT_STAGE_DATA ? "data" : "CSW";
}

/* The reason a stage failed, as the command's error if it persists. */
static int stage_error(int r)
{
	return r == LIBUSB_ERROR_TIMEOUT ? -ETIMEDOUT : -EIO;
}

static void stage_failed(struct bot *b, enum bot_stage stage, uint8_t op, int r,
			 int actual, int expected)
{
	if (r == LIBUSB_ERROR_TIMEOUT)
		b->stats.timeouts++;
	usbs_log("tag 0x%x (opcode 0x%02x): %s stage: %s, %d of %d bytes", b->tag, op,
		 stage_name(stage), r ? libusb_error_name(r) : "wrong length", actual,
		 expected);
}

/*
 * One attempt.  @recovered says whether a reset recovery was done, after
 * which the command may be sent again; the return value is then what the
 * command fails with if it is not.
 */
static int bot_once(struct bot *b, struct bot_request *rq, bool *recovered)
{
	struct bot_faults f = b->faults;
	uint8_t cbw[BOT_CBW_LEN], csw[BOT_CSW_LEN], status;
	unsigned int timeout;
	uint32_t residue;
	int r, actual, why, i;
	enum bot_action act;

	memset(&b->faults, 0, sizeof(b->faults));	/* one command only */
	*recovered = false;
	timeout = f.timeout_ms ? f.timeout_ms : rq->timeout_ms ? rq->timeout_ms : b->timeout_ms;
	b->tag++;
	r = bot_cbw_encode(cbw, b->tag, rq->length, rq->dir, b->lun, rq->cdb, rq->cdb_len);
	if (r < 0)
		return r;
	if (f.cbw_bad_signature)
		cbw[0] ^= 0xff;

	/* Command transport (BOT 5.3.1).  libusb leaves the count alone
	 * when a transfer cannot even be submitted: zero it each time. */
	actual = 0;
	r = libusb_bulk_transfer(b->h, b->ep_out, cbw, BOT_CBW_LEN, &actual, timeout);
	act = bot_classify(BOT_STAGE_CBW, rq->dir, r, actual, BOT_CBW_LEN);
	if (act == BOT_GONE)
		return -ENODEV;
	if (act != BOT_NEXT) {
		if (r == LIBUSB_ERROR_PIPE)
			b->stats.stalls++;
		stage_failed(b, BOT_STAGE_CBW, rq->cdb[0], r, actual, BOT_CBW_LEN);
		why = stage_error(r);
		goto recover;
	}

	/* Data transport (BOT 5.3.2). */
	rq->actual = 0;
	if (rq->length && !f.skip_data) {
		unsigned char ep = rq->dir == BOT_DIR_IN ? b->ep_in : b->ep_out;
		unsigned char *buf = rq->data;
		uint32_t len = rq->length;

		if (f.in_extra && rq->dir == BOT_DIR_IN) {
			len += f.in_extra;
			buf = calloc(1, len);
			if (!buf)
				return -ENOMEM;
		}
		actual = 0;
		r = libusb_bulk_transfer(b->h, ep, buf, (int)len, &actual, timeout);
		if (buf != rq->data) {
			memcpy(rq->data, buf, (uint32_t)actual < rq->length ?
			       (uint32_t)actual : rq->length);
			free(buf);
		}
		act = bot_classify(BOT_STAGE_DATA, rq->dir, r, actual, (int)len);
		if (act == BOT_GONE)
			return -ENODEV;
		if (act == BOT_RESET_RECOVERY) {
			stage_failed(b, BOT_STAGE_DATA, rq->cdb[0], r, actual, (int)len);
			why = stage_error(r);
			goto recover;
		}
		if (act == BOT_CLEAR_HALT) {
			/* The device ended the data stage early; the CSW
			 * says how it went. */
			b->stats.stalls++;
			if (b->verbose)
				usbs_log("tag 0x%x: data stage STALLed after %d bytes",
					 b->tag, actual);
			r = clear_halt(b, ep);
			if (r == -ENODEV)
				return r;
			if (r < 0) {
				why = -EIO;
				goto recover;
			}
		} else if (rq->dir == BOT_DIR_IN && (uint32_t)actual < len) {
			b->stats.short_in++;
		}
		rq->actual = (uint32_t)actual;
	}

	/* Status transport (BOT 5.3.3): a STALLed CSW is cleared and read
	 * once more. */
	for (i = 0; ; i++) {
		int want = f.csw_short_buffer && i == 0 ? BOT_CSW_LEN - 1 : BOT_CSW_LEN;

		actual = 0;
		r = libusb_bulk_transfer(b->h, b->ep_in, csw, want, &actual, timeout);
		act = bot_classify(BOT_STAGE_CSW, BOT_DIR_IN, r, actual, BOT_CSW_LEN);
		if (act == BOT_GONE)
			return -ENODEV;
		if (act == BOT_NEXT)
			break;
		if (act == BOT_CLEAR_HALT)
			b->stats.stalls++;
		if (act == BOT_CLEAR_HALT && i == 0) {
			if (b->verbose)
				usbs_log("tag 0x%x: CSW STALLed; clearing and reading it again",
					 b->tag);
			r = clear_halt(b, b->ep_in);
			if (r == -ENODEV)
				return r;
			if (r == 0)
				continue;
			why = -EIO;
			goto recover;
		}
		stage_failed(b, BOT_STAGE_CSW, rq->cdb[0], r, actual, BOT_CSW_LEN);
		why = stage_error(r);
		goto recover;
	}

	r = bot_csw_check(csw, (size_t)actual, b->tag, rq->length, &status, &residue);
	if (r == -EPROTO) {
		b->stats.phase_errors++;
		usbs_log("tag 0x%x (opcode 0x%02x): phase error", b->tag, rq->cdb[0]);
		why = -EPROTO;
		goto recover;
	}
	if (r < 0) {
		b->stats.bad_csw++;
		usbs_log("tag 0x%x (opcode 0x%02x): %s CSW: signature 0x%08x, tag 0x%08x, "
			 "residue %u of %u, status %u", b->tag, rq->cdb[0],
			 r == -EBADMSG ? "invalid" : "meaningless", get_le32(csw),
			 get_le32(csw + 4), get_le32(csw + 8), rq->length, csw[12]);
		why = -EIO;
		goto recover;
	}
	rq->status = status;
	rq->residue = residue;
	rq->valid = bot_valid_data(rq->length, rq->actual, residue);
	b->stats.commands++;
	return 0;

recover:
	r = bot_reset_recovery(b);
	if (r < 0) {
		/* Nothing more a driver may do: a port reset is the broker's
		 * (and the kernel's) business. */
		if (r != -ENODEV)
			b->wedged = true;
		return r;
	}
	*recovered = true;
	return why;
}

int bot_command(struct bot *b, struct bot_request *rq)
{
	unsigned int attempt;
	bool recovered;
	int r;

	/* libusb counts in int: a command moves at most BOT_MAX_LENGTH. */
	if (!b || !rq || !rq->cdb || rq->cdb_len == 0 || rq->cdb_len > BOT_MAX_CDB ||
	    (rq->length && !rq->data) || (rq->length == 0) != (rq->dir == BOT_DIR_NONE) ||
	    rq->length > BOT_MAX_LENGTH)
		return -EINVAL;
	for (attempt = 0; ; attempt++) {
		r = bot_once(b, rq, &recovered);
		if (!recovered || attempt >= b->retries)
			return r;
		b->stats.retries++;
		usbs_log("tag 0x%x: reset recovery done; sending opcode 0x%02x again (%u of %u)",
			 b->tag, rq->cdb[0], attempt + 1, b->retries);
	}
}
