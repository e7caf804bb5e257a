/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/cuse-client.h
 * @brief For programs that use a character device a devbroker driver
 * serves through CUSE (the SDK's dbk_cuse_*, <devbroker/frontend.h>): the only devbroker-specific
 * calls such a program needs.  It includes no driver SDK and links nothing.
 *
 * The kernel's CUSE sends offset 0 with every read and write
 * (fs/fuse/cuse.c), so pread()/pwrite() offsets and lseek() do not reach
 * the driver.  The SDK keeps a position for each open file instead: it
 * starts at 0, each read or write advances it by the bytes transferred,
 * and these ioctls set and read it.
 */
#ifndef DEVBROKER_CUSE_CLIENT_H
#define DEVBROKER_CUSE_CLIENT_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** Set the calling open file's position (in: __u64). */
#define DBK_CUSE_IOC_SEEK	_IOW(0xDB, 0x01, __u64)
/** Get the calling open file's position (out: __u64). */
#define DBK_CUSE_IOC_TELL	_IOR(0xDB, 0x02, __u64)

#endif /* DEVBROKER_CUSE_CLIENT_H */
