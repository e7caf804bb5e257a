/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Byte-addressed reads and writes on a block device: what a file needs.
 * Whole blocks go straight to the device; a partial block at either end
 * is read, patched and written back (read-modify-write).  Pure over two
 * callbacks, so that the edge cases are unit-tested against memory.
 */
#ifndef USB_STORAGE_DISK_H
#define USB_STORAGE_DISK_H

#include <stdint.h>
#include <sys/types.h>

struct disk_ops {
	/* Whole blocks: 0 or a negative errno. */
	int (*read)(void *ctx, uint64_t lba, uint32_t blocks, void *buf);
	int (*write)(void *ctx, uint64_t lba, uint32_t blocks, const void *buf);
};

struct disk {
	const struct disk_ops *ops;
	void *ctx;
	uint32_t block_size;
	uint64_t blocks;
	uint32_t max_blocks;	/* per callback */
	uint8_t *bounce;	/* one block, for the edges */
};

/* @return 0, -EINVAL (block size not a power of two, no blocks), -ENOMEM */
int disk_init(struct disk *d, const struct disk_ops *ops, void *ctx,
	      uint32_t block_size, uint64_t blocks, uint32_t max_blocks);
void disk_fini(struct disk *d);
uint64_t disk_size(const struct disk *d);

/* @return the bytes read (fewer only at the end of the disk) or a
 * negative errno */
ssize_t disk_pread(struct disk *d, void *buf, size_t size, uint64_t off);
/* @return @size, -ENOSPC (beyond the end) or a negative errno */
ssize_t disk_pwrite(struct disk *d, const void *buf, size_t size, uint64_t off);

#endif
