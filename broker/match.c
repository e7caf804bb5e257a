// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which driver a device gets: fnmatch(3) of the manifests' modalias globs
 * (Class=, USBDevice= and USBInterface= lines are globs too, see
 * manifest.c) against the device's modalias (a USB interface's, for USB),
 * first by name, skipping invalid and denied manifests.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"

void dbk_pci_modalias(const struct dbk_devinfo *dev, char *buf, size_t len)
{
	if (!len)
		return;
	snprintf(buf, len, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
		 (unsigned int)dev->vendor, (unsigned int)dev->device,
		 (unsigned int)dev->subvendor, (unsigned int)dev->subdevice,
		 (unsigned int)(dev->class_code >> 16) & 0xff,
		 (unsigned int)(dev->class_code >> 8) & 0xff,
		 (unsigned int)dev->class_code & 0xff);
}

void dbk_usb_modalias(uint16_t vendor, uint16_t product, uint16_t bcd_device,
		      uint8_t dev_class, uint8_t dev_subclass, uint8_t dev_protocol,
		      const struct dbk_usb_iface *intf, char *buf, size_t len)
{
	if (!len)
		return;
	snprintf(buf, len, "usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02Xic%02Xisc%02Xip%02Xin%02X",
		 vendor, product, bcd_device, dev_class, dev_subclass, dev_protocol,
		 intf->cls, intf->subclass, intf->protocol, intf->number);
}

bool dbk_manifest_matches(const struct dbk_manifest *m, const struct dbk_devinfo *dev)
{
	char alias[DBK_PATH_MAX];
	const char *s = dev->modalias;
	unsigned int i;

	if (!m->valid || m->bus != dev->bus)
		return false;
	if (!s[0]) {
		if (dev->bus != DBK_BUS_PCI)
			return false;
		dbk_pci_modalias(dev, alias, sizeof(alias));
		s = alias;
	}
	for (i = 0; i < m->nr_match && i < DBK_MAX_MATCH; i++)
		if (fnmatch(m->match[i], s, 0) == 0)
			return true;
	return false;
}

static bool denied(const struct dbk_limits *l, const char *name)
{
	unsigned int i;

	for (i = 0; l && i < l->nr_deny && i < DBK_MAX_MATCH; i++)
		if (!strcmp(l->deny_drivers[i], name))
			return true;
	return false;
}

const struct dbk_manifest *dbk_match(const struct dbk_manifest *ms, int n,
				     const struct dbk_limits *l, const struct dbk_devinfo *dev)
{
	const struct dbk_manifest *best = NULL;
	int i;

	for (i = 0; i < n; i++) {
		const struct dbk_manifest *m = &ms[i];

		if (!m->valid || denied(l, m->name) || !dbk_manifest_matches(m, dev))
			continue;
		if (!best || strcmp(m->name, best->name) < 0)
			best = m;
	}
	return best;
}
