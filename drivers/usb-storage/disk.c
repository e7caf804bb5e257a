/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Byte ranges on whole blocks.  A request [off, off + size) splits into a
 * head (the part of the first block when off is not block-aligned), whole
 * blocks, and a tail (the part of the last block); head and tail may be
 * the same block.  Whole blocks move between the device and the caller's
 * buffer directly; the edges go through one bounce block.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"

int disk_init(struct disk *d, const struct disk_ops *ops, void *ctx,
	      uint32_t block_size, uint64_t blocks, uint32_t max_blocks)
{
	if (!block_size || (block_size & (block_size - 1)) || !blocks || !max_blocks ||
	    blocks > UINT64_MAX / block_size)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->bounce = malloc(block_size);
	if (!d->bounce)
		return -ENOMEM;
	d->ops = ops;
	d->ctx = ctx;
	d->block_size = block_size;
	d->blocks = blocks;
	d->max_blocks = max_blocks;
	return 0;
}

void disk_fini(struct disk *d)
{
	free(d->bounce);
	d->bounce = NULL;
}

uint64_t disk_size(const struct disk *d)
{
	return d->blocks * d->block_size;
}

/* Whole blocks, at most max_blocks per callback. */
static int whole(struct disk *d, int write, uint64_t lba, uint64_t blocks, uint8_t *buf)
{
	while (blocks) {
		uint32_t n = blocks < d->max_blocks ? (uint32_t)blocks : d->max_blocks;
		int r = write ? d->ops->write(d->ctx, lba, n, buf) :
				d->ops->read(d->ctx, lba, n, buf);

		if (r < 0)
			return r;
		lba += n;
		blocks -= n;
		buf += (size_t)n * d->block_size;
	}
	return 0;
}

/* Part of one block, [in, in + len) inside block @lba. */
static int partial(struct disk *d, int write, uint64_t lba, uint32_t in, uint32_t len,
		   uint8_t *buf)
{
	int r = d->ops->read(d->ctx, lba, 1, d->bounce);

	if (r < 0)
		return r;
	if (!write) {
		memcpy(buf, d->bounce + in, len);
		return 0;
	}
	memcpy(d->bounce + in, buf, len);
	return d->ops->write(d->ctx, lba, 1, d->bounce);
}

static ssize_t rw(struct disk *d, int write, uint8_t *buf, size_t size, uint64_t off)
{
	uint32_t bs = d->block_size, in;
	uint64_t lba, n;
	size_t done = 0, len;
	int r;

	lba = off / bs;
	in = (uint32_t)(off % bs);
	if (in) {
		len = bs - in < size ? bs - in : size;
		r = partial(d, write, lba, in, (uint32_t)len, buf);
		if (r < 0)
			return r;
		done += len;
		lba++;
	}
	n = (size - done) / bs;
	if (n) {
		r = whole(d, write, lba, n, buf + done);
		if (r < 0)
			return r;
		done += (size_t)n * bs;
		lba += n;
	}
	if (done < size) {
		r = partial(d, write, lba, 0, (uint32_t)(size - done), buf + done);
		if (r < 0)
			return r;
	}
	return (ssize_t)size;
}

ssize_t disk_pread(struct disk *d, void *buf, size_t size, uint64_t off)
{
	uint64_t end = disk_size(d);

	if (off >= end || size == 0)
		return 0;
	if (size > end - off)
		size = (size_t)(end - off);
	if (size > SSIZE_MAX)
		size = SSIZE_MAX & ~(size_t)(d->block_size - 1);
	return rw(d, 0, buf, size, off);
}

ssize_t disk_pwrite(struct disk *d, const void *buf, size_t size, uint64_t off)
{
	uint64_t end = disk_size(d);

	if (size == 0)
		return 0;
	if (off >= end || size > end - off || size > SSIZE_MAX)
		return -ENOSPC;
	/* rw() only reads from @buf when writing. */
	return rw(d, 1, (uint8_t *)(uintptr_t)buf, size, off);
}
