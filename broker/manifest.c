// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Driver manifests (devbroker-manifest(5)): the schema (sections, keys and
 * what each accepts), the checks across keys, and the system/administrator
 * directory merge.  The INI front end is ini.c, the value parsers values.c,
 * templates template.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "broker.h"
#include "control-protocol.h"	/* StopTimeoutSec='s bound: what `unbind` waits for at most */
#include "core-internal.h"

/* -------- manifest keys -------- */

#define M(ini) ((struct dbk_manifest *)(ini)->obj)

static const char *const manifest_sections[] = { "Driver", "Match", "Rights", "Frontend", NULL };

static int p_name(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_name(ini, v, M(ini)->name, sizeof(M(ini)->name));
}

static int p_exec(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);
	char copy[256], *tok[DBK_MAX_ARGS + 1];
	char *save = NULL, *t;
	unsigned int n = 0, i;

	if (strpbrk(v, "\"'\\"))
		return dbk_ini_fail(ini, "Exec= does not support quotes or backslashes: it is split on white space, without a shell");
	if (dbk_ini_template(ini, v) < 0)
		return -1;
	if (strlen(v) >= sizeof(copy))
		return dbk_ini_fail(ini, "Exec= is too long");
	strcpy(copy, v);
	for (t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == DBK_MAX_ARGS)
			return dbk_ini_fail(ini, "Exec= has more than %d words (program and arguments); pass fewer arguments",
					    DBK_MAX_ARGS);
		tok[n++] = t;
	}
	if (!n)
		return dbk_ini_fail(ini, "Exec= is empty; write Exec=/ABSOLUTE/PATH [ARGUMENTS...]");
	if (tok[0][0] != '/')
		return dbk_ini_fail(ini, "Exec=%s: the program needs an absolute path, e.g. Exec=/usr/libexec/devbroker/drivers/%s",
				    tok[0], tok[0]);
	for (i = 0; i < n; i++) {
		m->argv[i] = strdup(tok[i]);
		if (!m->argv[i]) {
			dbk_manifest_free(m);
			return dbk_ini_fail(ini, "out of memory");
		}
		m->argc = i + 1;
	}
	m->argv[n] = NULL;
	return 0;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* A user or group name (useradd's rules, loosely) or a number. */
static bool valid_account(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= DBK_NAME_MAX || s[0] == '-')
		return false;
	if (s[len - 1] == '$')
		len--;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static int lookup_uid(const char *s, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint64_t x;

	if (all_digits(s)) {
		if (dbk_parse_u64(s, &x) < 0 || x >= (uid_t)-1)
			return -ERANGE;
		*uid = (uid_t)x;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*uid = res->pw_uid;
	return 0;
}

static int lookup_gid(const char *s, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[8192];
	uint64_t x;

	if (all_digits(s)) {
		if (dbk_parse_u64(s, &x) < 0 || x >= (gid_t)-1)
			return -ERANGE;
		*gid = (gid_t)x;
		return 0;
	}
	if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*gid = res->gr_gid;
	return 0;
}

/* User=, Group=: stored as written, never root (the daemon resolves them). */
static int p_user(struct dbk_ini *ini, const char *v)
{
	bool user = !strcmp(ini->key->name, "User");
	char *out = user ? M(ini)->user : M(ini)->group;
	uid_t uid = 1;
	gid_t gid = 1;
	int r;

	if (!valid_account(v))
		return dbk_ini_fail(ini, "%s=%s is not a valid %s name or number; write e.g. %s",
				    ini->key->name, v, user ? "user" : "group", ini->key->example);
	r = user ? lookup_uid(v, &uid) : lookup_gid(v, &gid);
	if (r == -ERANGE)
		return dbk_ini_fail(ini, "%s=%s is out of range", ini->key->name, v);
	if (!strcmp(v, "root") || (r == 0 && (user ? uid == 0 : gid == 0)))
		return dbk_ini_fail(ini, "%s=%s: drivers never run as root; write an unprivileged %s, e.g. %s",
				    ini->key->name, v, user ? "user" : "group", ini->key->example);
	strcpy(out, v);
	return 0;
}

static int p_restart(struct dbk_ini *ini, const char *v)
{
	if (!strcmp(v, "no"))
		M(ini)->restart = DBK_RESTART_NO;
	else if (!strcmp(v, "on-failure"))
		M(ini)->restart = DBK_RESTART_ON_FAILURE;
	else if (!strcmp(v, "always"))
		M(ini)->restart = DBK_RESTART_ALWAYS;
	else
		return dbk_ini_fail(ini, "Restart=%s is not a restart policy; write Restart=no, on-failure or always", v);
	return 0;
}

static int p_burst(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 1, 16, &x) < 0)
		return -1;
	M(ini)->restart_burst = (unsigned int)x;
	return 0;
}

static int p_window(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 1, 86400, &x) < 0)
		return -1;
	M(ini)->restart_window = (unsigned int)x;
	return 0;
}

/* At most 60 s: devbrokerd's unit allows 90 s (systemd's default) to stop them all. */
static int p_stop_timeout(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 0, DBK_STOP_TIMEOUT_MAX_SEC, &x) < 0)
		return -1;
	M(ini)->stop_timeout = (unsigned int)x;
	return 0;
}

static int p_policy(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_name(ini, v, M(ini)->policy, sizeof(M(ini)->policy));
}

static int p_dma_guard(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_name(ini, v, M(ini)->rights.dma_guard, sizeof(M(ini)->rights.dma_guard));
}

static int add_match(struct dbk_ini *ini, const char *glob, enum dbk_bus bus)
{
	struct dbk_manifest *m = M(ini);

	if (m->nr_match && m->bus != bus)
		return dbk_ini_fail(ini, "%s= is a %s match but this manifest already matches %s devices; a manifest drives one bus: write two manifests",
				    ini->key->name, bus == DBK_BUS_USB ? "USB" : "PCI",
				    m->bus == DBK_BUS_USB ? "USB" : "PCI");
	if (m->nr_match == DBK_MAX_MATCH)
		return dbk_ini_fail(ini, "more than %d [Match] lines; merge patterns with * or [...]",
				    DBK_MAX_MATCH);
	if (strlen(glob) >= sizeof(m->match[0]))
		return dbk_ini_fail(ini, "%s= is too long", ini->key->name);
	strcpy(m->match[m->nr_match++], glob);
	m->bus = bus;
	return 0;
}

static int p_pci(struct dbk_ini *ini, const char *v)
{
	const char *p;
	int depth = 0;

	if (strncmp(v, "pci:", 4))
		return dbk_ini_fail(ini, "PCI=%s is not a PCI modalias pattern; write e.g. PCI=pci:v00001234d000011E8*", v);
	/* The field names bc, sc, sv, sd and i are lower case: only a, e, f can be digits. */
	for (p = v + 4; *p; p++) {
		if (*p == '[')
			depth = 1;
		else if (*p == ']')
			depth = 0;
		else if (!depth && (*p == 'a' || *p == 'e' || *p == 'f'))
			return dbk_ini_fail(ini, "PCI=%s: modalias hex digits are upper case (v00001234d000011E8), write A-F", v);
	}
	return add_match(ini, v, DBK_BUS_PCI);
}

/* A class/mask pair becomes a modalias glob on the bc, sc and i fields. */
static int p_class(struct dbk_ini *ini, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned long cls, mask = 0xffffff;
	char glob[DBK_PATH_MAX], *end;
	const char *p = v;
	int i;

	errno = 0;
	if (!isxdigit((unsigned char)*p))
		goto bad;
	cls = strtoul(p, &end, 16);
	if (*end == '/') {
		p = end + 1;
		if (!isxdigit((unsigned char)*p))
			goto bad;
		mask = strtoul(p, &end, 16);
	}
	if (*end || errno || cls > 0xffffff || mask > 0xffffff || !mask)
		goto bad;
	if (cls & ~mask)
		return dbk_ini_fail(ini, "Class=%s: the class has bits outside the mask; write Class=0x%06lx/0x%06lx",
				    v, cls & mask, mask);
	strcpy(glob, "pci:v*d*sv*sd*");
	for (i = 5; i >= 0; i--) {
		unsigned int nm = (mask >> (4 * i)) & 0xf, nv = (cls >> (4 * i)) & 0xf, d;
		size_t len;

		if (i == 5)
			strcat(glob, "bc");
		else if (i == 3)
			strcat(glob, "sc");
		else if (i == 1)
			strcat(glob, "i");
		len = strlen(glob);
		if (nm == 0xf) {
			glob[len++] = hex[nv];
		} else if (nm == 0) {
			glob[len++] = '?';
		} else {
			glob[len++] = '[';
			for (d = 0; d < 16; d++)
				if ((d & nm) == (nv & nm))
					glob[len++] = hex[d];
			glob[len++] = ']';
		}
		glob[len] = '\0';
	}
	return add_match(ini, glob, DBK_BUS_PCI);
bad:
	return dbk_ini_fail(ini, "Class=%s is not CLASS[/MASK] in hex; write e.g. Class=0x010800/0xffff00", v);
}

/* USB=: a USB interface modalias glob, as the kernel writes them. */
static int p_usb(struct dbk_ini *ini, const char *v)
{
	const char *p;

	if (strncmp(v, "usb:", 4))
		return dbk_ini_fail(ini, "USB=%s is not a USB interface modalias pattern; write e.g. USB=usb:v0627p0001*ic03isc01ip01*", v);
	/* Field names (v p d dc dsc dp ic isc ip in) hold no a-f but d and c: check digits after them. */
	for (p = v + 4; *p; p++)
		if (*p == 'a' || *p == 'b' || *p == 'e' || *p == 'f')
			return dbk_ini_fail(ini, "USB=%s: modalias hex digits are upper case (usb:v0627p0001...), write A-F", v);
	return add_match(ini, v, DBK_BUS_USB);
}

/* Two or four hex digits, or "*"; into @out as upper case (or "*"). */
static bool hex_field(const char *s, size_t len, size_t digits, char *out)
{
	size_t i;

	if (len == 1 && s[0] == '*') {
		strcpy(out, "*");
		return true;
	}
	if (len != digits)
		return false;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)toupper((unsigned char)s[i]);
	}
	out[len] = '\0';
	return true;
}

/* USBDevice=VVVV:PPPP (idVendor:idProduct, hex; PPPP may be *). */
static int p_usb_device(struct dbk_ini *ini, const char *v)
{
	const char *colon = strchr(v, ':');
	char vid[8], pid[8], glob[64];

	if (!colon || !hex_field(v, (size_t)(colon - v), 4, vid) || !strcmp(vid, "*") ||
	    !hex_field(colon + 1, strlen(colon + 1), 4, pid))
		return dbk_ini_fail(ini, "USBDevice=%s is not VENDOR:PRODUCT in hex; write e.g. USBDevice=0627:0001 (or 0627:* for every product)",
				    v);
	snprintf(glob, sizeof(glob), "usb:v%sp%s%s", vid, pid, strcmp(pid, "*") ? "d*" : "");
	return add_match(ini, glob, DBK_BUS_USB);
}

/* USBInterface=CC[/SS[/PP]] (bInterfaceClass, SubClass, Protocol; hex or *). */
static int p_usb_interface(struct dbk_ini *ini, const char *v)
{
	char f[3][4] = { "*", "*", "*" }, glob[96];
	const char *p = v, *slash;
	int i;

	for (i = 0; i < 3 && *p; i++) {
		slash = strchr(p, '/');
		if (!hex_field(p, slash ? (size_t)(slash - p) : strlen(p), 2, f[i]))
			goto bad;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p || i == 2)
			goto bad;
	}
	if (!strcmp(f[0], "*"))
		goto bad;
	snprintf(glob, sizeof(glob), "usb:v*p*d*dc*dsc*dp*ic%sisc%sip%sin*", f[0], f[1], f[2]);
	return add_match(ini, glob, DBK_BUS_USB);
bad:
	return dbk_ini_fail(ini, "USBInterface=%s is not CLASS[/SUBCLASS[/PROTOCOL]] in hex; write e.g. USBInterface=03/01/01 (a boot keyboard) or 08/06/50",
			    v);
}

static int p_bars(struct dbk_ini *ini, const char *v)
{
	struct dbk_rights *r = &M(ini)->rights;

	return dbk_ini_bars(ini, v, !strcmp(ini->key->name, "BARs") ? &r->bars : &r->map_bars);
}

static int p_mediated(struct dbk_ini *ini, const char *v)
{
	struct dbk_rights *r = &M(ini)->rights;
	char copy[256], *tok[DBK_MAX_MEDIATED + 1], *plus;
	uint64_t off, size;
	int i, n = dbk_ini_split(ini, v, copy, sizeof(copy), tok, DBK_MAX_MEDIATED + 1);

	if (n < 0)
		return -1;
	if (!n)
		goto bad;
	for (i = 0; i < n; i++) {
		struct dbk_range_spec *rs;

		if (tok[i][0] < '0' || tok[i][0] > '5' || tok[i][1] != ':')
			goto bad;
		plus = strchr(tok[i], '+');
		if (!plus)
			goto bad;
		*plus = '\0';
		if (dbk_parse_u64(tok[i] + 2, &off) < 0 || dbk_parse_size(plus + 1, &size) < 0) {
			*plus = '+';
			goto bad;
		}
		if (!size || off + size < off)
			return dbk_ini_fail(ini, "Mediated=: range %s+%s is empty or wraps; give a size above 0",
					    tok[i], plus + 1);
		if (r->nr_mediated == DBK_MAX_MEDIATED)
			return dbk_ini_fail(ini, "more than %d Mediated= ranges; merge adjacent ranges",
					    DBK_MAX_MEDIATED);
		rs = &r->mediated[r->nr_mediated++];
		rs->bar = (uint32_t)(tok[i][0] - '0');
		rs->offset = off;
		rs->size = size;
	}
	return 0;
bad:
	return dbk_ini_fail(ini, "Mediated=%s: write BAR:OFFSET+SIZE ranges, e.g. Mediated=0:0x80+0x20", v);
}

static int p_irqs(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_irqs(ini, v, &M(ini)->rights.irqs);
}

static int p_vectors(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 0, DBK_MAX_VECTORS, &x) < 0)
		return -1;
	M(ini)->rights.vectors = (uint32_t)x;
	return 0;
}

static int p_irq_rate(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 0, DBK_MAX_IRQ_RATE, &x) < 0)
		return -1;
	M(ini)->rights.irq_rate = (uint32_t)x;
	return 0;
}

static int p_dma(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_size(ini, v, DBK_MAX_DMA_QUOTA, &M(ini)->rights.dma);
}

static int p_dma_bits(struct dbk_ini *ini, const char *v)
{
	uint64_t x;

	if (dbk_ini_uint(ini, v, 24, 64, &x) < 0)
		return -1;
	M(ini)->rights.dma_bits = (uint32_t)x;
	return 0;
}

static int p_bool(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);
	const char *k = ini->key->name;

	return dbk_ini_bool(ini, v, !strcmp(k, "UnsafeDMA") ? &m->rights.unsafe_dma :
				    !strcmp(k, "ConfigWrite") ? &m->rights.config_write :
				    !strcmp(k, "AutoBind") ? &m->auto_bind :
				    !strcmp(k, "DynamicUser") ? &m->dynamic_user :
				    !strcmp(k, "NetworkOffloads") ? &m->frontend.network_offloads :
				    &m->frontend.uinput);
}

static int p_usb_types(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_usb_types(ini, v, &M(ini)->rights.usb_types);
}

static int p_usb_deny(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_usb_deny(ini, v, &M(ini)->rights, DBK_USB_DENY_PER_FILE);
}

static int p_cuse(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);
	size_t len = strlen(v);

	if (!len || len >= sizeof(m->frontend.cuse) || v[0] == '.' || v[0] == '-' ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:%-") != len)
		return dbk_ini_fail(ini, "CUSE=%s is not a device name; write a /dev name without '/', e.g. CUSE=edu%%i",
				    v);
	if (dbk_ini_template(ini, v) < 0)
		return -1;
	strcpy(m->frontend.cuse, v);
	return 0;
}

static int p_cuse_mode(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_mode(ini, v, &M(ini)->frontend.cuse_mode);
}

static int p_cuse_owner(struct dbk_ini *ini, const char *v)
{
	struct dbk_frontend *f = &M(ini)->frontend;
	bool owner = !strcmp(ini->key->name, "CUSEOwner");
	int r;

	if (!valid_account(v))
		return dbk_ini_fail(ini, "%s=%s is not a valid name or number; write e.g. %s",
				    ini->key->name, v, ini->key->example);
	r = owner ? lookup_uid(v, &f->cuse_uid) : lookup_gid(v, &f->cuse_gid);
	if (r == -ERANGE)
		return dbk_ini_fail(ini, "%s=%s is out of range", ini->key->name, v);
	if (r < 0)
		return dbk_ini_fail(ini, "%s=%s: no such %s on this system; write an existing name or a number",
				    ini->key->name, v, owner ? "user" : "group");
	return 0;
}

static int p_fuse_mount(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);

	if (v[0] != '/' || strstr(v, "/../") || (strlen(v) >= 3 && !strcmp(v + strlen(v) - 3, "/..")))
		return dbk_ini_fail(ini, "FUSEMount=%s: write an absolute path without .., e.g. FUSEMount=/run/devbroker/NAME/%%d",
				    v);
	if (strlen(v) >= sizeof(m->frontend.fuse_mount))
		return dbk_ini_fail(ini, "FUSEMount= is too long");
	if (dbk_ini_template(ini, v) < 0)
		return -1;
	strcpy(m->frontend.fuse_mount, v);
	return 0;
}

static int p_block(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);
	size_t len = strlen(v);

	if (!len || len >= sizeof(m->frontend.block) || v[0] == '.' || v[0] == '-' ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:%-") != len)
		return dbk_ini_fail(ini, "Block=%s is not a disk name; write a name without '/', e.g. Block=ramdisk%%i (it becomes /dev/devbroker/block/ramdisk0)",
				    v);
	if (dbk_ini_template(ini, v) < 0)
		return -1;
	strcpy(m->frontend.block, v);
	return 0;
}

/*
 * An interface name: the kernel's dev_valid_name() allows no '/', ':' or
 * space, and IFNAMSIZ - 1 (15) characters.  Only %i: a device id has
 * ':', and a serial number is the device's to choose.
 */
static int p_network(struct dbk_ini *ini, const char *v)
{
	struct dbk_manifest *m = M(ini);
	size_t len = strlen(v), shown = 0;
	const char *p;

	if (!len || len >= sizeof(m->frontend.network) || v[0] == '.' || v[0] == '-' ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.%-") != len)
		return dbk_ini_fail(ini, "Network=%s is not an interface name; write a name of letters, digits, '_', '.' or '-', e.g. Network=dbk%%i (it becomes dbk0)",
				    v);
	for (p = v; *p; p++, shown++) {
		if (*p != '%')
			continue;
		/* A '%' left in the name would be the kernel's own %d pattern. */
		if (p[1] != 'i')
			return dbk_ini_fail(ini, "Network=%s: only %%i (the instance) may be used in an interface name",
					    v);
		p++;
	}
	/* The instance as one digit: at start, a longer expansion is refused. */
	if (shown > 15)
		return dbk_ini_fail(ini, "Network=%s is too long for an interface name (15 characters, %%i counting as one)",
				    v);
	strcpy(m->frontend.network, v);
	return 0;
}

static int p_block_uint(struct dbk_ini *ini, const char *v)
{
	struct dbk_frontend *f = &M(ini)->frontend;
	const char *k = ini->key->name;
	uint64_t x;

	if (!strcmp(k, "BlockQueues")) {
		if (dbk_ini_uint(ini, v, 1, DBK_BLOCK_QUEUES_MAX, &x) < 0)
			return -1;
		f->block_queues = (unsigned int)x;
	} else if (!strcmp(k, "BlockTimeoutSec")) {
		if (dbk_ini_uint(ini, v, 1, 86400, &x) < 0)
			return -1;
		f->block_timeout = (unsigned int)x;
	} else {
		/* 0: I/O fails at once when the driver dies, no waiting for its restart. */
		if (dbk_ini_uint(ini, v, 0, 86400, &x) < 0)
			return -1;
		f->block_dead_conn = (unsigned int)x;
	}
	return 0;
}

static const struct dbk_ini_key manifest_keys[] = {
	{ "Driver", "Name", p_name, DBK_KEY_REQUIRED, "Name=NAME (the file name without .conf)" },
	{ "Driver", "Exec", p_exec, DBK_KEY_REQUIRED, "Exec=/usr/libexec/devbroker/drivers/PROGRAM ARGS..." },
	{ "Driver", "DynamicUser", p_bool, 0, "DynamicUser=yes" },
	{ "Driver", "User", p_user, 0, "User=ACCOUNT" },
	{ "Driver", "Group", p_user, 0, "Group=GROUP" },
	{ "Driver", "Restart", p_restart, 0, "Restart=on-failure" },
	{ "Driver", "RestartBurst", p_burst, 0, "RestartBurst=5" },
	{ "Driver", "RestartWindowSec", p_window, 0, "RestartWindowSec=600" },
	{ "Driver", "StopTimeoutSec", p_stop_timeout, 0, "StopTimeoutSec=5" },
	{ "Driver", "Policy", p_policy, 0, "Policy=NAME" },
	{ "Driver", "AutoBind", p_bool, 0, "AutoBind=yes" },
	{ "Match", "PCI", p_pci, DBK_KEY_MULTI, "PCI=pci:v00001234d000011E8*" },
	{ "Match", "Class", p_class, DBK_KEY_MULTI, "Class=0x010800/0xffff00" },
	{ "Match", "USB", p_usb, DBK_KEY_MULTI, "USB=usb:v0627p0001*ic03isc01ip01*" },
	{ "Match", "USBDevice", p_usb_device, DBK_KEY_MULTI, "USBDevice=0627:0001" },
	{ "Match", "USBInterface", p_usb_interface, DBK_KEY_MULTI, "USBInterface=03/01/01" },
	{ "Rights", "BARs", p_bars, DBK_KEY_EMPTY_OK, "BARs=0 2" },
	{ "Rights", "MapBARs", p_bars, DBK_KEY_EMPTY_OK, "MapBARs=0" },
	{ "Rights", "Mediated", p_mediated, DBK_KEY_MULTI, "Mediated=0:0x80+0x20" },
	{ "Rights", "Interrupts", p_irqs, DBK_KEY_EMPTY_OK, "Interrupts=msi" },
	{ "Rights", "Vectors", p_vectors, 0, "Vectors=1" },
	{ "Rights", "IRQRate", p_irq_rate, 0, "IRQRate=1000" },
	{ "Rights", "DMA", p_dma, 0, "DMA=64K" },
	{ "Rights", "DMABits", p_dma_bits, 0, "DMABits=32" },
	{ "Rights", "UnsafeDMA", p_bool, 0, "UnsafeDMA=no" },
	{ "Rights", "DMAGuard", p_dma_guard, 0, "DMAGuard=edu_dma_guard" },
	{ "Rights", "ConfigWrite", p_bool, 0, "ConfigWrite=no" },
	{ "Rights", "USBRequests", p_usb_types, DBK_KEY_EMPTY_OK, "USBRequests=standard class" },
	{ "Rights", "USBDenyRequests", p_usb_deny, DBK_KEY_MULTI, "USBDenyRequests=dfu-dnload 0x40:*" },
	{ "Frontend", "CUSE", p_cuse, 0, "CUSE=NAME%i" },
	{ "Frontend", "CUSEMode", p_cuse_mode, 0, "CUSEMode=0660" },
	{ "Frontend", "CUSEOwner", p_cuse_owner, 0, "CUSEOwner=root" },
	{ "Frontend", "CUSEGroup", p_cuse_owner, 0, "CUSEGroup=root" },
	{ "Frontend", "UInput", p_bool, 0, "UInput=no" },
	{ "Frontend", "FUSEMount", p_fuse_mount, 0, "FUSEMount=/run/devbroker/NAME/%d" },
	{ "Frontend", "Block", p_block, 0, "Block=NAME%i" },
	{ "Frontend", "BlockQueues", p_block_uint, 0, "BlockQueues=1" },
	{ "Frontend", "BlockTimeoutSec", p_block_uint, 0, "BlockTimeoutSec=30" },
	{ "Frontend", "BlockDeadConnSec", p_block_uint, 0, "BlockDeadConnSec=60" },
	{ "Frontend", "Network", p_network, 0, "Network=NAME%i" },
	{ "Frontend", "NetworkOffloads", p_bool, 0, "NetworkOffloads=yes" },
};
_Static_assert(sizeof(manifest_keys) / sizeof(manifest_keys[0]) <= DBK_INI_MAX_KEYS,
	       "raise DBK_INI_MAX_KEYS");

static void bar_list(uint32_t mask, char *buf, size_t len)
{
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < DBK_NUM_BARS; i++)
		if (mask & (1u << i))
			dbk_append(buf, len, "%s%u", buf[0] ? " " : "", i);
	if (!buf[0])
		snprintf(buf, len, "(none)");
}

/*
 * Who the driver runs as.  DynamicUser=yes, the default, gives it a uid
 * of its own (dynuser.c): User= and Group= are then not used.  Manifests
 * written when User= was required say User=nobody (and Group=nogroup):
 * they load, and get a dynamic user, which is what nobody meant: an
 * account that owns nothing (Debian Policy 9.2.2).  Nobody shared by
 * every driver is what DynamicUser= exists to end, so DynamicUser=no
 * wants a dedicated account, never nobody; and an explicit DynamicUser=yes
 * beside another User= is a contradiction, not a choice to guess.
 */
static void check_user(struct dbk_ini *ini, const struct dbk_manifest *m)
{
	unsigned int dyn = dbk_ini_line(ini, "DynamicUser"), user = dbk_ini_line(ini, "User");
	struct passwd *nobody;
	uid_t uid;

	if (!m->dynamic_user && !user) {
		dbk_ini_error(ini, dyn, "DynamicUser=no without User=; add User=ACCOUNT (a dedicated account) or write DynamicUser=yes");
		return;
	}
	if (!m->dynamic_user) {
		nobody = getpwnam("nobody");
		if (!strcmp(m->user, "nobody") ||
		    (nobody && lookup_uid(m->user, &uid) == 0 && uid == nobody->pw_uid))
			dbk_ini_error(ini, user, "User=%s with DynamicUser=no: every nobody process could then take this driver's device; use DynamicUser=yes or a dedicated account",
				      m->user);
		/* Such an id would also be handed to another driver while this one is stopped. */
		else if (lookup_uid(m->user, &uid) == 0 && uid >= DBK_DYNAMIC_UID_MIN &&
			 uid - DBK_DYNAMIC_UID_MIN < DBK_DYNAMIC_UID_COUNT)
			dbk_ini_error(ini, user, "User=%s is uid %u, inside DynamicUser='s range (%u-%u); use another account",
				      m->user, (unsigned int)uid, DBK_DYNAMIC_UID_MIN,
				      DBK_DYNAMIC_UID_MIN + DBK_DYNAMIC_UID_COUNT - 1);
		return;
	}
	if (dyn && user && strcmp(m->user, "nobody"))
		dbk_ini_error(ini, user, "User=%s beside DynamicUser=yes: the driver gets a user of its own; remove User= (and Group=), or write DynamicUser=no to run it as %s",
			      m->user, m->user);
}

/* Checks across keys, once the whole file is read. */
static void check_manifest(struct dbk_ini *ini, const char *stem)
{
	struct dbk_manifest *m = M(ini);
	struct dbk_rights *r = &m->rights;
	char a[32], b[32];
	unsigned int i, line;

	line = dbk_ini_line(ini, "Name");
	if (line && strcmp(m->name, stem))
		dbk_ini_error(ini, line, "Name=%s does not match the file name %s.conf; write Name=%s or rename the file to %s.conf",
			      m->name, stem, stem, m->name);
	check_user(ini, m);
	if (!m->nr_match)
		dbk_ini_error(ini, 0, "no [Match] line; add e.g. PCI=pci:v00001234d000011E8*, Class=0x010800/0xffff00 or USBInterface=03/01/01");
	/* No vendor requests unless asked: they bypass usbfs's recipient checks. */
	if (m->bus == DBK_BUS_USB && !dbk_ini_line(ini, "USBRequests"))
		r->usb_types = DBK_USB_STANDARD | DBK_USB_CLASS;
	/* Each bus has its own rights: a key of the other bus is a mistake, not a no-op. */
	{
		static const char *const pci_rights[] = { "BARs", "MapBARs", "Mediated", "Interrupts",
			"Vectors", "IRQRate", "DMA", "DMABits", "UnsafeDMA", "DMAGuard", "ConfigWrite" };
		static const char *const usb_rights[] = { "USBRequests", "USBDenyRequests" };
		bool usb = m->bus == DBK_BUS_USB;
		const char *const *other = usb ? pci_rights : usb_rights;
		unsigned int nother = usb ? 11 : 2;

		for (i = 0; m->nr_match && i < nother; i++)
			if ((line = dbk_ini_line(ini, other[i])))
				dbk_ini_error(ini, line, usb ?
					      "%s= is a PCI right, and this manifest matches USB devices; a USB driver's rights are its interfaces (from [Match]), USBRequests= and USBDenyRequests=" :
					      "%s= is a USB right, and this manifest matches PCI devices; remove it",
					      other[i]);
	}
	if (r->map_bars & ~r->bars) {
		bar_list(r->map_bars, a, sizeof(a));
		bar_list(r->bars, b, sizeof(b));
		dbk_ini_error(ini, dbk_ini_line(ini, "MapBARs"),
			      "MapBARs=%s is not a subset of BARs=%s; list in MapBARs= only BARs that BARs= has",
			      a, b);
	}
	for (i = 0; i < r->nr_mediated; i++)
		if (!(r->bars & (1u << r->mediated[i].bar)))
			dbk_ini_error(ini, dbk_ini_line(ini, "Mediated"),
				      "Mediated= range in BAR %u, which BARs= does not grant; add %u to BARs=",
				      r->mediated[i].bar, r->mediated[i].bar);
	line = dbk_ini_line(ini, "Vectors");
	if (r->vectors && !(r->irqs & (DBK_IRQ_MSI | DBK_IRQ_MSIX)))
		dbk_ini_error(ini, line, "Vectors=%u needs Interrupts=msi or msix; add one or remove Vectors=",
			      r->vectors);
	if (!line && (r->irqs & (DBK_IRQ_MSI | DBK_IRQ_MSIX)))
		r->vectors = 1;
	if (!r->dma) {
		if ((line = dbk_ini_line(ini, "DMABits")))
			dbk_ini_error(ini, line, "DMABits= without DMA=; add DMA=SIZE or remove DMABits=");
		if (r->unsafe_dma)
			dbk_ini_error(ini, dbk_ini_line(ini, "UnsafeDMA"),
				      "UnsafeDMA=yes without DMA=; add DMA=SIZE or write UnsafeDMA=no");
		if (r->dma_guard[0])
			dbk_ini_error(ini, dbk_ini_line(ini, "DMAGuard"),
				      "DMAGuard=%s without DMA=; add DMA=SIZE or remove DMAGuard=",
				      r->dma_guard);
	}
	/* The guard trusted is the driver's own policy, which devbrokerd loads before the grant. */
	if (r->dma_guard[0] && strcmp(r->dma_guard, m->policy))
		dbk_ini_error(ini, dbk_ini_line(ini, "DMAGuard"),
			      "DMAGuard=%s is not this manifest's Policy=%s; a DMA guard must be the policy it names: write Policy=%s",
			      r->dma_guard, m->policy[0] ? m->policy : "(none)", r->dma_guard);
	if (!m->frontend.cuse[0]) {
		static const char *const cuse_keys[] = { "CUSEMode", "CUSEOwner", "CUSEGroup" };

		for (i = 0; i < 3; i++)
			if ((line = dbk_ini_line(ini, cuse_keys[i])))
				dbk_ini_error(ini, line, "%s= without CUSE=; add CUSE=NAME or remove %s=",
					      cuse_keys[i], cuse_keys[i]);
	}
	if (!m->frontend.block[0]) {
		static const char *const block_keys[] = { "BlockQueues", "BlockTimeoutSec",
							   "BlockDeadConnSec" };

		for (i = 0; i < 3; i++)
			if ((line = dbk_ini_line(ini, block_keys[i])))
				dbk_ini_error(ini, line, "%s= without Block=; add Block=NAME%%i or remove %s=",
					      block_keys[i], block_keys[i]);
	}
	if (!m->frontend.network[0] && (line = dbk_ini_line(ini, "NetworkOffloads")))
		dbk_ini_error(ini, line,
			      "NetworkOffloads= without Network=; add Network=NAME%%i or remove NetworkOffloads=");
}

int dbk_manifest_parse(const char *path, struct dbk_manifest *m)
{
	const char *base = strrchr(path, '/');
	struct dbk_ini ini = {
		.path = path,
		.sections = manifest_sections,
		.keys = manifest_keys,
		.nkeys = sizeof(manifest_keys) / sizeof(manifest_keys[0]),
		.obj = m,
	};
	char stem[DBK_NAME_MAX];
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	m->restart = DBK_RESTART_ON_FAILURE;
	m->restart_burst = 5;
	m->restart_window = 600;
	m->stop_timeout = 5;
	m->auto_bind = true;
	m->dynamic_user = true;
	m->bus = DBK_BUS_PCI;
	m->frontend.cuse_mode = 0600;
	m->frontend.block_queues = 1;
	m->frontend.block_timeout = 30;
	m->frontend.block_dead_conn = 60;
	snprintf(m->path, sizeof(m->path), "%s", path);

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	memcpy(stem, base, len < sizeof(stem) ? len : sizeof(stem) - 1);
	stem[len < sizeof(stem) ? len : sizeof(stem) - 1] = '\0';

	if (len == strlen(base)) {
		dbk_ini_error(&ini, 0, "a manifest file is named NAME.conf, NAME being its Name=; rename it");
		r = -EINVAL;
	} else {
		r = dbk_ini_parse(&ini);
		if (r == 0 || r == -EINVAL) {
			/* The name as parsed, for the Name= check; then the file's. */
			check_manifest(&ini, stem);
			r = ini.failed ? -EINVAL : 0;
		}
	}
	snprintf(m->name, sizeof(m->name), "%s", stem);
	m->valid = !ini.failed;
	if (!m->valid) {
		memcpy(m->error, ini.err, sizeof(m->error));
		m->error[sizeof(m->error) - 1] = '\0';
	}
	return r;
}

void dbk_manifest_free(struct dbk_manifest *m)
{
	unsigned int i;

	for (i = 0; i < DBK_MAX_ARGS + 1; i++) {
		free(m->argv[i]);
		m->argv[i] = NULL;
	}
	m->argc = 0;
}

/* -------- directories -------- */

struct entry {
	char stem[DBK_NAME_MAX + 8];
	char path[DBK_PATH_MAX];
	bool masked;
};

static bool is_dev_null(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* Add or replace the *.conf entries of @dir. */
static int scan_dir(const char *dir, struct entry **ents, size_t *n, size_t *cap)
{
	struct dirent *de;
	DIR *d;

	if (!dir)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name), i;
		char path[DBK_PATH_MAX];
		struct stat st;
		struct entry *e;

		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") ||
		    len - 5 >= sizeof((*ents)->stem))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		for (i = 0; i < *n; i++)
			if (!strncmp((*ents)[i].stem, de->d_name, len - 5) && !(*ents)[i].stem[len - 5])
				break;
		if (i == *n) {
			if (*n == *cap) {
				size_t ncap = *cap ? *cap * 2 : 16;
				struct entry *p = realloc(*ents, ncap * sizeof(*p));

				if (!p) {
					closedir(d);
					return -ENOMEM;
				}
				*ents = p;
				*cap = ncap;
			}
			(*n)++;
		}
		e = &(*ents)[i];
		snprintf(e->stem, sizeof(e->stem), "%.*s", (int)(len - 5), de->d_name);
		memcpy(e->path, path, sizeof(e->path));
		e->masked = is_dev_null(path);
	}
	if (errno) {
		int e = -errno;

		closedir(d);
		return e;
	}
	closedir(d);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->stem, ((const struct entry *)b)->stem);
}

int dbk_manifest_load_dirs(const char *sysdir, const char *etcdir, struct dbk_manifest **out)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0, i;
	struct dbk_manifest *ms;
	int r, count = 0;

	*out = NULL;
	r = scan_dir(sysdir, &ents, &n, &cap);
	if (r == 0)
		r = scan_dir(etcdir, &ents, &n, &cap);
	if (r < 0) {
		free(ents);
		return r;
	}
	if (n > INT_MAX) {
		free(ents);
		return -E2BIG;
	}
	if (n)
		qsort(ents, n, sizeof(*ents), cmp_entry);
	ms = calloc(n ? n : 1, sizeof(*ms));
	if (!ms) {
		free(ents);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (ents[i].masked)
			continue;
		r = dbk_manifest_parse(ents[i].path, &ms[count]);
		if (r == -ENOMEM) {
			while (count >= 0)
				dbk_manifest_free(&ms[count--]);
			free(ms);
			free(ents);
			return -ENOMEM;
		}
		count++;
	}
	free(ents);
	*out = ms;
	return count;
}
