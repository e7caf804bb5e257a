// SPDX-License-Identifier: GPL-2.0-only
/*
 * What root may do with BPF beyond dbk-policy's checks, for the tests of
 * what the module must withstand (tests/vm/policy-tailcall.sh):
 *   bpf-attach OBJ DIR
 *	load OBJ, attach every program whose section names a target (a
 *	program array, say, which dbk-policy refuses), pin the links and
 *	maps under DIR;
 *   bpf-attach --freplace OBJ PIN FUNC LINK
 *	load OBJ's first program as an extension of FUNC in the program
 *	pinned at PIN, attach it, pin the link at LINK.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int freplace(const char *obj_path, const char *pin, const char *func, const char *link)
{
	int target = bpf_obj_get(pin);
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	struct bpf_program *p = obj ? bpf_object__next_program(obj, NULL) : NULL;
	struct bpf_link *l;

	if (target < 0 || !p) {
		fprintf(stderr, "bpf-attach: %s or %s: %s\n", pin, obj_path, strerror(errno));
		return 1;
	}
	if (bpf_program__set_attach_target(p, target, func) || bpf_object__load(obj)) {
		fprintf(stderr, "bpf-attach: loading %s: %s\n", obj_path, strerror(errno));
		return 1;
	}
	l = bpf_program__attach_freplace(p, target, func);
	if (!l || bpf_link__pin(l, link)) {
		fprintf(stderr, "bpf-attach: attaching or pinning: %s\n", strerror(errno));
		return 1;
	}
	printf("bpf-attach: %s replaces %s in %s\n", bpf_program__name(p), func, pin);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *m;
	char path[512];

	if (argc == 6 && !strcmp(argv[1], "--freplace"))
		return freplace(argv[2], argv[3], argv[4], argv[5]);
	if (argc != 3) {
		fputs("usage: bpf-attach OBJ DIR | bpf-attach --freplace OBJ PIN FUNC LINK\n", stderr);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bpf-attach: loading %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	mkdir(argv[2], 0700);
	bpf_object__for_each_program(p, obj) {
		struct bpf_link *l;

		if (!strchr(bpf_program__section_name(p), '/'))
			continue;	/* a tail call's target, say: no attach point */
		l = bpf_program__attach(p);
		snprintf(path, sizeof(path), "%s/link_%s", argv[2], bpf_program__name(p));
		if (!l || bpf_link__pin(l, path)) {
			fprintf(stderr, "bpf-attach: attaching %s: %s\n", bpf_program__name(p),
				strerror(errno));
			return 1;
		}
		printf("bpf-attach: %s attached (%s)\n", bpf_program__name(p),
		       bpf_program__section_name(p));
	}
	bpf_object__for_each_map(m, obj) {
		if (strchr(bpf_map__name(m), '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[2], bpf_map__name(m));
		bpf_map__pin(m, path);
	}
	return 0;
}
