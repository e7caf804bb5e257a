/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dbk-launch: the privileged half of starting an unprivileged driver (a
 * test helper; the broker replaces it later).
 *
 * As root it opens /dev/devbroker/<bdf>, creates a grant with the rights
 * given on the command line and, with --cuse NAME, opens /dev/cuse.  It
 * forks; the child drops to --uid/--gid (default 65534) with no
 * supplementary groups, sets PR_SET_NO_NEW_PRIVS, checks that it holds no
 * capability at all and execs the program with exactly these fds:
 *
 *     0, 1, 2   inherited
 *     3         the grant fd
 *     4         the /dev/cuse fd (only with --cuse)
 *
 * announced to it as devbrokerd announces them, through libdev's own code
 * (<devbroker/handover.h>), e.g.
 *     dbk-launch --device 0000:00:04.0 --msi --dma-quota 65536 --dma-bits 28 \
 *         --unsafe-dma --cuse edu0 --mode 0666 -- edu-driver --name edu0
 *
 * The parent closes its /dev/cuse fd right after fork(): a /dev/cuse fd
 * held without a live server can leave clients in unkillable D state.  It
 * closes the grant fd too (the grant lives as long as the driver holds it).
 * With --cuse it waits until /dev/NAME appears and chmods it to --mode.
 * It then prints the driver's pid on stdout (or into --pidfile FILE) and:
 *  - by default exits 0, leaving the driver running;
 *  - with --wait stays, keeps the device fd, revokes the grant
 *    (DBK_DEVICE_REVOKE) on SIGUSR1, forwards SIGTERM/SIGINT to the driver,
 *    and exits with the driver's status (128+N if killed by signal N).
 * Exit status 1 means the launch itself failed (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>

#include "handover-writer.h"

#define GRANT_FD	3
#define CUSE_FD		4

static volatile sig_atomic_t got_revoke, got_term;
static pid_t child = -1;
static int child_errfd = -1;	/* in the child: tells the parent we failed */

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("dbk-launch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (child_errfd >= 0) {
		int e = errno ? errno : EPERM;

		if (write(child_errfd, &e, sizeof(e)) < 0) { /* nothing more to do */ }
		_exit(127);
	}
	exit(1);
}

static unsigned long long num(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s: '%s'", what, s);
	return v;
}

/* devbrokerd's dbk_policy_cookie() (broker/launch.c): FNV-1a 64 of the driver's name. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static void usage(FILE *f)
{
	fputs(
"usage: dbk-launch --device BDF [options] -- PROGRAM [ARGS...]\n"
"grant (DBK_DEVICE_CREATE_GRANT):\n"
"  --bars MASK          BARs for pread/pwrite (default: every BAR the\n"
"                       device has, from sysfs)\n"
"  --mmap MASK          BARs that may be mmap()ed (default: --bars)\n"
"  --intx --msi --msix  interrupt types\n"
"  --max-vectors N      MSI/MSI-X vectors (default 1 with --msi/--msix)\n"
"  --irq-rate N         interrupts per second (default: kernel's)\n"
"  --config-write       config writes beyond the command register\n"
"  --dma-quota BYTES    allow DMA, up to BYTES at once\n"
"  --dma-bits N         device DMA address width (default 32)\n"
"  --unsafe-dma         allow DMA without an IOMMU\n"
"  --mediated B:OFF:LEN reach BAR B [OFF, OFF+LEN) only by pread/pwrite\n"
"                       (repeatable)\n"
"  --driver-name NAME   policy_cookie: devbrokerd's for driver NAME (FNV-1a\n"
"                       of NAME, broker/launch.c), so its Policy= applies\n"
"driver:\n"
"  --cuse NAME          open /dev/cuse for the driver (fd 4); wait for\n"
"                       /dev/NAME and chmod it\n"
"  --mode MODE          mode for /dev/NAME (default 0600)\n"
"  --dev-timeout SEC    how long to wait for /dev/NAME (default 60)\n"
"  --uid UID --gid GID  run the program as (default 65534)\n"
"  --wait               stay: revoke on SIGUSR1, exit with the program's status\n"
"  --pidfile FILE       write the program's pid to FILE (atomically), not stdout\n"
"The program gets the grant as fd 3 (and /dev/cuse as fd 4).\n", f);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_revoke = 1;
	else
		got_term = sig;
}

/* In the child: give up every privilege, or die trying. */
static void drop_privileges(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("clearing ambient capabilities: %s", strerror(errno));
	if (setgroups(0, NULL) < 0)
		die("setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		die("setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		die("setresuid(%u): %s", (unsigned)uid, strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));

	/* Check rather than trust. */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		die("getresuid: %s", strerror(errno));
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		die("ids did not change");
	if (getgroups(0, NULL) != 0)
		die("supplementary groups remain");
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		die("capget: %s", strerror(errno));
	if (data[0].effective || data[0].permitted || data[0].inheritable ||
	    data[1].effective || data[1].permitted || data[1].inheritable)
		die("capabilities remain after dropping to uid %u", (unsigned)uid);
	if (uid == 0)
		die("refusing to run the driver as root");
}

/* The BARs the device has: nonzero lines 0-5 of sysfs "resource". */
static uint32_t present_bars(const char *bdf)
{
	unsigned long long start, end, flags;
	uint32_t mask = 0;
	char path[300];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "re");
	if (!f)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < 6; i++) {
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		if (end > start)
			mask |= 1u << i;
	}
	fclose(f);
	return mask;
}

/* A CLOEXEC copy of @fd at 10 or above, out of the way of 3 and 4. */
static int lift_fd(int fd)
{
	int tmp = fcntl(fd, F_DUPFD_CLOEXEC, 10);

	if (tmp < 0)
		die("dup of fd %d: %s", fd, strerror(errno));
	return tmp;
}

/* Put @fd at @target without O_CLOEXEC. */
static void place_fd(int fd, int target)
{
	if (dup2(fd, target) < 0)
		die("placing fd %d at %d: %s", fd, target, strerror(errno));
	close(fd);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The hand-over, in our environment for exec: libdev's writer, as devbrokerd's. */
static void announce(const char *bdf, bool cuse)
{
	struct dbk_handover_spec hs;
	int r;

	dbk_handover_spec_init(&hs);
	hs.device = bdf;
	hs.fd[DBK_HANDOVER_GRANT] = GRANT_FD;
	hs.fd[DBK_HANDOVER_CUSE] = cuse ? CUSE_FD : -1;
	r = dbk_handover_setenv(&hs);
	if (r < 0)
		die("the hand-over: %s", strerror(-r));
}

int main(int argc, char **argv)
{
	enum { O_BARS = 256, O_MMAP, O_INTX, O_MSI, O_MSIX, O_VEC, O_RATE,
	       O_CFGW, O_QUOTA, O_BITS, O_UNSAFE, O_MED, O_CUSE, O_MODE,
	       O_DEVTMO, O_UID, O_GID, O_WAIT, O_DEVICE, O_PIDFILE, O_DRVNAME };
	static const struct option opts[] = {
		{ "device", required_argument, NULL, O_DEVICE },
		{ "bars", required_argument, NULL, O_BARS },
		{ "mmap", required_argument, NULL, O_MMAP },
		{ "intx", no_argument, NULL, O_INTX },
		{ "msi", no_argument, NULL, O_MSI },
		{ "msix", no_argument, NULL, O_MSIX },
		{ "max-vectors", required_argument, NULL, O_VEC },
		{ "irq-rate", required_argument, NULL, O_RATE },
		{ "config-write", no_argument, NULL, O_CFGW },
		{ "dma-quota", required_argument, NULL, O_QUOTA },
		{ "dma-bits", required_argument, NULL, O_BITS },
		{ "unsafe-dma", no_argument, NULL, O_UNSAFE },
		{ "mediated", required_argument, NULL, O_MED },
		{ "cuse", required_argument, NULL, O_CUSE },
		{ "mode", required_argument, NULL, O_MODE },
		{ "dev-timeout", required_argument, NULL, O_DEVTMO },
		{ "uid", required_argument, NULL, O_UID },
		{ "gid", required_argument, NULL, O_GID },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "driver-name", required_argument, NULL, O_DRVNAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbk_range med[DBK_MAX_MEDIATED];
	struct dbk_grant_spec spec;
	const char *bdf = NULL, *cuse_name = NULL, *pidfile = NULL;
	bool bars_set = false, vec_set = false, mmap_set = false, wait_child = false;
	unsigned long mode = 0600, dev_timeout = 60;
	uid_t uid = 65534;
	gid_t gid = 65534;
	int devfd, grant_fd, cuse_fd = -1, errpipe[2], c, status;
	char path[256];
	ssize_t n;
	int child_err;

	memset(&spec, 0, sizeof(spec));
	memset(med, 0, sizeof(med));
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_DEVICE: bdf = optarg; break;
		case O_BARS: spec.bar_mask = (uint32_t)num(optarg, "--bars"); bars_set = true; break;
		case O_MMAP: spec.mmap_mask = (uint32_t)num(optarg, "--mmap"); mmap_set = true; break;
		case O_INTX: spec.flags |= DBK_GRANT_F_INTX; break;
		case O_MSI: spec.flags |= DBK_GRANT_F_MSI; break;
		case O_MSIX: spec.flags |= DBK_GRANT_F_MSIX; break;
		case O_VEC: spec.max_vectors = (uint32_t)num(optarg, "--max-vectors"); vec_set = true; break;
		case O_RATE: spec.irq_rate = (uint32_t)num(optarg, "--irq-rate"); break;
		case O_CFGW: spec.flags |= DBK_GRANT_F_CONFIG_WRITE; break;
		case O_QUOTA:
			spec.flags |= DBK_GRANT_F_DMA;
			spec.dma_quota = num(optarg, "--dma-quota");
			break;
		case O_BITS: spec.dma_bits = (uint32_t)num(optarg, "--dma-bits"); break;
		case O_UNSAFE: spec.flags |= DBK_GRANT_F_UNSAFE_DMA; break;
		case O_MED: {
			unsigned int b;
			unsigned long long off, len;

			if (spec.nr_mediated >= DBK_MAX_MEDIATED)
				die("at most %d --mediated ranges", DBK_MAX_MEDIATED);
			if (sscanf(optarg, "%u:%lli:%lli", &b, &off, &len) != 3)
				die("bad --mediated '%s' (want BAR:OFF:LEN)", optarg);
			med[spec.nr_mediated].bar = b;
			med[spec.nr_mediated].offset = off;
			med[spec.nr_mediated].size = len;
			spec.nr_mediated++;
			break;
		}
		case O_CUSE: cuse_name = optarg; break;
		case O_MODE: mode = (unsigned long)num(optarg, "--mode"); break;
		case O_DEVTMO: dev_timeout = (unsigned long)num(optarg, "--dev-timeout"); break;
		case O_UID: uid = (uid_t)num(optarg, "--uid"); break;
		case O_GID: gid = (gid_t)num(optarg, "--gid"); break;
		case O_WAIT: wait_child = true; break;
		case O_PIDFILE: pidfile = optarg; break;
		case O_DRVNAME: spec.policy_cookie = fnv1a(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!bdf || optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strchr(bdf, '/') || strlen(bdf) > 64)
		die("bad device '%s'", bdf);
	if (cuse_name && (strchr(cuse_name, '/') || !*cuse_name || strlen(cuse_name) > 64))
		die("bad --cuse name '%s'", cuse_name);
	if (mode > 07777)
		die("bad --mode");
	if (!bars_set)
		spec.bar_mask = present_bars(bdf);
	if (!mmap_set)
		spec.mmap_mask = spec.bar_mask;
	if (!vec_set && (spec.flags & (DBK_GRANT_F_MSI | DBK_GRANT_F_MSIX)))
		spec.max_vectors = 1;
	if (spec.nr_mediated)
		spec.mediated = (uintptr_t)med;
	spec.argsz = sizeof(spec);

	snprintf(path, sizeof(path), "/dev/devbroker/%s", bdf);
	devfd = open(path, O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		die("open %s: %s", path, strerror(errno));
	grant_fd = ioctl(devfd, DBK_DEVICE_CREATE_GRANT, &spec);
	if (grant_fd < 0)
		die("DBK_DEVICE_CREATE_GRANT on %s: %s", path, strerror(errno));
	if (cuse_name) {
		cuse_fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
		if (cuse_fd < 0)
			die("open /dev/cuse: %s (modprobe cuse?)", strerror(errno));
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);

	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		int g, cu = -1;

		child_errfd = lift_fd(errpipe[1]);
		g = lift_fd(grant_fd);
		if (cuse_fd >= 0)
			cu = lift_fd(cuse_fd);
		place_fd(g, GRANT_FD);
		if (cu >= 0)
			place_fd(cu, CUSE_FD);
		/* Everything else is closed at exec (the error pipe too). */
		if (syscall(SYS_close_range, cu >= 0 ? CUSE_FD + 1 : GRANT_FD + 1,
			    ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			die("close_range: %s", strerror(errno));
		drop_privileges(uid, gid);
		announce(bdf, cu >= 0);
		execvp(argv[optind], &argv[optind]);
		die("exec %s: %s", argv[optind], strerror(errno));
	}

	/* Parent: never hold /dev/cuse without a server behind it. */
	if (cuse_fd >= 0)
		close(cuse_fd);
	close(grant_fd);
	close(errpipe[1]);
	do
		n = read(errpipe[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(child_err)) {
		waitpid(child, NULL, 0);
		errno = 0;
		die("starting %s failed: %s", argv[optind], strerror(child_err));
	}
	if (waitpid(child, &status, WNOHANG) == child)
		die("the program failed before exec (status 0x%x)", status);

	if (cuse_name) {
		struct stat st;
		char dev[300];
		unsigned long waited = 0;

		snprintf(dev, sizeof(dev), "/dev/%s", cuse_name);
		for (;;) {
			if (stat(dev, &st) == 0 && S_ISCHR(st.st_mode))
				break;
			if (waitpid(child, &status, WNOHANG) == child)
				die("the driver exited (status 0x%x) before %s appeared",
				    status, dev);
			if (waited >= dev_timeout * 1000) {
				kill(child, SIGKILL);
				waitpid(child, NULL, 0);
				die("%s did not appear within %lus", dev, dev_timeout);
			}
			sleep_ms(20);
			waited += 20;
		}
		if (chmod(dev, (mode_t)mode) < 0)
			die("chmod %s: %s", dev, strerror(errno));
	}
	if (pidfile) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		f = fopen(tmp, "we");
		if (!f || fprintf(f, "%d\n", (int)child) < 0 || fclose(f) != 0 ||
		    rename(tmp, pidfile) < 0)
			die("writing %s: %s", pidfile, strerror(errno));
	} else {
		printf("%d\n", (int)child);
		fflush(stdout);
	}

	if (!wait_child)
		return 0;

	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	for (;;) {
		pid_t w = waitpid(child, &status, 0);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (got_revoke) {
			struct dbk_revoke rv = { .argsz = sizeof(rv) };

			got_revoke = 0;
			if (ioctl(devfd, DBK_DEVICE_REVOKE, &rv) < 0)
				fprintf(stderr, "dbk-launch: DBK_DEVICE_REVOKE: %s\n",
					strerror(errno));
			else
				fprintf(stderr, "dbk-launch: grant revoked\n");
		}
		if (got_term) {
			kill(child, got_term);
			got_term = 0;
		}
	}
	close(devfd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
