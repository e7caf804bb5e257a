/*
 * sandbox-probe: started by devbrokerd as if it were a driver, it tries what
 * a driver must never be able to do and writes one TAP line per attempt to
 * the file named by its first argument ("-": standard output, which
 * devbrokerd's log gets: a dynamic user cannot write a file).  Then, if
 * the broker gave it a FUSE fd (DBK_FUSE_FD), it serves one file, "hello",
 * on it; else it idles.
 *
 * usage: sandbox-probe OUTFILE|- SETUID_EUID_PROGRAM
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse3/fuse.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <devbroker/handover.h>

static const char hello[] = "served by a sandboxed driver\n";

static int hello_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (!strcmp(path, "/hello")) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(hello) - 1;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int hello_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
			 struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "hello", NULL, 0, 0);
	return 0;
}

static int hello_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	if (strcmp(path, "/hello"))
		return -ENOENT;
	if (off >= (off_t)sizeof(hello) - 1)
		return 0;
	if (size > sizeof(hello) - 1 - off)
		size = sizeof(hello) - 1 - off;
	memcpy(buf, hello + off, size);
	return size;
}

static const struct fuse_operations hello_ops = {
	.getattr = hello_getattr,
	.readdir = hello_readdir,
	.read = hello_read,
};

/* Serve the broker-mounted FUSE fd: "/dev/fd/N" makes libfuse take it as is. */
static int serve_fuse(const char *fdstr)
{
	char *argv[] = { "sandbox-probe", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	char mnt[32];
	struct fuse *f = fuse_new(&args, &hello_ops, sizeof(hello_ops), NULL);

	snprintf(mnt, sizeof(mnt), "/dev/fd/%s", fdstr);
	if (!f || fuse_mount(f, mnt))
		return 1;
	return fuse_loop(f);
}

static FILE *out;
static int n, failed;

static void check(int ok, const char *what)
{
	fprintf(out, "%sok %d - sandbox: %s%s%s\n", ok ? "" : "not ", ++n, what,
		ok ? "" : " -- errno: ", ok ? "" : strerror(errno));
	fflush(out);
	failed |= !ok;
}

static int status_field(const char *key, char *val, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(val, len, "%s", line + strlen(key));
			val[strcspn(val, "\n")] = 0;
			fclose(f);
			return 0;
		}
	fclose(f);
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/devbroker/control" };
	char val[128], buf[64], path[64];
	struct dbk_handover *ho = NULL;
	const char *dev = dbk_handover_get(&ho) == 0 ? dbk_handover_device(ho) : NULL;
	char fusefd[16] = "";
	union bpf_attr attr;
	struct dirent *de;
	int fd, s, pfd[2], nfds = 0, only_ours = 1;
	DIR *d;

	if (argc < 3 || !(out = strcmp(argv[1], "-") ? fopen(argv[1], "we") : stdout))
		return 2;
	check(getuid() != 0 && geteuid() != 0, "not root");
	check(status_field("CapEff:\t", val, sizeof(val)) == 0 && !strcmp(val, "0000000000000000"),
	      "no effective capabilities");
	check(status_field("CapBnd:\t", val, sizeof(val)) == 0 && !strcmp(val, "0000000000000000"),
	      "empty capability bounding set");
	check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs set");
	check(status_field("Seccomp:\t", val, sizeof(val)) == 0 && !strcmp(val, "2"), "seccomp filter on");
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d))) {
		int f = atoi(de->d_name);

		if (de->d_name[0] == '.' || f == dirfd(d) || f == fileno(out))
			continue;
		nfds++;
		only_ours &= f <= 4;
	}
	if (d)
		closedir(d);
	check(only_ours && fcntl(3, F_GETFD) >= 0,
	      "holds the grant fd (3), its frontend fd (4) and nothing else beyond 0-2");
	snprintf(path, sizeof(path), "/dev/devbroker/%s", dev ? dev : "x");
	errno = 0;
	check(open(path, O_RDWR) < 0, "cannot open its own device node");
	errno = 0;
	check(open("/dev/mem", O_RDONLY) < 0 && open("/dev/cuse", O_RDWR) < 0 &&
	      open("/dev/uinput", O_RDWR) < 0, "cannot open /dev/mem, /dev/cuse or /dev/uinput");
	check(open("/dev/null", O_RDWR) >= 0, "can open /dev/null");
	errno = 0;
	check(ptrace(PTRACE_ATTACH, getppid(), 0, 0) < 0 && errno == EPERM, "ptrace refused (EPERM)");
	/* Another process's fds and memory (DynamicUser= keeps them out of reach as well). */
	check(syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == EPERM, "pidfd_open refused (EPERM)");
	check(syscall(SYS_pidfd_getfd, 0, 3, 0) < 0 && errno == EPERM, "pidfd_getfd refused (EPERM)");
	check(syscall(SYS_kcmp, getpid(), getpid(), 0, 3, 3) < 0 && errno == EPERM, "kcmp refused (EPERM)");
	{
		char b;
		struct iovec l = { &b, 1 }, r = { &b, 1 };

		check(syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0) < 0 && errno == EPERM,
		      "process_vm_readv refused (EPERM)");
	}
	check(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "not dumpable (libdev's hand-over)");
	check(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 && errno == EPERM &&
	      prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "dumpable again refused (EPERM)");
	{
		/* No set-user-ID (or -group-ID) file of its uid for others to run (review R9). */
		char f[64];
		int t;

		/* In its /dev/shm: the only place a dynamic user can write. */
		snprintf(f, sizeof(f), "/dev/shm/dbk-probe-suid.%d", (int)getpid());
		t = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
		check(t >= 0 && fchmod(t, 04755) < 0 && errno == EPERM && chmod(f, 02755) < 0 &&
		      errno == EPERM && fchmodat(AT_FDCWD, f, 06755, 0) < 0 && errno == EPERM,
		      "set-user-ID and set-group-ID bits refused by chmod, fchmod, fchmodat (EPERM)");
		if (t >= 0)
			close(t);
		unlink(f);
		t = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 04755);
		check(t < 0 && errno == EPERM, "... and at creation (open with mode 04755: EPERM)");
		if (t >= 0)
			close(t);
		unlink(f);
		check(syscall(SYS_openat2, AT_FDCWD, f, NULL, 0) < 0 && errno == ENOSYS,
		      "openat2 refused (ENOSYS: its mode is out of seccomp's sight)");
	}
	errno = 0;
	check(mount("none", "/tmp", "tmpfs", 0, NULL) < 0 && errno == EPERM, "mount refused (EPERM)");
	memset(&attr, 0, sizeof(attr));
	errno = 0;
	check(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)) < 0 && errno == EPERM,
	      "bpf refused (EPERM)");
	errno = 0;
	check(syscall(SYS_init_module, NULL, 0, "") < 0 && errno == EPERM, "init_module refused (EPERM)");
	errno = 0;
	check(syscall(SYS_keyctl, 0, 0, 0, 0, 0) < 0 && errno == EPERM, "keyctl refused (EPERM)");
	errno = 0;
	check(unshare(CLONE_NEWUSER) < 0 && errno == EPERM, "new user namespace refused (EPERM)");
	errno = 0;
	check(syscall(SYS_io_uring_setup, 4, NULL) < 0 && errno == EPERM, "io_uring_setup refused (EPERM)");
	errno = 0;
	check(syscall(SYS_io_setup, 4, NULL) < 0 && errno == EPERM, "io_setup refused (EPERM)");
	errno = 0;
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	check(s < 0 && errno == EPERM, "no AF_UNIX socket (EPERM): no fd leaves the sandbox");
	check(s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0,
	      "cannot reach the broker's control socket");
	{
		/* A datagram pair can send to any named socket: an fd would leave (review R10). */
		int sv[2], dg, st;

		errno = 0;
		dg = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv);
		check(dg < 0 && errno == EPERM, "no AF_UNIX datagram socketpair (EPERM)");
		st = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		check(st == 0, "an AF_UNIX stream socketpair still works");
		if (st == 0) {
			close(sv[0]);
			close(sv[1]);
		}
	}
	errno = 0;
	check(setsid() < 0 && errno == EPERM, "setsid refused (EPERM): the process group stays whole");
	errno = 0;
	check(setpgid(0, 0) < 0 && errno == EPERM, "setpgid refused (EPERM)");
	/* A setuid-root program must not run as root under no_new_privs. */
	if (pipe(pfd) == 0 && fork() == 0) {
		dup2(pfd[1], 1);
		execl(argv[2], argv[2], (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	memset(buf, 0, sizeof(buf));
	fd = read(pfd[0], buf, sizeof(buf) - 1);
	wait(NULL);
	check(fd > 0 && atoi(buf) != 0, "a setuid-root binary does not run as root");
	/* A dynamic user leaves no file behind: nothing but its own /dev is writable. */
	errno = 0;
	fd = open("/tmp/sandbox-probe.left", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check(fd < 0 && errno == EROFS, "no file can be created in /tmp (EROFS)");
	errno = 0;
	fd = open("/var/tmp/sandbox-probe.left", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check(fd < 0 && errno == EROFS, "nor in /var/tmp (EROFS)");
	errno = 0;
	fd = mkdir("/run/lock/sandbox-probe.left", 0700);
	check(fd < 0 && (errno == EROFS || errno == ENOENT), "nor in /run/lock (EROFS)");
	fd = open("/dev/shm/sandbox-probe", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check(fd >= 0 && write(fd, "x", 1) == 1, "its own /dev/shm is writable");
	if (fd >= 0)
		close(fd);
	fprintf(out, "# sandbox-probe: %s\n", failed ? "FAILED" : "done");
	if (out == stdout) {
		fflush(out);
		/*
		 * What a driver must not be able to do to devbrokerd's log:
		 * write a line that reads as the daemon's, an escape sequence,
		 * a flood (broker-policy.sh checks what the log shows).
		 */
		fprintf(stderr, "x\rdevbrokerd: 0000:00:00.0: started: forged\x1b[2J\n");
		fprintf(stderr, "y\u2028devbrokerd: 0000:00:00.0: started: forged-LS\n");
		for (int i = 0; i < 300; i++)
			fprintf(stderr, "sandbox-probe: flood %d\n", i);
	} else {
		fclose(out);
	}
	if (ho && (fd = dbk_handover_take_fd(ho, DBK_HANDOVER_FUSE)) > 0) {
		snprintf(fusefd, sizeof(fusefd), "%d", fd);
		return serve_fuse(fusefd);
	}
	for (;;)
		pause();
}
