// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * /proc/PID/mountinfo, read strictly.  Its lines can be as long as a
 * user likes (a FUSE mount through the setuid fusermount3 names its own
 * mount point, subtype and source): a line is read whole with getline(),
 * never cut into pieces that would read as lines of their own, and the
 * numbers are digits only (scanf's %u takes a sign and spaces).
 *
 * The kernel's format (fs/proc_namespace.c show_mountinfo):
 *   ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
 * with space, tab, newline and backslash in paths written as \ooo.
 */
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

/* Digits up to @stop: the number, @*s past @stop; false if anything else is there. */
static bool dbk_mi_number(char **s, char stop, uint64_t max, uint64_t *out)
{
	char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != stop)
		return false;
	*s = p + 1;
	*out = v;
	return true;
}

/* A field up to the next space: @*s past it, or NULL if it is empty or last. */
static char *dbk_mi_field(char **s)
{
	char *start = *s, *sp = strchr(start, ' ');

	if (!sp || sp == start)
		return NULL;
	*sp = 0;
	*s = sp + 1;
	return start;
}

/* A path's \ooo escapes undone, in place; false if it decodes to a NUL. */
static bool dbk_mi_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			if (!*o++)
				return false;
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return true;
}

static bool dbk_mi_parse(char *s, struct dbk_mountinfo *mi)
{
	uint64_t major, minor;
	char *root, *mp;

	if (!dbk_mi_number(&s, ' ', UINT64_MAX, &mi->id) ||
	    !dbk_mi_number(&s, ' ', UINT64_MAX, &mi->parent) ||
	    !dbk_mi_number(&s, ':', 0xfff, &major) ||	/* MAJORBITS - MINORBITS: 12 bits */
	    !dbk_mi_number(&s, ' ', 0xfffff, &minor))	/* MINORBITS: 20 */
		return false;
	root = dbk_mi_field(&s);
	mp = dbk_mi_field(&s);	/* the options follow: never the last field */
	if (!root || !mp || mp[0] != '/' || !dbk_mi_unescape(mp))
		return false;
	mi->major = (unsigned int)major;
	mi->minor = (unsigned int)minor;
	mi->mount_point = mp;
	return true;
}

int dbk_mountinfo_next(struct dbk_mountinfo_reader *r, struct dbk_mountinfo *mi)
{
	ssize_t n;

	while ((n = getline(&r->line, &r->len, r->f)) > 0) {
		/* A NUL inside would hide the rest of the line from the parser. */
		if ((size_t)n != strlen(r->line) || r->line[n - 1] != '\n') {
			r->skipped++;
			continue;
		}
		r->line[n - 1] = 0;
		if (dbk_mi_parse(r->line, mi))
			return 1;
		r->skipped++;
	}
	return 0;
}

void dbk_mountinfo_done(struct dbk_mountinfo_reader *r)
{
	free(r->line);
	r->line = NULL;
	r->len = 0;
}
