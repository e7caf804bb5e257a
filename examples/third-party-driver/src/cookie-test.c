/* SPDX-License-Identifier: MIT */
/*
 * ACME_EDU_COOKIE (acme-edu.h) must be the cookie devbrokerd gives the
 * grants of the driver named DRIVER_NAME (the manifest's Name=): the
 * 64-bit FNV-1a hash of the name (devbrokerctl status shows it).  Else the
 * policy would rule on no grant at all.
 */
#include <inttypes.h>
#include <stdio.h>

#include "acme-edu.h"

int main(void)
{
	const char *s = DRIVER_NAME;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	if (h != ACME_EDU_COOKIE) {
		fprintf(stderr, "the cookie of \"%s\" is 0x%016" PRIx64 ", acme-edu.h says 0x%016llx\n",
			DRIVER_NAME, h, ACME_EDU_COOKIE);
		return 1;
	}
	return 0;
}
