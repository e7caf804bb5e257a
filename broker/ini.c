// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The INI front end that manifests and the limits file share
 * (core-internal.h).  libinih does the INI syntax.  Around it: a line
 * reader that counts lines (so every message carries PATH:LINE), drops
 * leading white space (so an indented line is never taken as a
 * continuation of the previous value), refuses lines longer than inih's
 * buffer instead of letting it split them, and checks section names; a
 * handler that dispatches on a key table and refuses unknown and duplicate
 * keys.  Only the first error is kept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "broker.h"
#include "core-internal.h"

static void verror(struct dbk_ini *ini, unsigned int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void verror(struct dbk_ini *ini, unsigned int line, const char *fmt, va_list ap)
{
	int n;

	if (ini->failed)
		return;
	ini->failed = true;
	ini->err_line = line;
	n = snprintf(ini->err, sizeof(ini->err), "%s:%u: ", ini->path, line);
	if (n < 0 || (size_t)n >= sizeof(ini->err))
		return;
	vsnprintf(ini->err + n, sizeof(ini->err) - (size_t)n, fmt, ap);
}

void dbk_ini_error(struct dbk_ini *ini, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(ini, line, fmt, ap);
	va_end(ap);
}

int dbk_ini_fail(struct dbk_ini *ini, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(ini, ini->lineno, fmt, ap);
	va_end(ap);
	return -1;
}

unsigned int dbk_ini_line(const struct dbk_ini *ini, const char *name)
{
	unsigned int i;

	for (i = 0; i < ini->nkeys; i++)
		if (!strcmp(ini->keys[i].name, name))
			return ini->key_line[i];
	return 0;
}

void dbk_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* "[Driver], [Match] and [Rights]" */
static void list_sections(const struct dbk_ini *ini, char *buf, size_t len)
{
	unsigned int i, n = 0;

	buf[0] = '\0';
	while (ini->sections[n])
		n++;
	for (i = 0; i < n; i++)
		dbk_append(buf, len, "%s[%s]", i == 0 ? "" : i + 1 == n ? " and " : ", ",
		       ini->sections[i]);
}

static const char *find_section(const struct dbk_ini *ini, const char *s, size_t len,
				bool icase)
{
	unsigned int i;

	for (i = 0; ini->sections[i]; i++)
		if (strlen(ini->sections[i]) == len &&
		    !(icase ? strncasecmp : strncmp)(ini->sections[i], s, len))
			return ini->sections[i];
	return NULL;
}

/* A "[Name]" line, as inih will read it: report names we do not know. */
static void check_section_line(struct dbk_ini *ini, const char *line)
{
	const char *end = strchr(line, ']'), *icase;
	char known[128];
	size_t len;

	if (!end)
		return;		/* inih reports the syntax error */
	len = (size_t)(end - line - 1);
	if (find_section(ini, line + 1, len, false))
		return;
	list_sections(ini, known, sizeof(known));
	icase = find_section(ini, line + 1, len, true);
	if (icase)
		dbk_ini_error(ini, ini->lineno, "unknown section [%.*s]; write [%s] (names are case-sensitive)",
			      (int)len, line + 1, icase);
	else
		dbk_ini_error(ini, ini->lineno, "unknown section [%.*s]; the sections are %s",
			      (int)len, line + 1, known);
}

static char *reader(char *str, int num, void *stream)
{
	struct dbk_ini *ini = stream;
	ssize_t n;
	size_t len;
	char *p;

	errno = 0;
	n = getline(&ini->buf, &ini->bufsz, ini->f);
	if (n < 0) {
		if (ferror(ini->f))
			ini->read_errno = errno ? errno : EIO;
		return NULL;
	}
	ini->lineno++;
	p = ini->buf;
	if (ini->lineno == 1 && !strncmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strlen(p);
	if (num < 2 || len + 1 > (size_t)num) {
		dbk_ini_error(ini, ini->lineno, "line too long (at most %d characters); shorten it",
			      num - 2);
		p = (char *)"\n";
		len = 1;
	} else if (*p == '[') {
		check_section_line(ini, p);
	}
	memcpy(str, p, len + 1);
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct dbk_ini *ini = user;
	const struct dbk_ini_key *k = NULL, *other = NULL, *icase = NULL;
	unsigned int i, idx;
	char buf[160];

	if (!find_section(ini, section, strlen(section), false)) {
		if (*section)
			return 0;	/* the reader reported the section */
		for (i = 0; i < ini->nkeys && !other; i++)
			if (!strcmp(ini->keys[i].name, name))
				other = &ini->keys[i];
		dbk_ini_fail(ini, "%s= is outside any section; put it under [%s]", name,
			     other ? other->section : ini->sections[0]);
		return 0;
	}
	for (i = 0; i < ini->nkeys && !k; i++) {
		const struct dbk_ini_key *c = &ini->keys[i];

		if (!strcmp(c->name, name)) {
			if (!strcmp(c->section, section))
				k = c;
			else
				other = c;
		} else if (!strcasecmp(c->name, name) && !strcmp(c->section, section)) {
			icase = c;
		}
	}
	if (!k) {
		if (other) {
			dbk_ini_fail(ini, "%s= belongs in [%s], not in [%s]; move it",
				     name, other->section, section);
		} else if (icase) {
			dbk_ini_fail(ini, "unknown key %s= in [%s]; write %s= (keys are case-sensitive)",
				     name, section, icase->name);
		} else {
			buf[0] = '\0';
			for (i = 0; i < ini->nkeys; i++)
				if (!strcmp(ini->keys[i].section, section))
					dbk_append(buf, sizeof(buf), "%s%s=", buf[0] ? " " : "",
					       ini->keys[i].name);
			dbk_ini_fail(ini, "unknown key %s= in [%s]; the keys of [%s] are %s",
				     name, section, section, buf);
		}
		return 0;
	}
	idx = (unsigned int)(k - ini->keys);
	if (ini->key_line[idx] && !(k->flags & DBK_KEY_MULTI)) {
		dbk_ini_fail(ini, "duplicate %s= (already set on line %u); set it once",
			     name, ini->key_line[idx]);
		return 0;
	}
	if (!ini->key_line[idx])
		ini->key_line[idx] = ini->lineno;
	ini->key = k;
	if (!*value && !(k->flags & DBK_KEY_EMPTY_OK)) {
		dbk_ini_fail(ini, "%s= is empty; write %s, or leave the line out", name, k->example);
		return 0;
	}
	if (k->parse(ini, value) < 0) {
		if (ini->err_line == ini->lineno && strchr(value, '#'))
			dbk_append(ini->err, sizeof(ini->err),
			       " (a # comment must be on a line of its own)");
		return 0;
	}
	return 1;
}

int dbk_ini_parse(struct dbk_ini *ini)
{
	unsigned int i;
	int r, e;

	ini->lineno = 0;
	ini->failed = false;
	ini->err[0] = '\0';
	memset(ini->key_line, 0, sizeof(ini->key_line));
	if (ini->nkeys > DBK_INI_MAX_KEYS) {	/* a build error, said as one */
		dbk_ini_error(ini, 0, "%u keys known, more than DBK_INI_MAX_KEYS (%d): raise it",
			      ini->nkeys, DBK_INI_MAX_KEYS);
		return -EINVAL;
	}
	ini->f = fopen(ini->path, "re");
	if (!ini->f) {
		e = errno;
		dbk_ini_error(ini, 0, "cannot read the file: %s", strerror(e));
		return -e;
	}
	r = ini_parse_stream(reader, ini, handler, ini);
	fclose(ini->f);
	ini->f = NULL;
	free(ini->buf);
	ini->buf = NULL;
	ini->bufsz = 0;
	if (ini->read_errno) {
		e = ini->read_errno;
		ini->failed = false;
		dbk_ini_error(ini, 0, "cannot read the file: %s", strerror(e));
		return -e;
	}
	if (r < 0) {
		ini->failed = false;
		dbk_ini_error(ini, 0, "out of memory");
		return -ENOMEM;
	}
	/* A line inih could not parse, before any error of ours. */
	if (r > 0 && (!ini->failed || (unsigned int)r < ini->err_line)) {
		ini->failed = false;
		dbk_ini_error(ini, (unsigned int)r,
			      "cannot parse this line; write [Section], KEY=VALUE, or a comment starting with # or ;");
	}
	for (i = 0; i < ini->nkeys; i++)
		if ((ini->keys[i].flags & DBK_KEY_REQUIRED) && !ini->key_line[i])
			dbk_ini_error(ini, 0, "missing %s= in [%s]; add %s", ini->keys[i].name,
				      ini->keys[i].section, ini->keys[i].example);
	return ini->failed ? -EINVAL : 0;
}
