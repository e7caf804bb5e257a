// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fd-thief PID FD: what another process of some uid (whatever this one
 * runs as: the test picks it with setpriv) can take from a driver:
 *  - its fd FD, with pidfd_getfd (the grant fd is 3);
 *  - a ptrace attach;
 *  - its memory, through /proc/PID/mem and process_vm_readv.
 * One line per attempt, "NAME: refused (ERRNO)" or "NAME: SUCCEEDED";
 * exit 0 when every attempt was refused, 1 when any succeeded, 2 on a
 * usage error.  tests/vm/broker-isolation.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

static int stolen;

static void report(const char *what, long ret, int err)
{
	if (ret >= 0) {
		printf("%s: SUCCEEDED\n", what);
		stolen = 1;
	} else {
		printf("%s: refused (%s)\n", what, strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
	}
}

int main(int argc, char **argv)
{
	char path[64], byte, *addr_end;
	unsigned long addr = 0;
	struct iovec local, remote;
	long ret;
	int pid, fd, pidfd, memfd;
	FILE *maps;

	if (argc != 3) {
		fprintf(stderr, "usage: fd-thief PID FD\n");
		return 2;
	}
	pid = atoi(argv[1]);
	fd = atoi(argv[2]);
	printf("as uid %u gid %u, against pid %d\n", (unsigned int)getuid(), (unsigned int)getgid(), pid);

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		report("pidfd_open", -1, errno);
	} else {
		ret = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		report("pidfd_getfd", ret, errno);
		if (ret >= 0)
			close((int)ret);
		close(pidfd);
	}

	ret = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	report("ptrace(PTRACE_ATTACH)", ret, errno);
	if (ret == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}

	/* An address to read: the start of its first mapping (readable as a world file). */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (maps) {
		char line[256];

		if (fgets(line, sizeof(line), maps))
			addr = strtoul(line, &addr_end, 16);
		fclose(maps);
	}
	/* Unknown (maps refused): the access checks come before the address's. */
	if (!addr)
		addr = 0x10000;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd >= 0) {
		ret = pread(memfd, &byte, 1, (off_t)addr);
		/* EIO: opened, so allowed; only the address was wrong. */
		report("/proc/PID/mem read", ret < 0 && errno == EIO ? 0 : ret, errno);
	} else {
		report("/proc/PID/mem open", memfd, errno);
	}
	if (memfd >= 0)
		close(memfd);

	local.iov_base = &byte;
	local.iov_len = 1;
	remote.iov_base = (void *)addr;
	remote.iov_len = 1;
	ret = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	/* EFAULT: allowed, only the address was wrong. */
	report("process_vm_readv", ret < 0 && errno == EFAULT ? 0 : ret, errno);
	return stolen;
}
