// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The network frontend (<devbroker/net.h>): frames on the tun fd that
 * devbrokerd attached to a TAP interface (IFF_TAP | IFF_NO_PI), the
 * carrier and the MAC address through the tun fd's own ioctls, which need
 * no capability (drivers/net/tun.c: TUNSETCARRIER, SIOCSIFHWADDR).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_arp.h>
#include <linux/if_tun.h>

#include <devbroker/net.h>

#ifndef DBK_EXPORT
#define DBK_EXPORT __attribute__((visibility("default")))
#endif

/* The longest frame a tun write takes: tun_get_user() builds one skb. */
#define NET_WRITE_MAX	65535

struct dbk_net {
	int fd;
	char name[IFNAMSIZ];
};

DBK_EXPORT int dbk_net_new(int fd, struct dbk_net **out)
{
	struct dbk_net *net;
	struct ifreq ifr;
	int fl, ret;

	if (fd < 0)
		return fd;
	if (!out) {
		close(fd);
		return -EINVAL;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* TUNGETIFF: -EBADFD on a tun fd not attached, -ENOTTY on anything else. */
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		ret = errno == ENOMEM ? -ENOMEM : -EBADF;
		goto err;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI) ||
	    (ifr.ifr_flags & IFF_VNET_HDR)) {
		ret = -EPROTO;
		goto err;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		goto err;
	}
	net = calloc(1, sizeof(*net));
	if (!net) {
		ret = -ENOMEM;
		goto err;
	}
	net->fd = fd;
	memcpy(net->name, ifr.ifr_name, IFNAMSIZ - 1);
	*out = net;
	return 0;
err:
	close(fd);
	return ret;
}

DBK_EXPORT void dbk_net_free(struct dbk_net *net)
{
	if (!net)
		return;
	close(net->fd);
	free(net);
}

DBK_EXPORT int dbk_net_fd(const struct dbk_net *net)
{
	return net ? net->fd : -EINVAL;
}

DBK_EXPORT const char *dbk_net_name(const struct dbk_net *net)
{
	return net ? net->name : "";
}

DBK_EXPORT int dbk_net_read(struct dbk_net *net, void *buf, size_t len)
{
	unsigned char spare;
	struct iovec iov[2] = { { buf, len }, { &spare, 1 } };
	ssize_t n;

	if (!net || !buf)
		return -EINVAL;
	if (len > NET_WRITE_MAX)
		iov[0].iov_len = len = NET_WRITE_MAX;
	/*
	 * A tun read returns at most the room it was given, whatever the
	 * frame's length: one byte more than @len says the frame did not fit.
	 * It is dropped either way (one read, one frame).
	 */
	n = readv(net->fd, iov, 2);
	if (n < 0)
		return -errno;
	if ((size_t)n > len || n < DBK_NET_FRAME_MIN)
		return -EMSGSIZE;
	return (int)n;
}

DBK_EXPORT int dbk_net_write(struct dbk_net *net, const void *frame, size_t len)
{
	ssize_t n;

	if (!net || !frame)
		return -EINVAL;
	if (len < DBK_NET_FRAME_MIN || len > NET_WRITE_MAX)
		return -EMSGSIZE;
	n = write(net->fd, frame, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

DBK_EXPORT int dbk_net_set_carrier(struct dbk_net *net, bool up)
{
	unsigned int on = up;

	if (!net)
		return -EINVAL;
	return ioctl(net->fd, TUNSETCARRIER, &on) < 0 ? -errno : 0;
}

DBK_EXPORT int dbk_net_set_mac(struct dbk_net *net, const uint8_t mac[DBK_NET_ALEN])
{
	static const uint8_t zero[DBK_NET_ALEN];
	struct ifreq ifr;

	if (!net || !mac || (mac[0] & 1) || !memcmp(mac, zero, DBK_NET_ALEN))
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, DBK_NET_ALEN);
	return ioctl(net->fd, SIOCSIFHWADDR, &ifr) < 0 ? -errno : 0;
}

DBK_EXPORT int dbk_net_get_mac(struct dbk_net *net, uint8_t mac[DBK_NET_ALEN])
{
	struct ifreq ifr;

	if (!net || !mac)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(net->fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, DBK_NET_ALEN);
	return 0;
}
