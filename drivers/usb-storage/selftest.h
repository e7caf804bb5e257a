/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef USB_STORAGE_SELFTEST_H
#define USB_STORAGE_SELFTEST_H

#include "scsi.h"

/*
 * --selftest: provoke transport errors on the real device and check that
 * the driver recovers (see selftest.c).  Uses the last block of the disk
 * and restores it.
 * @return the number of failed checks, or -ENODEV (the device is gone)
 */
int usbs_selftest(struct scsi_disk *d);

#endif
