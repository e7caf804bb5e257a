// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Manifest templates (an Exec= word, CUSE=, FUSEMount=): %i (instance),
 * %d (device id), %s (serial number), %% (a %).  Checked when a manifest
 * is parsed, expanded when its driver starts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "core-internal.h"

int dbk_ini_template(struct dbk_ini *ini, const char *s)
{
	const char *p;

	for (p = s; (p = strchr(p, '%')); p += 2)
		if (p[1] != 'i' && p[1] != 'd' && p[1] != 's' && p[1] != '%')
			return dbk_ini_fail(ini, "%s=: unknown specifier %%%.1s; use %%i (instance), %%d (device id), %%s (serial number) or %%%% (a %%)",
					    ini->key->name, p + 1);
	return 0;
}

void dbk_sanitize_name(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	for (; in && *in && n + 1 < len; in++)
		out[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
				  *in) ? *in : '_';
	out[n] = '\0';
	/* "." and ".." would name a directory, not a new component. */
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		memset(out, '_', n);
	/* In Exec= (%s), a leading '-' would make it an option. */
	if (out[0] == '-')
		out[0] = '_';
}

int dbk_template_expand(const char *tmpl, unsigned int instance, const char *dev_id,
			const char *serial, char *buf, size_t len)
{
	size_t n = 0, add;
	char num[16];
	const char *s;

	if (!len)
		return -ENAMETOOLONG;
	for (; *tmpl; tmpl++) {
		if (*tmpl != '%') {
			s = tmpl;
			add = 1;
		} else if (tmpl[1] == 'i') {
			snprintf(num, sizeof(num), "%u", instance);
			s = num;
			add = strlen(num);
			tmpl++;
		} else if (tmpl[1] == 'd') {
			s = dev_id ? dev_id : "";
			add = strlen(s);
			tmpl++;
		} else if (tmpl[1] == 's') {
			s = serial && *serial ? serial : dev_id ? dev_id : "";
			add = strlen(s);
			tmpl++;
		} else if (tmpl[1] == '%') {
			s = tmpl;
			add = 1;
			tmpl++;
		} else {
			return -EINVAL;
		}
		if (n + add >= len)
			return -ENAMETOOLONG;
		memcpy(buf + n, s, add);
		n += add;
	}
	buf[n] = '\0';
	return (int)n;
}
