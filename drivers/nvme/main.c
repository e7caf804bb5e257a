/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvme: an unprivileged userspace driver for NVM Express controllers
 * (PCI class 01 08 02), built on libdev only, in the manner of ixy and of
 * SPDK's nvme driver, citing the NVM Express Base Specification 1.4.
 *
 *   nvme-regs.h  registers, queue entries, identify offsets
 *   ctrl.c       bring-up, admin commands, identify, reset, shutdown
 *   io.c         queue pairs and the I/O API the block frontend will use
 *   selftest.c   --selftest
 *   serve.c      the disk, through the block frontend (<devbroker/block.h>)
 *   event.c      asynchronous events: a namespace that goes
 *
 * usage: nvme [--grant-fd N | --vfio BDF] [--queues N] [--depth N]
 *             [--max-transfer BYTES] [--timeout-ms MS]
 *             [--poll adaptive|irq|always] [--copy] [--nsid N]
 *             [--selftest | --identify | --bench SECONDS [--bench-case NAME]] [--verbose]
 *
 * Without --grant-fd, the grant devbrokerd (or a test launcher) handed
 * over (<devbroker/handover.h>).  With --vfio BDF the same driver runs on
 * the controller at BDF bound to vfio-pci instead (libdev's VFIO backend,
 * dbk_dev_open_vfio(): the caller needs access to its /dev/vfio/N, and
 * type1 an IOMMU), as a DPDK or SPDK driver would: --selftest, --bench
 * and --identify only, since the block frontend's fds come from devbrokerd.
 * The grant must allow BAR0, MSI-X (one vector for the admin queue and
 * one per I/O queue; fewer means fewer queues, none means polling) and
 * DMA (see nvme.conf for the size).
 *
 * Modes:
 *  - serve, the default when the hand-over carries block fds (the
 *    manifest's [Frontend] Block=): namespace --nsid (default: the first
 *    usable one) becomes /dev/nbdN, one I/O queue pair per connection
 *    (--queues, if given, caps them), until the kernel disconnects,
 *    SIGTERM (the controller is shut down, exit 0) or a revocation
 *    (in-flight requests fail with EIO, exit 3);
 *  - --identify, the default otherwise: bring up, report, shut down;
 *  - --selftest: TAP checks of the I/O layer (selftest.c);
 *  - --bench SECONDS: the I/O loop's throughput, JSON lines (selftest.c).
 *    --bench-case NAME runs one of its cases only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devbroker/device.h>
#include <devbroker/handover.h>

#include "nvme.h"
#include "selftest.h"
#include "serve.h"

static void usage(FILE *f)
{
	fputs("usage: nvme [--grant-fd N | --vfio BDF] [--queues N] [--depth N]\n"
	      "            [--max-transfer BYTES] [--timeout-ms MS]\n"
	      "            [--poll adaptive|irq|always] [--copy] [--nsid N]\n"
	      "            [--selftest | --identify | --bench SECONDS(1-3600) [--bench-case NAME]]\n"
	      "            [--verbose]\n"
	      "Without --grant-fd or --vfio: the grant devbrokerd handed over.\n"
	      "--vfio BDF: the controller at BDF, bound to vfio-pci (--selftest, --bench, --identify).\n", f);
}

static void report(struct nvme_ctrl *c)
{
	unsigned int i;

	nvme_log("%s (serial %s, firmware %s, controller ID %u), NVMe %u.%u, %u namespace(s), "
		 "%u I/O queue pair(s) of %u entries, max transfer %u bytes", c->mn, c->sn, c->fr, c->cntlid,
		 c->vs >> 16, (c->vs >> 8) & 0xff, c->nr_ns, c->nr_io, c->io_depth, c->max_transfer);
	for (i = 0; i < c->nr_ns; i++)
		nvme_log("namespace %u: %" PRIu64 " blocks of %u bytes%s", c->ns[i].nsid, c->ns[i].blocks,
			 1u << c->ns[i].lba_shift, c->ns[i].usable ? "" : " (unsupported format)");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grant-fd", required_argument, NULL, 'g' },
		{ "vfio", required_argument, NULL, 'V' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "max-transfer", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "poll", required_argument, NULL, 'p' },
		{ "copy", no_argument, NULL, 'c' },
		{ "selftest", no_argument, NULL, 's' },
		{ "identify", no_argument, NULL, 'i' },
		{ "bench", required_argument, NULL, 'b' },
		{ "bench-case", required_argument, NULL, 'B' },
		{ "nsid", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct nvme_ctrl c;
	unsigned int queues = 0, depth = 32;
	uint32_t max_transfer = 128 * 1024, nsid = 0;
	int grant_fd = -1, ch, r, rc, nr_block = 0;
	int block_fds[DBK_HANDOVER_BLOCK_MAX];
	bool selftest = false, identify = false;
	unsigned int bench = 0;
	const char *bench_case = NULL;
	const char *vfio = NULL;
	struct dbk_dev *dev;

	memset(&c, 0, sizeof(c));
	/* SIGUSR1 resets the controller while serving (serve.c); until then it must not kill us. */
	signal(SIGUSR1, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'g': grant_fd = atoi(optarg); break;
		case 'V': vfio = optarg; break;
		case 'q': queues = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'd': depth = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'm': max_transfer = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': c.cmd_timeout_ms = atoi(optarg); break;
		case 'p':
			if (!strcmp(optarg, "adaptive")) {
				c.poll_mode = NVME_POLL_ADAPTIVE;
			} else if (!strcmp(optarg, "irq")) {
				c.poll_mode = NVME_POLL_IRQ;
			} else if (!strcmp(optarg, "always")) {
				c.poll_mode = NVME_POLL_ALWAYS;
			} else {
				usage(stderr);
				return 2;
			}
			break;
		case 'c': c.copy = true; break;
		case 's': selftest = true; break;
		case 'i': identify = true; break;
		case 'b': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 3600) {
				nvme_log("--bench %s: want 1 to 3600 seconds", optarg);
				return 2;
			}
			bench = (unsigned int)v;
			break;
		}
		case 'B':
			if (!nvme_bench_case_known(optarg)) {
				nvme_log("--bench-case %s: want read-4k-qd1, read-4k-qd16 or read-128k-qd8",
					 optarg);
				return 2;
			}
			bench_case = optarg;
			break;
		case 'n': nsid = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': c.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || queues > NVME_MAX_IO_QUEUES || depth < 2 || depth > 1024 ||
	    (vfio && grant_fd >= 0) || (bench && (selftest || identify)) || (bench_case && !bench)) {
		usage(stderr);
		return 2;
	}
	if (grant_fd < 0 && !vfio) {
		struct dbk_handover *h;

		r = dbk_handover_get(&h);
		if (r < 0) {
			nvme_log("nothing handed over (%s): run under devbrokerd, or give --grant-fd",
				 strerror(-r));
			return 2;
		}
		grant_fd = dbk_handover_take_fd(h, DBK_HANDOVER_GRANT);
		/* Block fds: devbrokerd connected /dev/nbdN to their other ends. */
		nr_block = dbk_handover_take_block_fds(h, block_fds, DBK_HANDOVER_BLOCK_MAX);
		if (nr_block < 0)
			nr_block = 0;
		dbk_handover_free(h);
		if (grant_fd < 0) {
			nvme_log("no grant was handed over: %s", strerror(-grant_fd));
			return 2;
		}
	}
	if (selftest || identify || bench) {
		while (nr_block > 0)
			close(block_fds[--nr_block]);	/* the disk stays unserved: its handshake fails */
	}
	/* Serving: one I/O queue per connection, unless --queues asks fewer. */
	if (!queues)
		queues = nr_block ? (unsigned int)nr_block : 2;
	else if (nr_block && queues > (unsigned int)nr_block)
		queues = (unsigned int)nr_block;
	r = dbk_catch_revocation();
	if (r < 0)
		nvme_log("cannot catch revocation: %s", strerror(-r));
	if (vfio) {
		r = dbk_dev_open_vfio(vfio, &dev);
		if (r < 0) {
			nvme_log("opening %s through VFIO: %s", vfio, strerror(-r));
			return 1;
		}
		nvme_log("%s opened through VFIO (vfio-pci, type1)", vfio);
	} else {
		r = dbk_dev_adopt(grant_fd, &dev);
		if (r < 0) {
			nvme_log("adopting grant fd %d: %s", grant_fd, strerror(-r));
			return 1;
		}
	}
	/* Under Policy=nvme_firewall: the registers page mediated, the doorbells mapped. */
	nvme_log("registers through %s, doorbells through %s",
		 dbk_dev_access_is_mapped(dev, NVME_BAR, NVME_REG_CSTS, 4) == 1 ? "mmap()" : "pread/pwrite",
		 dbk_dev_access_is_mapped(dev, NVME_BAR, NVME_REG_DBS, 4) == 1 ? "mmap()" : "pread/pwrite");
	r = nvme_ctrl_init(&c, dev, queues, depth, max_transfer);
	if (r < 0) {
		nvme_log("bringing the controller up: %s", strerror(-r));
		if (selftest) {
			printf("not ok 1 - the controller comes up: %s\n1..1\n", strerror(-r));
			fflush(stdout);
		}
		nvme_ctrl_free(&c);
		dbk_dev_free(dev);
		return 1;
	}
	report(&c);
	if (selftest) {
		rc = nvme_selftest(&c);
	} else if (bench) {
		rc = nvme_bench(&c, bench, bench_case);
	} else if (nr_block) {
		rc = nvme_serve(&c, block_fds, (unsigned int)nr_block, nsid);
		nr_block = 0;	/* closed by nvme_serve() */
	} else {
		nvme_log("no block fds handed over (no [Frontend] Block=): shutting the controller down");
		rc = nvme_ctrl_shutdown(&c) < 0 ? 1 : 0;
	}
	rc = dbk_dev_is_revoked(dev) == 1 ? 3 : rc;
	nvme_ctrl_free(&c);
	dbk_dev_free(dev);
	return rc;
}
