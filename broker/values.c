// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The value parsers of manifests and the limits file: numbers, sizes,
 * booleans, BAR and IRQ lists, modes, names and USB request rules.  Each
 * records its error naming the key being parsed (core-internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "core-internal.h"

int dbk_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	const char *p = s;
	int base = 10;
	char *end;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)*p) : !isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	x = strtoull(p, &end, base);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = x;
	return 0;
}

int dbk_parse_size(const char *s, uint64_t *v)
{
	char num[32];
	size_t len = strlen(s);
	unsigned int shift = 0;
	uint64_t x;
	int r;

	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	}
	if (shift)
		num[len - 1] = '\0';
	r = dbk_parse_u64(num, &x);
	if (r < 0)
		return r;
	if (shift && x > (UINT64_MAX >> shift))
		return -ERANGE;
	*v = x << shift;
	return 0;
}

int dbk_ini_uint(struct dbk_ini *ini, const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	int r = dbk_parse_u64(s, v);

	if (r == -EINVAL)
		return dbk_ini_fail(ini, "%s=%s is not a number; write %s", ini->key->name, s,
				    ini->key->example);
	if (r < 0 || *v < min || *v > max)
		return dbk_ini_fail(ini, "%s=%s is out of range; write a number from %llu to %llu",
				    ini->key->name, s, (unsigned long long)min,
				    (unsigned long long)max);
	return 0;
}

int dbk_ini_size(struct dbk_ini *ini, const char *s, uint64_t max, uint64_t *v)
{
	int r = dbk_parse_size(s, v);

	if (r == -EINVAL)
		return dbk_ini_fail(ini, "%s=%s is not a size; write bytes with an optional K, M or G suffix, e.g. %s",
				    ini->key->name, s, ini->key->example);
	if (r < 0 || *v > max)
		return dbk_ini_fail(ini, "%s=%s is too large; the most is %lluG", ini->key->name, s,
				    (unsigned long long)(max >> 30));
	return 0;
}

int dbk_ini_bool(struct dbk_ini *ini, const char *s, bool *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*b = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*b = false;
			return 0;
		}
	}
	return dbk_ini_fail(ini, "%s=%s is not a boolean; write %s=yes or %s=no", ini->key->name,
			    s, ini->key->name, ini->key->name);
}

/* Split @s on white space and commas into @tok (a copy); returns the count or -1. */
int dbk_ini_split(struct dbk_ini *ini, const char *s, char *copy, size_t copylen,
		  char **tok, unsigned int max)
{
	char *save = NULL, *t;
	unsigned int n = 0;

	if (strlen(s) >= copylen)
		return dbk_ini_fail(ini, "%s= is too long", ini->key->name);
	strcpy(copy, s);
	for (t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (n == max)
			return dbk_ini_fail(ini, "%s= has more than %u values", ini->key->name, max);
		tok[n++] = t;
	}
	return (int)n;
}

int dbk_ini_bars(struct dbk_ini *ini, const char *s, uint32_t *mask)
{
	char copy[256], *tok[64];
	int i, n = dbk_ini_split(ini, s, copy, sizeof(copy), tok, 64);

	if (n < 0)
		return -1;
	*mask = 0;
	for (i = 0; i < n; i++) {
		if (tok[i][0] < '0' || tok[i][0] > '5' || tok[i][1])
			return dbk_ini_fail(ini, "%s=: '%s' is not a BAR index; write indexes from 0 to 5, e.g. %s",
					    ini->key->name, tok[i], ini->key->example);
		*mask |= 1u << (tok[i][0] - '0');
	}
	return 0;
}

int dbk_ini_irqs(struct dbk_ini *ini, const char *s, uint32_t *mask)
{
	char copy[256], *tok[64];
	int i, n = dbk_ini_split(ini, s, copy, sizeof(copy), tok, 64);

	if (n < 0)
		return -1;
	*mask = 0;
	for (i = 0; i < n; i++) {
		if (!strcasecmp(tok[i], "intx"))
			*mask |= DBK_IRQ_INTX;
		else if (!strcasecmp(tok[i], "msi"))
			*mask |= DBK_IRQ_MSI;
		else if (!strcasecmp(tok[i], "msix") || !strcasecmp(tok[i], "msi-x"))
			*mask |= DBK_IRQ_MSIX;
		else
			return dbk_ini_fail(ini, "%s=: unknown interrupt type '%s'; write any of intx msi msix",
					    ini->key->name, tok[i]);
	}
	return 0;
}

int dbk_ini_mode(struct dbk_ini *ini, const char *s, unsigned int *mode)
{
	unsigned long x;
	char *end;

	errno = 0;
	x = strtoul(s, &end, 8);
	if (!*s || *s < '0' || *s > '7' || *end || errno || x > 0777)
		return dbk_ini_fail(ini, "%s=%s is not an octal permission mode; write e.g. %s",
				    ini->key->name, s, ini->key->example);
	*mode = (unsigned int)x;
	return 0;
}

int dbk_ini_usb_types(struct dbk_ini *ini, const char *s, uint32_t *types)
{
	char copy[256], *tok[64];
	int i, n = dbk_ini_split(ini, s, copy, sizeof(copy), tok, 64);

	if (n < 0)
		return -1;
	*types = 0;
	for (i = 0; i < n; i++) {
		if (!strcasecmp(tok[i], "standard"))
			*types |= DBK_USB_STANDARD;
		else if (!strcasecmp(tok[i], "class"))
			*types |= DBK_USB_CLASS;
		else if (!strcasecmp(tok[i], "vendor"))
			*types |= DBK_USB_VENDOR;
		else
			return dbk_ini_fail(ini, "%s=: unknown request type '%s'; write any of standard class vendor (or nothing: none)",
					    ini->key->name, tok[i]);
	}
	return 0;
}

/* "0xHH" (or "HH") into a byte. */
static bool parse_byte(const char *s, uint8_t *b)
{
	uint64_t x;

	if (dbk_parse_u64(s, &x) < 0 || x > 0xff)
		return false;
	*b = (uint8_t)x;
	return true;
}

int dbk_ini_usb_deny(struct dbk_ini *ini, const char *s, struct dbk_rights *r, unsigned int max)
{
	char copy[256], *tok[64], *colon = NULL, *slash = NULL;
	int i, n = dbk_ini_split(ini, s, copy, sizeof(copy), tok, 64);
	unsigned int j;

	if (n < 0)
		return -1;
	if (!n)
		return dbk_ini_fail(ini, "%s= is empty; write e.g. %s", ini->key->name, ini->key->example);
	for (i = 0; i < n; i++) {
		struct dbk_usb_deny d = { .type_mask = 0xff };

		colon = slash = NULL;
		if (!strcasecmp(tok[i], "dfu-dnload")) {
			/*
			 * DFU 1.1, 6.1.1: DFU_DNLOAD is a class request from host
			 * to device (0x21); firmware often ignores the recipient
			 * bits, so any recipient (mask 0xe0).
			 */
			d.type_mask = 0xe0;
			d.type_val = 0x20;
			d.request = 0x01;
		} else {
			colon = strchr(tok[i], ':');
			if (!colon)
				goto bad;
			*colon = '\0';
			slash = strchr(tok[i], '/');
			if (slash) {
				*slash = '\0';
				if (!parse_byte(slash + 1, &d.type_mask) || !d.type_mask)
					goto bad;
			}
			if (!parse_byte(tok[i], &d.type_val) || (d.type_val & ~d.type_mask))
				goto bad;
			if (!strcmp(colon + 1, "*"))
				d.any_request = true;
			else if (!parse_byte(colon + 1, &d.request))
				goto bad;
		}
		for (j = 0; j < r->nr_usb_deny; j++)
			if (!memcmp(&r->usb_deny[j], &d, sizeof(d)))
				break;
		if (j < r->nr_usb_deny)
			continue;
		if (r->nr_usb_deny >= max || r->nr_usb_deny >= DBK_MAX_USB_DENY)
			return dbk_ini_fail(ini, "more than %d refused requests; refuse a whole type with USBRequests= instead",
					    DBK_USB_DENY_PER_FILE);
		r->usb_deny[r->nr_usb_deny++] = d;
	}
	return 0;
bad:
	if (colon)
		*colon = ':';
	if (slash)
		*slash = '/';
	return dbk_ini_fail(ini, "%s=: '%s' is not a request; write bmRequestType[/MASK]:bRequest in hex (0x21:0x01, 0x20/0xe0:0x01), TYPE:* for any bRequest, or dfu-dnload",
			    ini->key->name, tok[i]);
}

bool dbk_valid_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= DBK_NAME_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int dbk_ini_name(struct dbk_ini *ini, const char *s, char *out, size_t outlen)
{
	if (!dbk_valid_name(s) || strlen(s) >= outlen)
		return dbk_ini_fail(ini, "%s=%s is not a valid name; use 1 to 63 of a-z 0-9 _ -",
				    ini->key->name, s);
	strcpy(out, s);
	return 0;
}
