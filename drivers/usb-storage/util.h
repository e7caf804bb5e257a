/* SPDX-License-Identifier: GPL-2.0-only */
/* usb-storage: messages and byte order helpers shared by the files. */
#ifndef USB_STORAGE_UTIL_H
#define USB_STORAGE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* A line on stderr, prefixed "usb-storage: ". */
void usbs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Unit tests silence the messages of the error paths they walk. */
extern bool usbs_quiet;

/* SCSI fields are big-endian (SPC-4 3.5). */
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

#endif
