// SPDX-License-Identifier: LGPL-2.1-or-later
/* Kernel uevents (netlink), for hotplug without udevd. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "daemon.h"

int dbk_uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void dbk_uevent_key(const char *kv, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	if (!strncmp(kv, key, kl) && kv[kl] == '=')
		snprintf(out, len, "%s", kv + kl + 1);
}

int dbk_uevent_read(int fd, char *action, size_t alen, char *subsystem, size_t slen,
		    char *devpath, size_t plen, char *devname, size_t nlen)
{
	char buf[8192];
	struct sockaddr_nl sa;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
			      .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &msg, 0);
	char *p;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* Only the kernel's messages (pid 0), never a forged one from userspace. */
	if (sa.nl_pid != 0 || !strchr(buf, '@'))
		return -1;
	action[0] = subsystem[0] = devpath[0] = devname[0] = 0;
	for (p = buf; p < buf + n; p += strlen(p) + 1) {
		dbk_uevent_key(p, "ACTION", action, alen);
		dbk_uevent_key(p, "SUBSYSTEM", subsystem, slen);
		dbk_uevent_key(p, "DEVPATH", devpath, plen);
		dbk_uevent_key(p, "DEVNAME", devname, nlen);
	}
	return 1;
}
