// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The network frontend (<devbroker/net.h>): frames on the tun fd that
 * devbrokerd attached to a TAP interface (IFF_TAP | IFF_NO_PI, and
 * IFF_VNET_HDR: each frame behind a struct virtio_net_hdr), the carrier,
 * the MAC address and the offloads through the tun fd's own ioctls, which
 * need no capability (drivers/net/tun.c: TUNSETCARRIER, SIOCSIFHWADDR,
 * TUNSETOFFLOAD).  A TAP without the header (made by someone else) works
 * too, without offloads.
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
#include <linux/virtio_net.h>

#include <devbroker/net.h>

#ifndef DBK_EXPORT
#define DBK_EXPORT __attribute__((visibility("default")))
#endif

/* The longest frame a tun write takes: tun_get_user() builds one skb. */
#define NET_WRITE_MAX	65535

/* struct dbk_net_meta is the kernel's header, read and written in place. */
_Static_assert(sizeof(struct dbk_net_meta) == sizeof(struct virtio_net_hdr), "meta size");
_Static_assert(offsetof(struct dbk_net_meta, gso_type) == offsetof(struct virtio_net_hdr, gso_type) &&
	       offsetof(struct dbk_net_meta, hdr_len) == offsetof(struct virtio_net_hdr, hdr_len) &&
	       offsetof(struct dbk_net_meta, gso_size) == offsetof(struct virtio_net_hdr, gso_size) &&
	       offsetof(struct dbk_net_meta, csum_start) == offsetof(struct virtio_net_hdr, csum_start) &&
	       offsetof(struct dbk_net_meta, csum_offset) == offsetof(struct virtio_net_hdr, csum_offset),
	       "meta layout");
_Static_assert(DBK_NET_META_NEEDS_CSUM == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	       DBK_NET_GSO_NONE == VIRTIO_NET_HDR_GSO_NONE &&
	       DBK_NET_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4 &&
	       DBK_NET_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6, "meta values");
_Static_assert(DBK_NET_OFFLOAD_CSUM == TUN_F_CSUM && DBK_NET_OFFLOAD_TSO4 == TUN_F_TSO4 &&
	       DBK_NET_OFFLOAD_TSO6 == TUN_F_TSO6, "offload values");
/*
 * The header is in native byte order: legacy virtio, little-endian
 * machines (devbrokerd resets TUNSETVNETLE/BE, which the sandbox refuses).
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vnet header byte order");

struct dbk_net {
	int fd;
	bool vnet;		/* IFF_VNET_HDR: a struct virtio_net_hdr before each frame */
	unsigned int offloads;	/* DBK_NET_OFFLOAD_*, as last set */
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
	/*
	 * TUNGETIFF: -EBADFD on a tun fd not attached, -ENOTTY on anything
	 * else.  Its IFF_NO_PI cannot be trusted: the kernel reports
	 * IFF_NOFILTER, the same bit, for any queue without a socket filter,
	 * so a TAP with packet information (never devbrokerd's) passes.
	 */
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		ret = errno == ENOMEM ? -ENOMEM : -EBADF;
		goto err;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI)) {
		ret = -EPROTO;
		goto err;
	}
	/* The header's size is the device's: it must be the one we parse. */
	if (ifr.ifr_flags & IFF_VNET_HDR) {
		int sz = 0;

		if (ioctl(fd, TUNGETVNETHDRSZ, &sz) < 0 || sz != (int)sizeof(struct dbk_net_meta)) {
			ret = -EPROTO;
			goto err;
		}
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
	net->vnet = ifr.ifr_flags & IFF_VNET_HDR;
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

/*
 * One frame into @buf, its header (if the device has one) into @meta: the
 * frame's length, or a negative errno.  A tun read returns at most the
 * room it was given, whatever the frame's length: one byte more than @len
 * says the frame did not fit.  It is dropped either way (one read, one
 * frame).
 */
static int dbk_net_recv(struct dbk_net *net, struct dbk_net_meta *meta, void *buf, size_t len)
{
	unsigned char spare;
	struct iovec iov[3] = { { meta, sizeof(*meta) }, { buf, len }, { &spare, 1 } };
	size_t hdr = net->vnet ? sizeof(*meta) : 0;
	ssize_t n;

	if (len > DBK_NET_GSO_FRAME_MAX)
		iov[1].iov_len = len = DBK_NET_GSO_FRAME_MAX;
	memset(meta, 0, sizeof(*meta));
	n = readv(net->fd, net->vnet ? iov : iov + 1, net->vnet ? 3 : 2);
	if (n < 0)
		return -errno;
	if ((size_t)n < hdr || (size_t)n - hdr > len || (size_t)n - hdr < DBK_NET_FRAME_MIN)
		return -EMSGSIZE;
	return (int)((size_t)n - hdr);
}

DBK_EXPORT int dbk_net_read(struct dbk_net *net, void *buf, size_t len)
{
	struct dbk_net_meta meta;
	int n;

	if (!net || !buf)
		return -EINVAL;
	/* Frames may come unchecksummed or unsegmented: only dbk_net_read_meta() says so. */
	if (net->offloads)
		return -EOPNOTSUPP;
	if (len > NET_WRITE_MAX)
		len = NET_WRITE_MAX;
	/*
	 * Without offloads the header says nothing (at most DATA_VALID).  A
	 * frame that asks for one all the same (offloads set behind libdev's
	 * back) is not sent half made: dropped.
	 */
	n = dbk_net_recv(net, &meta, buf, len);
	if (n >= 0 && (meta.flags & DBK_NET_META_NEEDS_CSUM || meta.gso_type != DBK_NET_GSO_NONE))
		return -EMSGSIZE;
	return n;
}

DBK_EXPORT int dbk_net_read_meta(struct dbk_net *net, struct dbk_net_meta *meta, void *buf,
				 size_t len)
{
	if (!net || !meta || !buf)
		return -EINVAL;
	return dbk_net_recv(net, meta, buf, len);
}

/* What a frame's metadata may ask of the system: what the kernel takes from a TAP. */
static bool dbk_net_meta_ok(const struct dbk_net_meta *m)
{
	return !(m->flags & ~DBK_NET_META_NEEDS_CSUM) &&
	       (m->gso_type == DBK_NET_GSO_NONE || m->gso_type == DBK_NET_GSO_TCPV4 ||
		m->gso_type == DBK_NET_GSO_TCPV6);
}

DBK_EXPORT int dbk_net_write_meta(struct dbk_net *net, const struct dbk_net_meta *meta,
				  const void *frame, size_t len)
{
	static const struct dbk_net_meta none;
	struct iovec iov[2] = { { (void *)(meta ? meta : &none), sizeof(none) },
				{ (void *)frame, len } };
	size_t hdr;
	ssize_t n;

	if (!net || !frame || (meta && !dbk_net_meta_ok(meta)))
		return -EINVAL;
	hdr = net->vnet ? sizeof(none) : 0;	/* without the header, none is written */
	if (len < DBK_NET_FRAME_MIN || len > NET_WRITE_MAX)
		return -EMSGSIZE;
	if (!hdr && meta && memcmp(meta, &none, sizeof(none)))
		return -EOPNOTSUPP;
	/* The kernel checks the header against the frame (-EINVAL: tun_get_user()). */
	n = writev(net->fd, hdr ? iov : iov + 1, hdr ? 2 : 1);
	if (n < 0)
		return -errno;
	return (size_t)n == hdr + len ? 0 : -EIO;
}

DBK_EXPORT int dbk_net_write(struct dbk_net *net, const void *frame, size_t len)
{
	return dbk_net_write_meta(net, NULL, frame, len);
}

DBK_EXPORT int dbk_net_set_offloads(struct dbk_net *net, unsigned int offloads)
{
	if (!net || (offloads & ~(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4 |
				  DBK_NET_OFFLOAD_TSO6)))
		return -EINVAL;
	/* Segmentation comes only with checksums (tun_net_fix_features() too). */
	if ((offloads & (DBK_NET_OFFLOAD_TSO4 | DBK_NET_OFFLOAD_TSO6)) &&
	    !(offloads & DBK_NET_OFFLOAD_CSUM))
		return -EINVAL;
	if (!net->vnet)
		return offloads ? -EOPNOTSUPP : 0;
	if (ioctl(net->fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0)
		return -errno;
	net->offloads = offloads;
	return 0;
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
