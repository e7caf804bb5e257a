/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NVME_SELFTEST_H
#define NVME_SELFTEST_H

#include "nvme.h"

/* What the self-test leaves at LBA 0 of the namespace it used. */
#define NVME_SELFTEST_SIGNATURE "DEVBROKER-NVME-SELFTEST"

/* Run the self-test on an initialized controller, then shut it down. */
int nvme_selftest(struct nvme_ctrl *c);

/*
 * --bench SECONDS: the driver's own I/O loop on the first I/O queue of an
 * initialized controller, no frontend in the way (reads of 4 KiB at depth
 * 1 and 16, of 128 KiB at depth 8, SECONDS each), one JSON line per case
 * on stdout (IOPS, MB/s, the process's CPU per I/O, interrupts and polled
 * completions); then shut it down.  bench/nvme-vfio-bench.sh runs it on a
 * grant and on vfio-pci side by side.  ONLY, if not NULL, names the one
 * case to run (nvme_bench_case_known()).  0, or 1 if a case did no I/O.
 */
int nvme_bench(struct nvme_ctrl *c, unsigned int seconds, const char *only);
/* Is NAME one of nvme_bench()'s cases (read-4k-qd1, read-4k-qd16, read-128k-qd8)? */
bool nvme_bench_case_known(const char *name);

#endif
