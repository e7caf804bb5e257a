/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * USB Mass Storage Class, Bulk-Only Transport (BOT), revision 1.0
 * (usbmassbulk_10.pdf, "BOT" below): the 31-byte Command Block Wrapper,
 * the data stage, the 13-byte Command Status Wrapper, and the host's
 * error handling (sections 5.3.3, 5.3.4, 6.5-6.7).
 *
 * The pure parts (encoding, validation, the residue rules, the choice of
 * what to do after a failed stage) take no device and are unit-tested on
 * the host (tests/unit/test-usb-storage.c); bot_command() runs them
 * against a libusb handle.
 */
#ifndef USB_STORAGE_BOT_H
#define USB_STORAGE_BOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libusb.h>

/* BOT 4.3: the interface: class Mass Storage, subclass SCSI transparent
 * command set (USB MSC Overview 1.4, 2), protocol Bulk-Only. */
#define BOT_CLASS		0x08
#define BOT_SUBCLASS_SCSI	0x06
#define BOT_PROTOCOL		0x50

/* BOT 3.1, 3.2: class-specific requests to the interface. */
#define BOT_REQ_RESET		0xff	/* Bulk-Only Mass Storage Reset, 0x21 */
#define BOT_REQ_GET_MAX_LUN	0xfe	/* Get Max LUN, 0xa1 */

/* BOT 5.1, 5.2. */
#define BOT_CBW_LEN		31
#define BOT_CSW_LEN		13
#define BOT_CBW_SIGNATURE	0x43425355u	/* "USBC", little endian */
#define BOT_CSW_SIGNATURE	0x53425355u	/* "USBS" */
#define BOT_CBW_FLAG_IN		0x80
#define BOT_MAX_CDB		16
#define BOT_MAX_LUN		15
#define BOT_MAX_LENGTH		(64u << 20)	/* ours: per command, with room */

/* BOT 5.2, bCSWStatus. */
#define BOT_STATUS_PASSED	0x00
#define BOT_STATUS_FAILED	0x01
#define BOT_STATUS_PHASE_ERROR	0x02

/* The direction of the data stage, from the host's point of view. */
enum bot_dir {
	BOT_DIR_NONE,
	BOT_DIR_IN,	/* device to host */
	BOT_DIR_OUT,	/* host to device */
};

/* The stages of one command (BOT 5.3). */
enum bot_stage {
	BOT_STAGE_CBW,
	BOT_STAGE_DATA,
	BOT_STAGE_CSW,
};

/* What the host does after a stage, whatever the outcome was. */
enum bot_action {
	BOT_NEXT,		/* the stage went well: go on */
	BOT_CLEAR_HALT,		/* STALL: clear the endpoint's halt, go on */
	BOT_RESET_RECOVERY,	/* BOT 5.3.4, then the command may be retried */
	BOT_GONE,		/* the device was unplugged or taken away */
};

/*
 * Encode a CBW (BOT 5.1) into @out.
 * @return 0, or -EINVAL (no CDB or more than 16 bytes, LUN > 15, data
 *         expected with BOT_DIR_NONE or none with a direction)
 */
int bot_cbw_encode(uint8_t out[BOT_CBW_LEN], uint32_t tag, uint32_t length,
		   enum bot_dir dir, uint8_t lun, const uint8_t *cdb,
		   uint8_t cdb_len);

/*
 * Check a CSW (BOT 6.3): it is *valid* when it is 13 bytes long with the
 * right signature and our tag, and *meaningful* when its status is 0 or 1
 * with a residue no larger than dCBWDataTransferLength, or 2.
 *
 * @param buf, n what the device sent in the status stage
 * @param tag the tag of our CBW
 * @param length dCBWDataTransferLength of our CBW
 * @param[out] status, residue the CSW's fields (set when the CSW is valid)
 * @return 0 (status 0 or 1), -EPROTO (phase error, status 2), -EBADMSG
 *         (not valid: wrong size, signature or tag), -ERANGE (valid, not
 *         meaningful: residue larger than asked, unknown status)
 */
int bot_csw_check(const uint8_t *buf, size_t n, uint32_t tag, uint32_t length,
		  uint8_t *status, uint32_t *residue);

/*
 * The part of the data stage that holds the command's data (BOT 6.7): of
 * @length bytes asked, the device meant to move @length - @residue, and
 * @actual bytes crossed the bus.  A device may pad an IN stage (case 5,
 * Hi > Di): padding is not data.  A device that moved less than it says
 * (short packet but no residue) gives the smaller number.
 * @return the bytes of valid data, at most @length
 */
uint32_t bot_valid_data(uint32_t length, uint32_t actual, uint32_t residue);

/*
 * What to do after a stage ended with the libusb result @r (0 or a
 * LIBUSB_ERROR_*) having moved @actual of @expected bytes (BOT 5.3.1-5.3.3,
 * 6.6.1, 6.7.2, 6.7.3):
 *  - CBW: anything but 31 bytes sent is a refused CBW: reset recovery;
 *  - data: a STALL ends the stage (clear it, then read the CSW); a short
 *    IN stage is fine (the CSW's residue says why); a babble or timeout
 *    is a lost command: reset recovery;
 *  - CSW: a STALL is cleared and the CSW read once more (the caller
 *    counts); anything but 13 bytes is an invalid CSW: reset recovery.
 * LIBUSB_ERROR_NO_DEVICE is BOT_GONE everywhere.
 */
enum bot_action bot_classify(enum bot_stage stage, enum bot_dir dir, int r,
			     int actual, int expected);

/* Fault injection for the driver's self-test (--selftest); each is
 * consumed by the next command. */
struct bot_faults {
	bool cbw_bad_signature;	/* send "USBC" wrong: the device STALLs it */
	bool csw_short_buffer;	/* read the CSW into 12 bytes: STALL */
	bool skip_data;		/* read the CSW during the data stage */
	uint32_t in_extra;	/* ask the bus for more IN data than the CBW */
	unsigned int timeout_ms; /* a shorter timeout for this command */
};

/* What happened so far, for messages and the self-test. */
struct bot_stats {
	unsigned long commands;
	unsigned long stalls;		/* endpoint halts cleared */
	unsigned long resets;		/* reset recoveries */
	unsigned long retries;		/* commands sent again after one */
	unsigned long bad_csw;		/* invalid or not meaningful CSWs */
	unsigned long phase_errors;
	unsigned long timeouts;
	unsigned long short_in;		/* IN stages shorter than asked */
};

/* One LUN of a BOT interface. */
struct bot {
	libusb_device_handle *h;
	uint8_t ifno;		/* bInterfaceNumber */
	uint8_t ep_in, ep_out;	/* bulk endpoint addresses */
	uint8_t lun;
	uint32_t tag;		/* the last tag used */
	unsigned int timeout_ms;
	unsigned int retries;	/* attempts after a reset recovery */
	bool verbose;
	bool wedged;		/* reset recovery itself failed */
	struct bot_faults faults;
	struct bot_stats stats;
};

/* One command, and what came of it. */
struct bot_request {
	const uint8_t *cdb;
	uint8_t cdb_len;
	enum bot_dir dir;
	void *data;
	uint32_t length;	/* dCBWDataTransferLength */
	unsigned int timeout_ms; /* 0: bot->timeout_ms */
	/* results (bot_command() returned 0) */
	uint8_t status;		/* BOT_STATUS_PASSED or _FAILED */
	uint32_t residue;	/* dCSWDataResidue */
	uint32_t actual;	/* bytes that crossed the bus */
	uint32_t valid;		/* bytes of data: bot_valid_data() */
};

/*
 * Find a BOT interface's bulk endpoints in its descriptor: the first
 * bulk IN and the first bulk OUT.
 * @return 0, -ENODEV (not class 08/06/50), -ENOENT (endpoints missing)
 */
int bot_find_endpoints(const struct libusb_interface_descriptor *alt,
		       uint8_t *ep_in, uint8_t *ep_out);

/*
 * Get Max LUN (BOT 3.2).  A device with one LUN may STALL it: then 0.
 * @return the highest LUN (0..15), or a negative errno
 */
int bot_get_max_lun(struct bot *b);

/*
 * Reset recovery (BOT 5.3.4): Bulk-Only Mass Storage Reset, then
 * CLEAR_FEATURE(ENDPOINT_HALT) on Bulk-In, then on Bulk-Out.
 * @return 0, -ENODEV (gone), or a negative errno
 */
int bot_reset_recovery(struct bot *b);

/*
 * Run one command: CBW, data, CSW, with the host's error handling; after
 * a reset recovery the command is sent again, b->retries times at most.
 *
 * @return 0 with rq->status, rq->residue, rq->valid set (a FAILED status
 *         is the SCSI layer's business: REQUEST SENSE), -ENODEV (the
 *         device is gone), -EIO (transport errors persisted), -EPROTO
 *         (phase errors persisted), -ETIMEDOUT, -EINVAL (bad request)
 */
int bot_command(struct bot *b, struct bot_request *rq);

#endif
