/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core internals shared by manifest.c and limits.c: a table-driven
 * front end to libinih that checks sections and keys, records the first
 * error as "PATH:LINE: message" (ini.c), the value parsers both files use
 * (values.c) and the template check (template.c).
 * Not for the daemon or the CLI: use broker.h.
 */
#ifndef DBK_CORE_INTERNAL_H
#define DBK_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/devbroker.h>

struct dbk_ini;
struct dbk_rights;

#define DBK_KEY_MULTI		(1u << 0)	/* may be repeated: values accumulate */
#define DBK_KEY_REQUIRED	(1u << 1)
#define DBK_KEY_EMPTY_OK	(1u << 2)	/* an empty value is allowed ("none") */

struct dbk_ini_key {
	const char *section;
	const char *name;
	/* Store @value into ini->obj; on error call dbk_ini_fail() and return -1. */
	int (*parse)(struct dbk_ini *ini, const char *value);
	unsigned int flags;
	const char *example;	/* "Name=edu": suggested when the key is missing */
};

#define DBK_INI_MAX_KEYS	48
#define DBK_INI_ERR_MAX		256

struct dbk_ini {
	/* set by the caller */
	const char *path;
	const char *const *sections;		/* NULL-terminated */
	const struct dbk_ini_key *keys;
	unsigned int nkeys;			/* <= DBK_INI_MAX_KEYS */
	void *obj;				/* what the parse functions fill */
	/* state */
	FILE *f;
	char *buf;
	size_t bufsz;
	int read_errno;
	unsigned int lineno;			/* line being parsed */
	const struct dbk_ini_key *key;		/* key being parsed */
	unsigned int key_line[DBK_INI_MAX_KEYS];	/* first line of each key, 0: absent */
	unsigned int err_line;
	bool failed;
	char err[DBK_INI_ERR_MAX];		/* the first error, "PATH:LINE: message" */
};

/**
 * Parse ini->path.  Returns 0, -EINVAL when the content is wrong, -errno
 * when the file cannot be read (ini->err is set in both cases).  A missing
 * file gives -ENOENT.  Required keys are checked here.
 */
int dbk_ini_parse(struct dbk_ini *ini);

/** Record an error at @line (0: the whole file), unless one is recorded already. */
void dbk_ini_error(struct dbk_ini *ini, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Same, at the current line; returns -1 for the parse functions. */
int dbk_ini_fail(struct dbk_ini *ini, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** The line where @name (any section) first appeared, 0 if absent. */
unsigned int dbk_ini_line(const struct dbk_ini *ini, const char *name);
/** Append to the string in @buf (of @len bytes), cutting what does not fit. */
void dbk_append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Value parsers: 0 or -1 with the error recorded (naming ini->key). */
int dbk_ini_uint(struct dbk_ini *ini, const char *s, uint64_t min, uint64_t max, uint64_t *v);
int dbk_ini_size(struct dbk_ini *ini, const char *s, uint64_t max, uint64_t *v);
int dbk_ini_bool(struct dbk_ini *ini, const char *s, bool *b);
int dbk_ini_bars(struct dbk_ini *ini, const char *s, uint32_t *mask);
int dbk_ini_irqs(struct dbk_ini *ini, const char *s, uint32_t *mask);
int dbk_ini_mode(struct dbk_ini *ini, const char *s, unsigned int *mode);
int dbk_ini_name(struct dbk_ini *ini, const char *s, char *out, size_t outlen);
/* USBRequests=: "standard class vendor" (or empty: none) into a DBK_USB_* set. */
int dbk_ini_usb_types(struct dbk_ini *ini, const char *s, uint32_t *types);
/*
 * USBDenyRequests=: "0x21:0x01 0x20/0xe0:0x01 0x40:* dfu-dnload", appended
 * to @r (duplicates dropped), at most @max rules in all.
 */
int dbk_ini_usb_deny(struct dbk_ini *ini, const char *s, struct dbk_rights *r, unsigned int max);
/* Split @s on white space and commas into @tok (in @copy); the count or -1. */
int dbk_ini_split(struct dbk_ini *ini, const char *s, char *copy, size_t copylen,
		  char **tok, unsigned int max);
/* A template's specifiers are all known (%i %d %s %%): 0 or -1. */
int dbk_ini_template(struct dbk_ini *ini, const char *s);

/* Plain parsers, no messages: 0, -EINVAL or -ERANGE. */
int dbk_parse_u64(const char *s, uint64_t *v);
int dbk_parse_size(const char *s, uint64_t *v);
bool dbk_valid_name(const char *s);

/* The module's limits: <linux/devbroker.h> (DBK_NUM_BARS, DBK_MAX_*). */
#define DBK_ALL_BARS		((1u << DBK_NUM_BARS) - 1)
#define DBK_ALL_IRQS		(DBK_IRQ_INTX | DBK_IRQ_MSI | DBK_IRQ_MSIX)

#endif /* DBK_CORE_INTERNAL_H */
