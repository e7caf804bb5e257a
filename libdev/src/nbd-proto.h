/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NBD protocol as the block frontend speaks it: devbrokerd is the
 * client (nbd-client.c: the handshake, then the kernel's nbd takes the
 * socket), the driver is the server (block.c, <devbroker/block.h>).  Both
 * ends live in libdev so that they cannot drift.  Not exported by libdev:
 * devbrokerd links nbd-client.c itself, as it links handover.c.
 *
 * Reference: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
 * (fixed newstyle handshake, NBD_OPT_GO, simple replies only).  Everything
 * on the wire is big-endian.  <linux/nbd.h> has the transmission basics;
 * what it lacks (the handshake, and in older headers the newer flags and
 * commands) is here.
 */
#ifndef DBK_NBD_PROTO_H
#define DBK_NBD_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <linux/nbd.h>
#include <devbroker/block.h>

/* Handshake: the server's greeting, and the magic of every option. */
#define NBD_MAGIC		UINT64_C(0x4e42444d41474943)	/* "NBDMAGIC" */
#define NBD_IHAVEOPT		UINT64_C(0x49484156454f5054)	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		UINT64_C(0x0003e889045565a9)	/* option replies */

/* Handshake flags (server, 16 bits) and client flags (32 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE		(1u << 0)
#define NBD_FLAG_NO_ZEROES		(1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1u << 0)
#define NBD_FLAG_C_NO_ZEROES		(1u << 1)

/* Options. */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_LIST			3
#define NBD_OPT_STARTTLS		5
#define NBD_OPT_INFO			6
#define NBD_OPT_GO			7
#define NBD_OPT_STRUCTURED_REPLY	8

/* Option replies; errors have bit 31 set and may carry a message. */
#define NBD_REP_ACK			1u
#define NBD_REP_SERVER			2u
#define NBD_REP_INFO			3u
#define NBD_REP_FLAG_ERROR		(1u << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY		(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM		(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD		(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN		(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD	(NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG		(NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO types (16 bits, first in the reply's data). */
#define NBD_INFO_EXPORT			0	/* u64 size, u16 transmission flags */
#define NBD_INFO_NAME			1
#define NBD_INFO_DESCRIPTION		2
#define NBD_INFO_BLOCK_SIZE		3	/* u32 minimum, preferred, maximum */

/* Transmission flags that older <linux/nbd.h> lack (16 bits). */
#ifndef NBD_FLAG_ROTATIONAL
#define NBD_FLAG_ROTATIONAL		(1 << 4)
#endif
#ifndef NBD_FLAG_SEND_WRITE_ZEROES
#define NBD_FLAG_SEND_WRITE_ZEROES	(1 << 6)
#endif
/* The flags this code knows; a server announcing others is refused. */
#define DBK_NBD_FLAGS_KNOWN	(NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY |	\
				 NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |	\
				 NBD_FLAG_ROTATIONAL | NBD_FLAG_SEND_TRIM |	\
				 NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN)

/*
 * Requests: the command (16 bits: NBD_CMD_READ..TRIM of <linux/nbd.h>, and
 * these) and the command flags (16 bits; <linux/nbd.h>'s NBD_CMD_FLAG_FUA
 * is the same bit in the kernel's combined 32-bit type field).
 */
#define DBK_NBD_CMD_WRITE_ZEROES	6
#define DBK_NBD_CMD_FLAG_FUA		(1u << 0)
#define DBK_NBD_CMD_FLAG_NO_HOLE	(1u << 1)

/* Sizes on the wire. */
#define DBK_NBD_REQUEST_LEN	28	/* magic, flags, type, cookie, offset, length */
#define DBK_NBD_REPLY_LEN	16	/* magic, error, cookie */
#define DBK_NBD_OPT_HDR_LEN	16	/* IHAVEOPT, option, length */
#define DBK_NBD_REP_HDR_LEN	20	/* magic, option, type, length */
/* The longest option data or option reply either end accepts. */
#define DBK_NBD_OPT_MAX		8192

/*
 * Block sizes both ends accept (powers of two): Linux 6.1's nbd sets the
 * logical block size to min_block and blk_validate_block_size() refuses
 * anything above PAGE_SIZE (4096 on amd64); the preferred size is capped
 * the same way.
 */
#define DBK_NBD_BLOCK_MIN	512u
#define DBK_NBD_BLOCK_MAX	4096u

/*
 * The largest request (max_block): 6.1's nbd cannot be told it (no netlink
 * attribute); devbrokerd writes it, in KiB, to
 * /sys/block/nbdN/queue/max_sectors_kb, which takes whole KiB of at least
 * PAGE_SIZE.  So max_block is a multiple of 1024 of at least 4096 (or
 * UINT32_MAX: no limit of the server's).
 */
#define DBK_NBD_XFER_MIN	4096u
#define DBK_NBD_XFER_ALIGN	1024u

/* What the handshake agreed: the export the kernel's nbd will serve. */
struct dbk_nbd_export {
	uint64_t size;		/* bytes: > 0, a multiple of min_block */
	uint16_t flags;		/* NBD_FLAG_* transmission flags (HAS_FLAGS set) */
	/*
	 * min_block <= pref_block <= DBK_NBD_BLOCK_MAX; max_block >= pref_block,
	 * a multiple of min_block and of DBK_NBD_XFER_ALIGN, >= DBK_NBD_XFER_MIN,
	 * or UINT32_MAX (no limit: leave max_sectors_kb alone).  A max_block
	 * above the queue's max_hw_sectors_kb (32 MiB for nbd) means that.
	 */
	uint32_t min_block, pref_block, max_block;
	/*
	 * NBD_INFO_DESCRIPTION: the disk's identity (dbk_block_set_id()),
	 * printable ASCII, or "" when the server sent none.
	 */
	char description[DBK_BLOCK_ID_MAX + 1];
};

/*
 * The client's handshake on connected stream socket @fd: fixed newstyle,
 * then NBD_OPT_GO on the default export, asking for NBD_INFO_BLOCK_SIZE
 * and NBD_INFO_DESCRIPTION (taken when it is 1 to DBK_BLOCK_ID_MAX
 * printable characters, else ignored).
 * On success the socket is left at the first byte of the transmission
 * phase (nothing read beyond the final NBD_REP_ACK, and a server that had
 * already sent more is refused with -EPROTO), ready for the kernel.
 * @timeout_ms bounds the whole handshake (not each read).  No trust in the
 * server: every magic, length and value is checked.  A server that sends
 * no NBD_INFO_BLOCK_SIZE gets min 512, preferred 4096, maximum 32 MiB.
 *
 * Returns 0, -EPROTO (anything malformed or truncated, values out of
 * range, or the server closing the connection), -ETIMEDOUT, the errno
 * of an option error reply (NBD_REP_ERR_UNSUP and _PLATFORM: -EOPNOTSUPP,
 * _POLICY: -EACCES, _INVALID: -EINVAL, _UNKNOWN: -ENOENT, _SHUTDOWN:
 * -ESHUTDOWN, _TOO_BIG: -E2BIG, others -EPROTO), -EINVAL (bad argument)
 * or the errno of a failed poll/read/write.
 */
int dbk_nbd_client_handshake(int fd, int timeout_ms, struct dbk_nbd_export *ex);

/* Big-endian helpers for both ends. */
static inline void dbk_nbd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dbk_nbd_put32(uint8_t *p, uint32_t v)
{
	dbk_nbd_put16(p, (uint16_t)(v >> 16));
	dbk_nbd_put16(p + 2, (uint16_t)v);
}

static inline void dbk_nbd_put64(uint8_t *p, uint64_t v)
{
	dbk_nbd_put32(p, (uint32_t)(v >> 32));
	dbk_nbd_put32(p + 4, (uint32_t)v);
}

static inline uint16_t dbk_nbd_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t dbk_nbd_get32(const uint8_t *p)
{
	return ((uint32_t)dbk_nbd_get16(p) << 16) | dbk_nbd_get16(p + 2);
}

static inline uint64_t dbk_nbd_get64(const uint8_t *p)
{
	return ((uint64_t)dbk_nbd_get32(p) << 32) | dbk_nbd_get32(p + 4);
}

/*
 * An identity both ends take (dbk_block_set_id(), NBD_INFO_DESCRIPTION):
 * 1 to DBK_BLOCK_ID_MAX printable ASCII characters, @n of them at @s.
 */
static inline int dbk_nbd_id_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > DBK_BLOCK_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static inline int dbk_nbd_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

#endif /* DBK_NBD_PROTO_H */
