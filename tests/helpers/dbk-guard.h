/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test programs that create guarded grants themselves (as devbrokerd
 * does): the loaded DMA guard's program, for dbk_grant_spec.guard_fd.
 * Needs libbpf.
 */
#ifndef DBK_TEST_GUARD_H
#define DBK_TEST_GUARD_H

#include <glob.h>

#include <bpf/bpf.h>
#include <devbroker/bpffs.h>

/* The first loaded policy's guard (whatever name it was loaded as), or -1. */
static inline int guard_open(void)
{
	glob_t gl;
	int fd = -1;

	if (!glob(DBK_POLICY_PIN_ROOT "/*/" DBK_POLICY_GUARD, 0, NULL, &gl) && gl.gl_pathc)
		fd = bpf_obj_get(gl.gl_pathv[0]);
	globfree(&gl);
	return fd;
}

#endif /* DBK_TEST_GUARD_H */
