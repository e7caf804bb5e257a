// SPDX-License-Identifier: GPL-2.0-only
/*
 * dbk-policy: load, attach and pin devbroker eBPF policies.
 *
 *   dbk-policy load NAME FILE.bpf.o [--map 'MAP[KEY]=VALUE']...
 *   dbk-policy unload NAME
 *   dbk-policy list
 *   dbk-policy set NAME 'MAP[KEY]=VALUE'...
 *   dbk-policy show NAME MAP
 *
 * A loaded policy lives in bpffs as <devbroker/bpffs.h> lays it out: its
 * links (one per program: the attachment) and its maps, so it outlives
 * the loader.  Loading is all or nothing: the object is loaded
 * (verified), its maps filled, every program attached (grant hooks last)
 * but the DMA guard, which is pinned unattached (the module runs it for
 * the grants that name it), everything pinned in the staging directory as NAME-PID, which is then
 * renamed into place.  On any failure nothing stays attached or pinned.  Unloading
 * removes the pins (grant hooks first), which detaches the programs.
 *
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include <devbroker/bpffs.h>

#include "config.h"

#define PROG "dbk-policy"
#define MAX_LINKS 64
#define LOG_TAIL_LINES 30

static const char *bpffs = DBK_BPFFS;
static char root[PATH_MAX];		/* the loaded policies */
static char staging[PATH_MAX];		/* NAME-PID while (un)loading */
static bool verbose;

/* libbpf's messages, kept for the tail shown on failure. */
static char *logbuf;
static size_t loglen, logcap;

static void __attribute__((format(printf, 1, 2))) err(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (verbose)
		fputs(line, stderr);
	if (level == LIBBPF_DEBUG)
		return n;
	if (loglen + n + 1 > logcap) {
		size_t cap = (logcap ? logcap * 2 : 65536) + n;
		char *p = realloc(logbuf, cap);

		if (!p)
			return n;
		logbuf = p;
		logcap = cap;
	}
	memcpy(logbuf + loglen, line, n);
	loglen += n;
	logbuf[loglen] = 0;
	return n;
}

/* The last @lines lines of libbpf's log (the verifier's verdict is at its end). */
static void log_tail(int lines)
{
	const char *p;
	int n = 0;

	if (!loglen || verbose)
		return;
	p = logbuf + loglen;
	while (p > logbuf && (p[-1] == '\n'))
		p--;
	while (p > logbuf) {
		if (p[-1] == '\n' && ++n == lines)
			break;
		p--;
	}
	fprintf(stderr, "---- libbpf/verifier log (last %d lines) ----\n", lines);
	fputs(p, stderr);
	if (logbuf[loglen - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----\n");
}

/* A path into a PATH_MAX buffer; a truncated one is an empty string. */
static int __attribute__((format(printf, 2, 3))) pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		buf[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* bpffs must be mounted to pin; mount it where systemd would. */
static int ensure_bpffs(void)
{
	if (is_bpffs(bpffs))
		return 0;
	if (mount("bpf", bpffs, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700")) {
		err("%s is not a BPF filesystem and mounting one failed: %s", bpffs, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Make @path (0700), or take the existing one only if it is ours and
 * private.  It is checked by path and then used by path (libbpf's pins,
 * rename() and unlink() take paths; no fd could stand in for the rename
 * into place), which is sound only if nobody else can put another
 * directory in its place afterwards: everything under it is ours alone
 * (0700), and its parent, the bpffs directory, must be ours and, if others
 * may write it, sticky (a bpffs root always is: the kernel sets S_ISVTX),
 * so that only we can rename or remove our entries in it.
 */
static int mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	int r;

	errno = 0;
	if (stat(bpffs, &st) || st.st_uid != geteuid() ||
	    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
		err("%s: %s", bpffs, errno ? strerror(errno) : "others could rename what it holds "
		    "(not ours, or writable by others and not sticky)");
		errno = 0;
		return -1;
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -1;
	r = dbk_bpffs_dir_private(path);
	if (r) {
		err("%s is not a private directory of uid %d (%s): remove it, and mount bpffs "
		    "mode=0700 as systemd does", path, (int)geteuid(), strerror(-r));
		errno = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ values */

/* "DDDD:BB:DD.F" or "BB:DD.F": the key dbk_dev_key() computes. */
static bool parse_pci(const char *s, unsigned long long *out)
{
	unsigned int dom = 0, bus, dev, fn;
	int n = 0;

	if (sscanf(s, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &n) == 4 && !s[n]) {
		/* four fields */
	} else if (n = 0, dom = 0, sscanf(s, "%x:%x.%x%n", &bus, &dev, &fn, &n) == 3 && !s[n]) {
		/* three */
	} else {
		return false;
	}
	if (bus > 0xff || dev > 0x1f || fn > 7)
		return false;
	*out = ((unsigned long long)dom << 16) | (bus << 8) | (dev << 3) | fn;
	return true;
}

static int parse_int(const char *s, size_t size, bool is_signed, void *out)
{
	unsigned long long v;
	char *end;

	if (!parse_pci(s, &v)) {
		errno = 0;
		if (is_signed || s[0] == '-')
			v = (unsigned long long)strtoll(s, &end, 0);
		else
			v = strtoull(s, &end, 0);
		if (errno || end == s || *end) {
			err("'%s' is not a number", s);
			return -1;
		}
	}
	if (size < 8 && !is_signed && (v >> (size * 8))) {
		err("%s does not fit in %zu bytes", s, size);
		return -1;
	}
	/* Little-endian targets only (x86), like the kernel module. */
	memcpy(out, &v, size);
	return 0;
}

/*
 * Parse @text into @out (@size bytes) as BTF type @id of @btf: a number
 * (or PCI address) for integers, enums and untyped keys/values of 1, 2,
 * 4 or 8 bytes; "field=value,..." for structs, whose fields left out keep
 * what @out holds.
 */
static int parse_value(const struct btf *btf, __u32 id, const char *text, void *out, size_t size)
{
	const struct btf_type *t = NULL;
	char *copy, *item, *save = NULL;
	int ret = 0;

	if (btf && id) {
		int rid = btf__resolve_type(btf, id);

		if (rid < 0) {
			err("cannot resolve BTF type %u", id);
			return -1;
		}
		t = btf__type_by_id(btf, rid);
	}
	if (!t || btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t)) {
		bool sgn = t && btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED);

		if (size != 1 && size != 2 && size != 4 && size != 8) {
			err("a %zu-byte value without BTF: give a typed map", size);
			return -1;
		}
		return parse_int(text, size, sgn, out);
	}
	if (!btf_is_struct(t)) {
		err("only integers and structs of integers can be set");
		return -1;
	}
	copy = strdup(text);
	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save)) {
		const struct btf_member *m = btf_members(t);
		char *eq = strchr(item, '=');
		int i, found = 0;

		if (!eq) {
			err("'%s': expected FIELD=VALUE", item);
			ret = -1;
			break;
		}
		*eq = 0;
		for (i = 0; i < btf_vlen(t); i++, m++) {
			__u32 off = btf_member_bit_offset(t, i);
			__s64 msz;

			if (strcmp(btf__name_by_offset(btf, m->name_off), item))
				continue;
			found = 1;
			msz = btf__resolve_size(btf, m->type);
			if (btf_member_bitfield_size(t, i) || off % 8 || msz <= 0 ||
			    off / 8 + (size_t)msz > size) {
				err("field '%s' cannot be set (bit field or odd layout)", item);
				ret = -1;
				break;
			}
			ret = parse_value(btf, m->type, eq + 1, (char *)out + off / 8, msz);
			break;
		}
		if (!found) {
			err("no field '%s'; fields are:", item);
			m = btf_members(t);
			for (i = 0; i < btf_vlen(t); i++, m++)
				fprintf(stderr, "  %s\n", btf__name_by_offset(btf, m->name_off));
			ret = -1;
		}
	}
	free(copy);
	return ret;
}

/* "MAP[KEY]=VALUE" -> its three parts (in a buffer the caller frees). */
static int split_assign(const char *arg, char **buf, char **map, char **key, char **val)
{
	char *s = strdup(arg), *lb, *rb;

	if (!s)
		return -1;
	lb = strchr(s, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (!lb || !rb || rb[1] != '=' || lb == s) {
		err("'%s': expected MAP[KEY]=VALUE", arg);
		free(s);
		return -1;
	}
	*lb = 0;
	*rb = 0;
	*buf = s;
	*map = s;
	*key = lb + 1;
	*val = rb + 2;
	return 0;
}

/* One MAP[KEY]=VALUE into map fd @fd; an existing entry is the base of a partial struct. */
static int assign(int fd, const struct btf *btf, __u32 key_id, __u32 val_id, size_t ksz,
		  size_t vsz, const char *keytext, const char *valtext, const char *what)
{
	void *k = calloc(1, ksz), *v = calloc(1, vsz);
	int ret = -1;

	if (!k || !v)
		goto out;
	if (parse_value(btf, key_id, keytext, k, ksz))
		goto out;
	if (bpf_map_lookup_elem(fd, k, v))
		memset(v, 0, vsz);
	if (parse_value(btf, val_id, valtext, v, vsz))
		goto out;
	if (bpf_map_update_elem(fd, k, v, BPF_ANY)) {
		err("%s: update failed: %s", what, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(k);
	free(v);
	return ret;
}

/* ------------------------------------------------------------ load */

struct attached {
	struct bpf_link *link;
	const char *prog;
	const char *hook;
	bool grant;
};

/* DBK_GUARD(): the one program of a policy that is run, never attached. */
static bool is_guard(const char *sec)
{
	return !strcmp(sec, "raw_tp.w") || !strcmp(sec, "raw_tracepoint.w");
}

static bool is_grant_hook(const char *sec)
{
	const char *slash = strchr(sec, '/');

	return slash && !strcmp(slash + 1, "dbk_policy_grant");
}

/* Remove a pinned tree we created: the pins in DIR/links and DIR/maps, DIR/guard, and DIR. */
static void remove_tree(const char *dir)
{
	static const char *const subs[] = { DBK_POLICY_LINKS, DBK_POLICY_MAPS };
	char path[PATH_MAX];
	unsigned int i;

	if (!pathf(path, "%s/" DBK_POLICY_GUARD, dir))
		unlink(path);
	for (i = 0; i < 2; i++) {
		struct dirent *de;
		DIR *d;

		pathf(path, "%s/%s", dir, subs[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char p[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			pathf(p, "%s/%s", path, de->d_name);
			unlink(p);
		}
		closedir(d);
		rmdir(path);
	}
	rmdir(dir);
}

/* Staging directories a killed loader left behind (NAME-PID, NAME-unload-PID). */
static void remove_stale(void)
{
	struct dirent *de;
	DIR *d = opendir(staging);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *dash, path[PATH_MAX];
		long pid;

		if (de->d_name[0] == '.')
			continue;
		dash = strrchr(de->d_name, '-');
		pid = dash ? strtol(dash + 1, NULL, 10) : 0;
		if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		if (!pathf(path, "%s/%s", staging, de->d_name))
			remove_tree(path);
	}
	closedir(d);
}

static const char *resolve_file(const char *file, char *buf, size_t n)
{
	if (strchr(file, '/') || access(file, F_OK) == 0)
		return file;
	snprintf(buf, n, "%s/policies/%s", DBK_DATADIR, file);
	if (access(buf, F_OK) == 0)
		return buf;
	snprintf(buf, n, "%s/policies/%s.bpf.o", DBK_DATADIR, file);
	if (access(buf, F_OK) == 0)
		return buf;
	return file;
}

static int cmd_load(const char *name, const char *file, char **maps, int nmaps)
{
	struct attached att[MAX_LINKS];
	char final[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], fbuf[PATH_MAX];
	struct bpf_program *prog, *guard = NULL;
	struct bpf_object *obj;
	struct bpf_map *map;
	int i, n = 0, pass, ret = 1, nmap = 0;
	bool pinned = false;

	if (!valid_name(name)) {
		err("'%s' is not a policy name (letters, digits, '_' and '-')", name);
		return 2;
	}
	file = resolve_file(file, fbuf, sizeof(fbuf));
	pathf(final, "%s/%s", root, name);
	if (ensure_bpffs() || mkdir_p(root, 0700) || mkdir_p(staging, 0700)) {
		if (errno)
			err("%s: %s", root, strerror(errno));
		return 1;
	}
	remove_stale();
	if (access(final, F_OK) == 0) {
		err("a policy named '%s' is loaded already (dbk-policy unload %s)", name, name);
		return 1;
	}

	obj = bpf_object__open_file(file, NULL);
	if (!obj) {
		err("%s: cannot open: %s", file, strerror(errno));
		log_tail(LOG_TAIL_LINES);
		return 1;
	}
	if (!bpf_object__next_program(obj, NULL)) {
		err("%s: no programs", file);
		goto out;
	}
	/*
	 * The kernel bounds what a program reads and writes of its hook's
	 * buffer when it attaches, and never a tail call's target: no program
	 * arrays (nor maps of maps that could hold one), and no map shared by
	 * a pin with another object.
	 */
	bpf_object__for_each_map(map, obj) {
		enum bpf_map_type t = bpf_map__type(map);

		if (t == BPF_MAP_TYPE_PROG_ARRAY || t == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		    t == BPF_MAP_TYPE_HASH_OF_MAPS) {
			err("%s: map '%s' is a %s: devbroker policies may not tail-call (the kernel does "
			    "not bound a tail call's target by the hook's ctx)", file, bpf_map__name(map),
			    t == BPF_MAP_TYPE_PROG_ARRAY ? "program array" : "map of maps");
			goto out;
		}
		if (bpf_map__pin_path(map)) {
			err("%s: map '%s' asks to be pinned (%s): a policy's maps are its own",
			    file, bpf_map__name(map), bpf_map__pin_path(map));
			goto out;
		}
	}
	if (bpf_object__load(obj)) {
		int e = errno;

		err("%s: the kernel refused the policy (%s); nothing was attached", file,
		    e == EACCES || e == EINVAL ? "the verifier rejected a program" : strerror(e));
		log_tail(LOG_TAIL_LINES);
		goto out;
	}

	/* Fill maps before any program is attached. */
	for (i = 0; i < nmaps; i++) {
		char *buf, *mname, *key, *val;
		int r;

		if (split_assign(maps[i], &buf, &mname, &key, &val))
			goto out;
		map = bpf_object__find_map_by_name(obj, mname);
		if (!map) {
			err("%s: no map '%s'", file, mname);
			free(buf);
			goto out;
		}
		r = assign(bpf_map__fd(map), bpf_object__btf(obj), bpf_map__btf_key_type_id(map),
			   bpf_map__btf_value_type_id(map), bpf_map__key_size(map),
			   bpf_map__value_size(map), key, val, maps[i]);
		free(buf);
		if (r)
			goto out;
	}

	/* Attach: every other hook first, the grant hook last; never the guard. */
	bpf_object__for_each_program(prog, obj) {
		if (!is_guard(bpf_program__section_name(prog)))
			continue;
		if (guard) {
			err("%s: more than one DMA guard ('%s' and '%s'): a policy has at most one",
			    file, bpf_program__name(guard), bpf_program__name(prog));
			goto out;
		}
		guard = prog;
	}
	for (pass = 0; pass < 2; pass++) {
		bpf_object__for_each_program(prog, obj) {
			const char *sec = bpf_program__section_name(prog);

			if (is_guard(sec) || is_grant_hook(sec) != (pass == 1))
				continue;
			if (n == MAX_LINKS) {
				err("%s: more than %d programs", file, MAX_LINKS);
				goto detach;
			}
			att[n].link = bpf_program__attach(prog);
			if (!att[n].link) {
				err("%s: program '%s' (%s) cannot be attached: %s%s", file,
				    bpf_program__name(prog), sec, strerror(errno),
				    errno == ENOENT ? " (is devbroker.ko loaded?)" : "");
				log_tail(10);
				goto detach;
			}
			att[n].prog = bpf_program__name(prog);
			att[n].hook = strchr(sec, '/') ? strchr(sec, '/') + 1 : sec;
			att[n].grant = pass == 1;
			n++;
		}
	}

	/* Pin into a staging directory, then rename it into place. */
	pathf(tmp, "%s/%s-%d", staging, name, (int)getpid());
	pinned = true;
	pathf(path, "%s/" DBK_POLICY_LINKS, tmp);
	if (mkdir(tmp, 0700) || mkdir(path, 0700)) {
		err("%s: %s", path, strerror(errno));
		goto unpin;
	}
	for (i = 0; i < n; i++) {
		pathf(path, "%s/" DBK_POLICY_LINKS "/%s", tmp, att[i].prog);
		if (bpf_link__pin(att[i].link, path)) {
			err("pin %s: %s", path, strerror(errno));
			goto unpin;
		}
	}
	pathf(path, "%s/" DBK_POLICY_GUARD, tmp);
	if (guard && bpf_program__pin(guard, path)) {
		err("pin %s: %s", path, strerror(errno));
		goto unpin;
	}
	pathf(path, "%s/" DBK_POLICY_MAPS, tmp);
	if (mkdir(path, 0700)) {
		err("%s: %s", path, strerror(errno));
		goto unpin;
	}
	bpf_object__for_each_map(map, obj) {
		char mname[BPF_OBJ_NAME_LEN * 2], *c;

		/* bpffs reserves names with dots (internal maps: "obj.bss"). */
		snprintf(mname, sizeof(mname), "%s", bpf_map__name(map));
		for (c = mname; *c; c++)
			if (*c == '.')
				*c = '_';
		pathf(path, "%s/" DBK_POLICY_MAPS "/%s", tmp, mname);
		if (bpf_map__pin(map, path)) {
			err("pin %s: %s", path, strerror(errno));
			goto unpin;
		}
		nmap++;
	}
	if (rename(tmp, final)) {
		err("%s: %s", final, errno == ENOTEMPTY || errno == EEXIST ?
		    "loaded meanwhile by someone else" : strerror(errno));
		goto unpin;
	}
	printf("loaded %s from %s: %d program%s, %d map%s\n", name, file, n + !!guard,
	       n + !!guard == 1 ? "" : "s", nmap, nmap == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		printf("  %s on %s\n", att[i].prog, att[i].hook);
	if (guard)
		printf("  %s: DMA guard (for grants whose manifest says DMAGuard=%s)\n",
		       bpf_program__name(guard), name);
	ret = 0;
	goto detach;	/* the pins hold the links: drop our references */

unpin:
	if (pinned)
		remove_tree(tmp);
detach:
	/* Grant hooks go first. */
	for (pass = 1; pass >= 0; pass--)
		for (i = 0; i < n; i++)
			if (att[i].grant == (pass == 1))
				bpf_link__destroy(att[i].link);
out:
	bpf_object__close(obj);
	return ret;
}

/* ------------------------------------------------------------ inspect */

/* An LSM program's hook ("lsm/file_ioctl"), from its target in the kernel's BTF (bpf_lsm_file_ioctl). */
static void lsm_hook_name(__u32 btf_id, char *buf, size_t n)
{
	static struct btf *vmlinux;
	const struct btf_type *t;
	const char *name;

	if (!vmlinux)
		vmlinux = btf__load_vmlinux_btf();
	t = vmlinux ? btf__type_by_id(vmlinux, btf_id) : NULL;
	name = t ? btf__name_by_offset(vmlinux, t->name_off) : NULL;
	if (!name)
		snprintf(buf, n, "lsm (btf id %u)", btf_id);
	else if (!strncmp(name, "bpf_lsm_", 8))
		snprintf(buf, n, "lsm/%s", name + 8);
	else
		snprintf(buf, n, "%s", name);
}

/* The hook a pinned link is attached to, into @buf. */
static int link_hook(int fd, char *buf, size_t n, __u32 *prog_id)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	buf[0] = 0;
	info.raw_tracepoint.tp_name = (__u64)(unsigned long)buf;
	info.raw_tracepoint.tp_name_len = n;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	if (info.type == BPF_LINK_TYPE_TRACING && info.tracing.attach_type == BPF_LSM_MAC)
		lsm_hook_name(info.tracing.target_btf_id, buf, n);
	else if (info.type != BPF_LINK_TYPE_RAW_TRACEPOINT)
		snprintf(buf, n, "(link type %u)", info.type);
	if (prog_id)
		*prog_id = info.prog_id;
	return 0;
}

static int cmd_unload(const char *name)
{
	char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], hook[128];
	struct dirent *de;
	int pass;
	DIR *d;

	if (!valid_name(name)) {
		err("'%s' is not a policy name", name);
		return 2;
	}
	pathf(dir, "%s/%s", root, name);
	if (is_bpffs(bpffs) && access(dir, F_OK) == 0 && mkdir_p(root, 0700))
		return 1;
	if (!is_bpffs(bpffs) || access(dir, F_OK)) {
		err("no policy named '%s' is loaded", name);
		return 1;
	}
	/* Out of sight first, so that a reload can start at once. */
	pathf(tmp, "%s/%s-unload-%d", staging, name, (int)getpid());
	if (mkdir_p(staging, 0700) || rename(dir, tmp)) {
		err("%s: %s", dir, strerror(errno));
		return 1;
	}
	/* Grant hooks first, then the rest. */
	for (pass = 0; pass < 2; pass++) {
		pathf(path, "%s/" DBK_POLICY_LINKS, tmp);
		d = opendir(path);
		if (!d)
			break;
		while ((de = readdir(d))) {
			char p[PATH_MAX];
			int fd;

			if (de->d_name[0] == '.')
				continue;
			pathf(p, "%s/" DBK_POLICY_LINKS "/%s", tmp, de->d_name);
			fd = bpf_obj_get(p);
			if (fd >= 0 && !link_hook(fd, hook, sizeof(hook), NULL) &&
			    !strcmp(hook, "dbk_policy_grant") != (pass == 0)) {
				close(fd);
				continue;
			}
			if (fd >= 0)
				close(fd);
			if (unlink(p))
				err("%s: %s", p, strerror(errno));
		}
		closedir(d);
	}
	remove_tree(tmp);
	if (access(tmp, F_OK) == 0) {
		err("%s: could not remove everything", tmp);
		return 1;
	}
	printf("unloaded %s\n", name);
	return 0;
}

/*
 * Pin @pin of the loaded policy @name (in its directory @sub, or its
 * own), read through directory fds each checked private
 * (dbk_bpffs_policy_dir_open()), as devbrokerd reads them: under a bpffs
 * mounted 1777 a path checked and then used could meanwhile lead to
 * another user's pins (a map of theirs for `set` to write).  An fd,
 * -ENOENT, -EPERM or -errno.
 */
static int pin_open(const char *name, const char *sub, const char *pin)
{
	char path[PATH_MAX];
	int d = dbk_bpffs_policy_dir_open(root, name, sub), fd;

	if (d < 0)
		return d;
	pathf(path, "/proc/self/fd/%d/%s", d, pin);
	fd = bpf_obj_get(path);
	fd = fd < 0 ? -errno : fd;
	close(d);
	return fd;
}

/* The entries of a loaded policy's directory @sub, opened as pin_open() does; NULL if none. */
static DIR *pin_dir(const char *name, const char *sub)
{
	int d = dbk_bpffs_policy_dir_open(root, name, sub);
	DIR *dir;

	if (d < 0)
		return NULL;
	dir = fdopendir(d);
	if (!dir)
		close(d);
	return dir;
}

/* A pinned guard program: its name and id. */
static void list_guard(const char *name)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = pin_open(name, NULL, DBK_POLICY_GUARD);

	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		printf("  program %s: DMA guard (id %u)\n", info.name, info.id);
	close(fd);
}

static int cmd_list(void)
{
	struct dirent **names;
	int i, n, r;

	if (!is_bpffs(bpffs))
		return 0;
	/* Only what dbk-policy made: a private root (and each directory below, see pin_open()). */
	r = dbk_bpffs_dir_open(AT_FDCWD, root);
	if (r < 0) {
		if (r == -ENOENT)
			return 0;
		err("%s: %s", root, r == -EPERM ? "not private (0700, ours): refusing to list it" :
		    strerror(-r));
		return 1;
	}
	close(r);
	n = scandir(root, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : (err("%s: %s", root, strerror(errno)), 1);
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct dirent *de;
		DIR *d;

		if (name[0] == '.') {
			free(names[i]);
			continue;
		}
		printf("%s\n", name);
		d = pin_dir(name, DBK_POLICY_LINKS);
		while (d && (de = readdir(d))) {
			char hook[128] = "?";
			__u32 prog_id = 0;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			fd = pin_open(name, DBK_POLICY_LINKS, de->d_name);
			if (fd >= 0) {
				link_hook(fd, hook, sizeof(hook), &prog_id);
				close(fd);
			}
			printf("  program %s on %s (id %u)\n", de->d_name, hook, prog_id);
		}
		if (d)
			closedir(d);
		list_guard(name);
		d = pin_dir(name, DBK_POLICY_MAPS);
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				printf("  map %s\n", de->d_name);
		if (d)
			closedir(d);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* A pinned map: fd, info and its BTF (NULL if it has none). */
static int open_pinned_map(const char *name, const char *map, struct bpf_map_info *info,
			   struct btf **btf)
{
	char path[PATH_MAX];
	__u32 len = sizeof(*info);
	int fd;

	if (!valid_name(name)) {
		err("'%s' is not a policy name", name);
		return -1;
	}
	/* A pin's name, not a path: "../x" would climb out of the checked directory. */
	if (!*map || strchr(map, '/') || !strcmp(map, ".") || !strcmp(map, "..")) {
		err("'%s' is not a map name", map);
		return -1;
	}
	/* Through the directories' fds, checked private: see pin_open(). */
	fd = pin_open(name, DBK_POLICY_MAPS, map);
	pathf(path, "%s/%s/" DBK_POLICY_MAPS "/%s", root, name, map);
	if (fd < 0) {
		err("%s: %s", path, fd == -ENOENT ? "no such policy or map" :
		    fd == -EPERM ? "a directory on the way is not private (0700, ours): refusing it" :
		    strerror(-fd));
		return -1;
	}
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		err("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*btf = info->btf_id ? btf__load_from_kernel_by_id(info->btf_id) : NULL;
	return fd;
}

static int cmd_set(const char *name, char **assigns, int n)
{
	int i, ret = 0;

	for (i = 0; i < n && !ret; i++) {
		char *buf, *map, *key, *val;
		struct bpf_map_info info;
		struct btf *btf;
		int fd;

		if (split_assign(assigns[i], &buf, &map, &key, &val))
			return 2;
		fd = open_pinned_map(name, map, &info, &btf);
		if (fd < 0) {
			free(buf);
			return 1;
		}
		ret = assign(fd, btf, info.btf_key_type_id, info.btf_value_type_id, info.key_size,
			     info.value_size, key, val, assigns[i]) ? 1 : 0;
		btf__free(btf);
		close(fd);
		free(buf);
	}
	return ret;
}

static void dump_printf(void *ctx, const char *fmt, va_list ap)
{
	vprintf(fmt, ap);
}

static void dump_data(struct btf_dump *d, __u32 id, const void *data, size_t size)
{
	DECLARE_LIBBPF_OPTS(btf_dump_type_data_opts, o, .compact = true, .emit_zeroes = true);
	size_t i;

	if (d && id && btf_dump__dump_type_data(d, id, data, size, &o) >= 0)
		return;
	printf("0x");
	for (i = size; i > 0; i--)
		printf("%02x", ((const unsigned char *)data)[i - 1]);
}

static int cmd_show(const char *name, const char *map)
{
	struct bpf_map_info info;
	struct btf_dump *d = NULL;
	struct btf *btf;
	void *k, *nk, *v;
	int fd, err_ = 0;

	fd = open_pinned_map(name, map, &info, &btf);
	if (fd < 0)
		return 1;
	if (info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
		err("%s: per-CPU maps are not shown", map);
		close(fd);
		return 1;
	}
	if (btf)
		d = btf_dump__new(btf, dump_printf, NULL, NULL);
	k = calloc(1, info.key_size ? info.key_size : 1);
	nk = calloc(1, info.key_size ? info.key_size : 1);
	v = calloc(1, info.value_size ? info.value_size : 1);
	if (!k || !nk || !v) {
		err_ = 1;
		goto out;
	}
	if (bpf_map_get_next_key(fd, NULL, nk))
		goto out;
	do {
		memcpy(k, nk, info.key_size);
		if (bpf_map_lookup_elem(fd, k, v))
			continue;
		dump_data(d, info.btf_key_type_id, k, info.key_size);
		printf(" = ");
		dump_data(d, info.btf_value_type_id, v, info.value_size);
		printf("\n");
	} while (!bpf_map_get_next_key(fd, k, nk));
out:
	free(k);
	free(nk);
	free(v);
	btf_dump__free(d);
	btf__free(btf);
	close(fd);
	return err_;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--bpffs DIR] [-v] COMMAND ...\n"
		"\n"
		"  load NAME FILE.bpf.o [--map 'MAP[KEY]=VALUE']...\n"
		"        verify, attach and pin every program of FILE (grant hooks last) and\n"
		"        its maps under DIR/" DBK_BPFFS_POLICIES "/NAME; all or nothing.  FILE without a\n"
		"        '/' is also looked up in " DBK_DATADIR "/policies.\n"
		"  unload NAME        remove NAME's pins (grant hooks first): detaches it\n"
		"  list               the loaded policies, their programs, hooks and maps\n"
		"  set NAME 'MAP[KEY]=VALUE'...   update entries of a loaded policy's map\n"
		"  show NAME MAP      print a loaded policy's map\n"
		"\n"
		"KEY and VALUE: a number (C syntax), a PCI address DDDD:BB:DD.F (the\n"
		"policy SDK's dbk_dev_key()), or for structs FIELD=VALUE,... (fields\n"
		"left out are 0, or keep their value with set).\n"
		"\n"
		"Options: --bpffs DIR (default " DBK_BPFFS "), -v (libbpf's debug output).\n"
		"Exit status: 0 success, 1 failure, 2 usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "map", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	char **maps = calloc(argc, sizeof(char *)), **pos = calloc(argc, sizeof(char *));
	int c, nmaps = 0, npos = 0, ret;
	const char *cmd;

	if (!maps || !pos)
		return 1;
	/* Options may follow the command (load NAME FILE --map ...). */
	while ((c = getopt_long(argc, argv, "-vh", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			pos[npos++] = optarg;
			break;
		case 'b':
			bpffs = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'm':
			maps[nmaps++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	while (optind < argc)
		pos[npos++] = argv[optind++];
	if (npos < 1) {
		usage(stderr);
		return 2;
	}
	snprintf(root, sizeof(root), "%s/" DBK_BPFFS_POLICIES, bpffs);
	snprintf(staging, sizeof(staging), "%s/" DBK_BPFFS_STAGING, bpffs);
	libbpf_set_print(libbpf_print);
	cmd = pos[0];
	if (nmaps && strcmp(cmd, "load")) {
		err("--map is for load (use set on a loaded policy)");
		return 2;
	}
	if (!strcmp(cmd, "load") && npos == 3)
		ret = cmd_load(pos[1], pos[2], maps, nmaps);
	else if (!strcmp(cmd, "unload") && npos == 2)
		ret = cmd_unload(pos[1]);
	else if (!strcmp(cmd, "list") && npos == 1)
		ret = cmd_list();
	else if (!strcmp(cmd, "set") && npos >= 3)
		ret = cmd_set(pos[1], pos + 2, npos - 2);
	else if (!strcmp(cmd, "show") && npos == 3)
		ret = cmd_show(pos[1], pos[2]);
	else {
		usage(stderr);
		ret = 2;
	}
	free(maps);
	free(pos);
	free(logbuf);
	return ret;
}
