/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NVME_SELFTEST_H
#define NVME_SELFTEST_H

#include "nvme.h"

/* What the self-test leaves at LBA 0 of the namespace it used. */
#define NVME_SELFTEST_SIGNATURE "DEVBROKER-NVME-SELFTEST"

/* Run the self-test on an initialized controller, then shut it down. */
int nvme_selftest(struct nvme_ctrl *c);

#endif
