// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The administrator's limits (/etc/devbroker/limits.conf, section LIMITS of
 * devbroker-manifest(5)) and the intersection of a manifest's rights with
 * them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "core-internal.h"

#define DBK_IRQ_RATE_DEFAULT_	100000u		/* DBK_IRQ_RATE_DEFAULT, uapi */

#define L(ini) ((struct dbk_limits *)(ini)->obj)

static void limits_default(struct dbk_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max.bars = DBK_ALL_BARS;
	l->max.map_bars = DBK_ALL_BARS;
	l->max.irqs = DBK_ALL_IRQS;
	l->max.vectors = 32;
	l->max.irq_rate = DBK_IRQ_RATE_DEFAULT_;
	l->max.dma = 16u << 20;
	l->max.dma_bits = 64;
	l->max.unsafe_dma = false;
	l->max.config_write = false;
	l->max.usb_types = DBK_USB_ALL_TYPES;
	l->cuse_mode_mask = 0666;
	l->auto_bind = true;
	strcpy(l->dma_guards[0], "edu_dma_guard");	/* shipped, and it checks every address */
	l->nr_dma_guards = 1;
}

/*
 * A broken limits.conf: its consent keys fall back to refusal, since the
 * file may have withdrawn the default consent (AllowDMAGuards= empty).
 */
static void limits_fail_safe(struct dbk_limits *l)
{
	l->max.unsafe_dma = false;
	memset(l->dma_guards, 0, sizeof(l->dma_guards));
	l->nr_dma_guards = 0;
}

static int p_bars(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_bars(ini, v, !strcmp(ini->key->name, "BARs") ? &L(ini)->max.bars :
					&L(ini)->max.map_bars);
}

static int p_irqs(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_irqs(ini, v, &L(ini)->max.irqs);
}

static int p_u32(struct dbk_ini *ini, const char *v)
{
	struct dbk_rights *max = &L(ini)->max;
	const char *k = ini->key->name;
	uint64_t x;

	if (!strcmp(k, "MaxVectors")) {
		if (dbk_ini_uint(ini, v, 0, DBK_MAX_VECTORS, &x) < 0)
			return -1;
		max->vectors = (uint32_t)x;
	} else if (!strcmp(k, "MaxIRQRate")) {
		if (dbk_ini_uint(ini, v, 0, DBK_MAX_IRQ_RATE, &x) < 0)
			return -1;
		max->irq_rate = (uint32_t)x;
	} else {
		if (dbk_ini_uint(ini, v, 24, 64, &x) < 0)
			return -1;
		max->dma_bits = (uint32_t)x;
	}
	return 0;
}

static int p_dma(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_size(ini, v, DBK_MAX_DMA_QUOTA, &L(ini)->max.dma);
}

static int p_bool(struct dbk_ini *ini, const char *v)
{
	struct dbk_limits *l = L(ini);
	const char *k = ini->key->name;

	return dbk_ini_bool(ini, v, !strcmp(k, "AllowUnsafeDMA") ? &l->max.unsafe_dma :
				    !strcmp(k, "AllowConfigWrite") ? &l->max.config_write :
				    &l->auto_bind);
}

static int p_mode(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_mode(ini, v, &L(ini)->cuse_mode_mask);
}

static int p_deny(struct dbk_ini *ini, const char *v)
{
	struct dbk_limits *l = L(ini);
	char copy[256], *save = NULL, *t;
	unsigned int i;

	if (strlen(v) >= sizeof(copy))
		return dbk_ini_fail(ini, "DenyDrivers= line is too long; split it over several DenyDrivers= lines");
	strcpy(copy, v);
	for (t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (!dbk_valid_name(t))
			return dbk_ini_fail(ini, "DenyDrivers=: '%s' is not a driver name; use 1 to 63 of a-z 0-9 _ -",
					    t);
		for (i = 0; i < l->nr_deny; i++)
			if (!strcmp(l->deny_drivers[i], t))
				break;
		if (i < l->nr_deny)
			continue;
		if (l->nr_deny == DBK_MAX_MATCH)
			return dbk_ini_fail(ini, "DenyDrivers= names more than %d drivers", DBK_MAX_MATCH);
		strcpy(l->deny_drivers[l->nr_deny++], t);
	}
	return 0;
}

/* AllowDMAGuards=NAME...: replaces the default list; empty: none. */
static int p_guards(struct dbk_ini *ini, const char *v)
{
	struct dbk_limits *l = L(ini);
	char copy[256], *save = NULL, *t;
	unsigned int n = 0;

	if (strlen(v) >= sizeof(copy))
		return dbk_ini_fail(ini, "AllowDMAGuards= line is too long");
	strcpy(copy, v);
	for (t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (!dbk_valid_name(t))
			return dbk_ini_fail(ini, "AllowDMAGuards=: '%s' is not a policy name; use 1 to 63 of a-z 0-9 _ -",
					    t);
		if (n == DBK_MAX_MATCH)
			return dbk_ini_fail(ini, "AllowDMAGuards= names more than %d policies", DBK_MAX_MATCH);
		strcpy(l->dma_guards[n++], t);
	}
	l->nr_dma_guards = n;
	return 0;
}

static int p_usb_types(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_usb_types(ini, v, &L(ini)->max.usb_types);
}

static int p_usb_deny(struct dbk_ini *ini, const char *v)
{
	return dbk_ini_usb_deny(ini, v, &L(ini)->max, DBK_USB_DENY_PER_FILE);
}

static const char *const limits_sections[] = { "Limits", "Broker", NULL };

static const struct dbk_ini_key limits_keys[] = {
	{ "Limits", "BARs", p_bars, DBK_KEY_EMPTY_OK, "BARs=0 1 2 3 4 5" },
	{ "Limits", "MapBARs", p_bars, DBK_KEY_EMPTY_OK, "MapBARs=0 1 2 3 4 5" },
	{ "Limits", "Interrupts", p_irqs, DBK_KEY_EMPTY_OK, "Interrupts=intx msi msix" },
	{ "Limits", "MaxVectors", p_u32, 0, "MaxVectors=32" },
	{ "Limits", "MaxIRQRate", p_u32, 0, "MaxIRQRate=100000" },
	{ "Limits", "MaxDMA", p_dma, 0, "MaxDMA=16M" },
	{ "Limits", "MaxDMABits", p_u32, 0, "MaxDMABits=64" },
	{ "Limits", "AllowUnsafeDMA", p_bool, 0, "AllowUnsafeDMA=no" },
	{ "Limits", "AllowDMAGuards", p_guards, DBK_KEY_EMPTY_OK, "AllowDMAGuards=edu_dma_guard" },
	{ "Limits", "AllowConfigWrite", p_bool, 0, "AllowConfigWrite=no" },
	{ "Limits", "CUSEModeMask", p_mode, 0, "CUSEModeMask=0666" },
	{ "Limits", "USBRequests", p_usb_types, DBK_KEY_EMPTY_OK, "USBRequests=standard class" },
	{ "Limits", "USBDenyRequests", p_usb_deny, DBK_KEY_MULTI, "USBDenyRequests=dfu-dnload" },
	{ "Broker", "AutoBind", p_bool, 0, "AutoBind=yes" },
	{ "Broker", "DenyDrivers", p_deny, DBK_KEY_MULTI | DBK_KEY_EMPTY_OK, "DenyDrivers=NAME..." },
};

int dbk_limits_load(const char *path, struct dbk_limits *l, char *err, size_t errlen)
{
	struct dbk_ini ini = {
		.path = path,
		.sections = limits_sections,
		.keys = limits_keys,
		.nkeys = sizeof(limits_keys) / sizeof(limits_keys[0]),
		.obj = l,
	};
	int r;

	if (err && errlen)
		err[0] = '\0';
	limits_default(l);
	if (!path)
		return 0;
	r = dbk_ini_parse(&ini);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		/*
		 * Never half a file, and never a consent the file may have
		 * withdrawn: the defaults without their permissive consent
		 * keys (no DMA guard, no unsafe DMA).  A reload keeps the
		 * limits it had instead (dbk_load_config()).
		 */
		limits_default(l);
		limits_fail_safe(l);
		if (err && errlen)
			snprintf(err, errlen, "%s", ini.err);
	}
	return r;
}

/*
 * limits.conf read again (SIGHUP) or for the first time: on an error a
 * reload keeps *l as it was, and a start takes dbk_limits_load()'s
 * fallback (the defaults, consent keys refused).  *l changes only whole.
 */
int dbk_limits_update(const char *path, struct dbk_limits *l, bool reload, char *err, size_t errlen)
{
	struct dbk_limits next;
	int r = dbk_limits_load(path, &next, err, errlen);

	if (r >= 0 || !reload)
		memcpy(l, &next, sizeof(next));
	return r;
}

/* -------- intersection -------- */

static void cut(char *cuts, size_t len, int *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cut(char *cuts, size_t len, int *n, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	(*n)++;
	if (!cuts || !len)
		return;
	used = strlen(cuts);
	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(cuts + used, len - used, fmt, ap);
	va_end(ap);
	used = strlen(cuts);
	if (used + 1 < len) {
		cuts[used] = '\n';
		cuts[used + 1] = '\0';
	}
}

static void bar_text(uint32_t mask, char *buf, size_t len)
{
	unsigned int i;
	size_t n = 0;

	buf[0] = '\0';
	for (i = 0; i < DBK_NUM_BARS && n + 3 < len; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%u", n ? "," : "", i);
	if (!n)
		snprintf(buf, len, "none");
}

static void irq_text(uint32_t mask, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s", mask & DBK_IRQ_INTX ? "intx" : "",
		 (mask & DBK_IRQ_INTX) && (mask & (DBK_IRQ_MSI | DBK_IRQ_MSIX)) ? "," : "",
		 mask & DBK_IRQ_MSI ? "msi" : "",
		 (mask & DBK_IRQ_MSI) && (mask & DBK_IRQ_MSIX) ? "," : "",
		 mask & DBK_IRQ_MSIX ? "msix" : "",
		 mask & DBK_ALL_IRQS ? "" : "none");
}

void dbk_usb_deny_text(const struct dbk_usb_deny *d, char *buf, size_t len)
{
	char req[8];

	if (d->any_request)
		snprintf(req, sizeof(req), "*");
	else
		snprintf(req, sizeof(req), "0x%02x", d->request);
	if (d->type_mask == 0xff)
		snprintf(buf, len, "0x%02x:%s", d->type_val, req);
	else
		snprintf(buf, len, "0x%02x/0x%02x:%s", d->type_val, d->type_mask, req);
}

int dbk_usb_deny_builtin(struct dbk_rights *r)
{
	/*
	 * Whatever the direction and recipient bits say (mask 0x60: the
	 * standard type): firmware often ignores them, and usbfs checks no
	 * recipient but an interface or endpoint.  SET_FEATURE only to the
	 * device, either direction (mask 0x7f): to an endpoint it is HALT.
	 */
	static const struct dbk_usb_deny builtin[] = {
		{ .type_mask = 0x60, .type_val = 0x00, .request = 0x05 },	/* SET_ADDRESS */
		{ .type_mask = 0x60, .type_val = 0x00, .request = 0x09 },	/* SET_CONFIGURATION */
		{ .type_mask = 0x60, .type_val = 0x00, .request = 0x07 },	/* SET_DESCRIPTOR */
		{ .type_mask = 0x7f, .type_val = 0x00, .request = 0x03 },	/* SET_FEATURE (device) */
	};
	unsigned int i, j;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		for (j = 0; j < r->nr_usb_deny; j++)
			if (!memcmp(&r->usb_deny[j], &builtin[i], sizeof(builtin[i])))
				break;
		if (j < r->nr_usb_deny)
			continue;
		if (r->nr_usb_deny == DBK_MAX_USB_DENY)
			return -E2BIG;
		r->usb_deny[r->nr_usb_deny++] = builtin[i];
	}
	return 0;
}

static void usb_types_text(uint32_t t, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s", t & DBK_USB_STANDARD ? "standard" : "",
		 (t & DBK_USB_STANDARD) && (t & (DBK_USB_CLASS | DBK_USB_VENDOR)) ? "," : "",
		 t & DBK_USB_CLASS ? "class" : "",
		 (t & DBK_USB_CLASS) && (t & DBK_USB_VENDOR) ? "," : "",
		 t & DBK_USB_VENDOR ? "vendor" : "", t & DBK_USB_ALL_TYPES ? "" : "none");
}

static uint32_t eff_rate(uint32_t r)
{
	return r ? r : DBK_IRQ_RATE_DEFAULT_;
}

static uint32_t eff_bits(uint32_t b)
{
	return b ? b : 32;
}

int dbk_rights_intersect(const struct dbk_rights *want, const struct dbk_limits *l,
			 struct dbk_rights *out, char *cuts, size_t cutslen)
{
	const struct dbk_rights *max = &l->max;
	unsigned int i, j;
	char a[32], b[32];
	int n = 0;

	if (cuts && cutslen)
		cuts[0] = '\0';
	*out = *want;	/* mediated ranges stay: more mediation is always allowed */

	out->bars = want->bars & max->bars;
	if (out->bars != want->bars) {
		bar_text(want->bars, a, sizeof(a));
		bar_text(out->bars, b, sizeof(b));
		cut(cuts, cutslen, &n, "bars %s -> %s", a, b);
	}
	out->map_bars = want->map_bars & max->map_bars & out->bars;
	if (out->map_bars != want->map_bars) {
		bar_text(want->map_bars, a, sizeof(a));
		bar_text(out->map_bars, b, sizeof(b));
		cut(cuts, cutslen, &n, "map_bars %s -> %s", a, b);
	}
	out->irqs = want->irqs & max->irqs;
	if (out->irqs != want->irqs) {
		irq_text(want->irqs, a, sizeof(a));
		irq_text(out->irqs, b, sizeof(b));
		cut(cuts, cutslen, &n, "irqs %s -> %s", a, b);
	}
	/* The module refuses vectors without MSI or MSI-X. */
	out->vectors = out->irqs & (DBK_IRQ_MSI | DBK_IRQ_MSIX) ?
		       (want->vectors < max->vectors ? want->vectors : max->vectors) : 0;
	if (out->vectors != want->vectors)
		cut(cuts, cutslen, &n, "vectors %u -> %u", want->vectors, out->vectors);
	if (eff_rate(want->irq_rate) > eff_rate(max->irq_rate)) {
		out->irq_rate = eff_rate(max->irq_rate);
		cut(cuts, cutslen, &n, "irq_rate %u -> %u", eff_rate(want->irq_rate), out->irq_rate);
	}
	out->dma = want->dma < max->dma ? want->dma : max->dma;
	if (out->dma != want->dma)
		cut(cuts, cutslen, &n, "dma %llu -> %llu", (unsigned long long)want->dma,
		    (unsigned long long)out->dma);
	if (!out->dma) {
		/* The module refuses DMA parameters without DMA. */
		out->dma_bits = 0;
	} else if (eff_bits(want->dma_bits) > eff_bits(max->dma_bits)) {
		out->dma_bits = eff_bits(max->dma_bits);
		cut(cuts, cutslen, &n, "dma_bits %u -> %u", eff_bits(want->dma_bits), out->dma_bits);
	}
	out->unsafe_dma = want->unsafe_dma && max->unsafe_dma && out->dma;
	if (out->unsafe_dma != want->unsafe_dma)
		cut(cuts, cutslen, &n, "unsafe_dma yes -> no");
	/* A policy's DMA guard is heeded only for a policy the administrator trusts with it. */
	out->dma_guard[0] = '\0';
	for (i = 0; want->dma_guard[0] && out->dma && i < l->nr_dma_guards; i++)
		if (!strcmp(want->dma_guard, l->dma_guards[i]))
			strcpy(out->dma_guard, want->dma_guard);
	if (want->dma_guard[0] && !out->dma_guard[0])
		cut(cuts, cutslen, &n, "dma_guard %s -> none", want->dma_guard);
	out->config_write = want->config_write && max->config_write;
	if (out->config_write != want->config_write)
		cut(cuts, cutslen, &n, "config_write yes -> no");
	out->usb_types = want->usb_types & max->usb_types;
	if (out->usb_types != want->usb_types) {
		usb_types_text(want->usb_types, a, sizeof(a));
		usb_types_text(out->usb_types, b, sizeof(b));
		cut(cuts, cutslen, &n, "usb_requests %s -> %s", a, b);
	}
	/* The administrator's refusals join the manifest's (none matter if no type is left). */
	for (i = 0; out->usb_types && i < max->nr_usb_deny; i++) {
		const struct dbk_usb_deny *d = &max->usb_deny[i];

		for (j = 0; j < out->nr_usb_deny; j++)
			if (!memcmp(&out->usb_deny[j], d, sizeof(*d)))
				break;
		if (j < out->nr_usb_deny)
			continue;
		/* Cannot happen (16 + 16 fit); if it did, refuse rather than drop a rule. */
		if (out->nr_usb_deny == DBK_MAX_USB_DENY) {
			out->usb_types = 0;
			cut(cuts, cutslen, &n, "usb_requests: too many refused requests -> none allowed");
			break;
		}
		out->usb_deny[out->nr_usb_deny++] = *d;
		dbk_usb_deny_text(d, a, sizeof(a));
		cut(cuts, cutslen, &n, "usb_deny + %s", a);
	}
	return n;
}
