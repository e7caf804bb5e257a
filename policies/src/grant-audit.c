// SPDX-License-Identifier: GPL-2.0-only
/*
 * grant-audit: load grant_audit.bpf.o through its libbpf skeleton, run a
 * command, and print how many grants it created and revoked.
 * usage: grant-audit COMMAND [ARGS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grant_audit.skel.h"

int main(int argc, char **argv)
{
	struct grant_audit_bpf *skel;
	__u64 created = 0, revoked = 0;
	__u32 k0 = 0, k1 = 1;
	int status, err;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	skel = grant_audit_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "grant-audit: cannot load the BPF program (is devbroker.ko loaded?)\n");
		return 1;
	}
	err = grant_audit_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "grant-audit: attach failed: %d\n", err);
		grant_audit_bpf__destroy(skel);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	bpf_map__lookup_elem(skel->maps.counts, &k0, sizeof(k0), &created, sizeof(created), 0);
	bpf_map__lookup_elem(skel->maps.counts, &k1, sizeof(k1), &revoked, sizeof(revoked), 0);
	printf("grants created %llu revoked %llu\n", (unsigned long long)created,
	       (unsigned long long)revoked);
	grant_audit_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
