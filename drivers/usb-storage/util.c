/* SPDX-License-Identifier: GPL-2.0-only */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

bool usbs_quiet;

void usbs_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (usbs_quiet)
		return;
	/* One write per line: drivers share the broker's log. */
	n = snprintf(line, sizeof(line), "usb-storage: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
