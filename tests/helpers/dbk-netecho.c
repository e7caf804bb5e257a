// SPDX-License-Identifier: GPL-2.0-only
/*
 * dbk-netecho: a fake network driver for the network frontend's VM test
 * (tests/vm/broker-net.sh), started by devbrokerd with Network= on any
 * device (it never touches the device).  It takes the TAP through the
 * hand-over and <devbroker/net.h>, sets the MAC 02:00:00:db:00:01 and the
 * carrier on, and plays a host at the IPv4 address given: it answers ARP
 * requests for it and ICMP echo requests to it, so `ping ADDR` through the
 * interface proves frames flow both ways.  It also tries what the sandbox
 * must refuse (TUNSETPERSIST, TUNSETOWNER, TUNSETVNETHDRSZ, TUNSETVNETLE)
 * and says what happened on stderr (devbrokerd's log).  Counts on
 * SIGTERM; exits 0.
 *
 * With --offload it sets the offloads CSUM|TSO4 and reads with
 * dbk_net_read_meta(), logging the first frame that asks for its checksum
 * to be completed.  On SIGUSR1 it writes, to the host it last answered:
 * three malformed frames through dbk_net_write_meta() (TCPV4 with gso_size
 * 0; NEEDS_CSUM with csum_start past the frame's end; gso_type 0x7f), each
 * one's result logged (the last also with a frame the kernel cannot read:
 * EINVAL, not EFAULT, says libdev refused it), and three UDP datagrams to
 * port 7777: "lie-plain" with a corrupt checksum, "lie-partial" with the
 * same marked NEEDS_CSUM, and "end" without a checksum (0).
 *
 * usage: dbk-netecho [--offload] IPV4
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include <devbroker/handover.h>
#include <devbroker/net.h>

static const uint8_t my_mac[DBK_NET_ALEN] = { 0x02, 0x00, 0x00, 0xdb, 0x00, 0x01 };
static volatile sig_atomic_t stop, poked;
/* The host whose echo request was answered last: where SIGUSR1's frames go. */
static uint8_t peer_mac[DBK_NET_ALEN], peer_ip[4];
static bool peer_known;
static uint8_t frame[DBK_NET_GSO_FRAME_MAX];

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	poked = 1;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An ARP request for @ip: the reply, in place.  1 if answered. */
static int arp(uint8_t *f, int n, const uint8_t ip[4])
{
	uint8_t *a = f + 14;

	if (n < 42 || memcmp(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8) || memcmp(a + 24, ip, 4))
		return 0;
	memcpy(f, f + 6, 6);
	memcpy(f + 6, my_mac, 6);
	a[7] = 2;				/* reply */
	memcpy(a + 18, a + 8, 10);		/* target = the sender */
	memcpy(a + 8, my_mac, 6);
	memcpy(a + 14, ip, 4);
	return 1;
}

/* An ICMP echo request to @ip: the reply, in place.  1 if answered. */
static int echo(uint8_t *f, int n, const uint8_t ip[4])
{
	uint8_t *h = f + 14, *icmp, tmp[4];
	unsigned int ihl, tot;
	uint16_t c;

	if (n < 34 || (h[0] >> 4) != 4 || h[9] != 1 || memcmp(h + 16, ip, 4))
		return 0;
	ihl = (h[0] & 15) * 4u;
	tot = (unsigned int)(h[2] << 8 | h[3]);
	if (ihl < 20 || tot < ihl + 8 || 14 + tot > (unsigned int)n)
		return 0;
	icmp = h + ihl;
	if (icmp[0] != 8)
		return 0;
	memcpy(peer_mac, f + 6, 6);
	memcpy(peer_ip, h + 12, 4);
	peer_known = true;
	memcpy(f, f + 6, 6);
	memcpy(f + 6, my_mac, 6);
	memcpy(tmp, h + 12, 4);
	memcpy(h + 12, h + 16, 4);
	memcpy(h + 16, tmp, 4);
	h[8] = 64;
	h[10] = h[11] = 0;
	c = csum(h, ihl);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	icmp[0] = 0;
	icmp[2] = icmp[3] = 0;
	c = csum(icmp, tot - ihl);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	return 1;
}

/*
 * An IPv4 frame from @ip to the peer: @proto, then @l4len bytes of @l4
 * (its checksum as given).  Its length.
 */
static size_t ip_frame(uint8_t *f, const uint8_t ip[4], uint8_t proto, const uint8_t *l4,
		       size_t l4len)
{
	uint8_t *h = f + 14;
	size_t tot = 20 + l4len;
	uint16_t c;

	memcpy(f, peer_mac, 6);
	memcpy(f + 6, my_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (uint8_t)(tot >> 8);
	h[3] = (uint8_t)tot;
	h[6] = 0x40;				/* DF */
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, ip, 4);
	memcpy(h + 16, peer_ip, 4);
	c = csum(h, 20);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	memcpy(h + 20, l4, l4len);
	return 14 + tot;
}

/* A UDP datagram 7777 -> 7777 carrying @msg, its checksum field @check. */
static size_t udp_frame(uint8_t *f, const uint8_t ip[4], const char *msg, uint16_t check)
{
	uint8_t u[64] = { 0x1e, 0x61, 0x1e, 0x61 };
	size_t len = 8 + strlen(msg);

	u[4] = (uint8_t)(len >> 8);
	u[5] = (uint8_t)len;
	u[6] = (uint8_t)(check >> 8);
	u[7] = (uint8_t)check;
	memcpy(u + 8, msg, strlen(msg));
	return ip_frame(f, ip, 17, u, len);
}

static void say(const char *what, int r)
{
	fprintf(stderr, "dbk-netecho: %s: %s\n", what, r ? strerror(-r) : "written");
}

/* SIGUSR1: the malformed frames, and the UDP datagrams with a lying header. */
static void poke(struct dbk_net *net, const uint8_t ip[4])
{
	struct dbk_net_meta m;
	uint8_t f[128], tcp[20 + 64] = { 0x1e, 0x61, 0x1e, 0x61, [12] = 0x50, [13] = 0x18,
					 [14] = 0xff, [15] = 0xff };
	void *unreadable;
	size_t n;
	int r, r2;

	if (!peer_known) {
		fprintf(stderr, "dbk-netecho: SIGUSR1: no peer yet (no echo request answered)\n");
		return;
	}
	n = ip_frame(f, ip, 6, tcp, sizeof(tcp));
	m = (struct dbk_net_meta){ .flags = DBK_NET_META_NEEDS_CSUM, .gso_type = DBK_NET_GSO_TCPV4,
				   .hdr_len = 54, .gso_size = 0, .csum_start = 34,
				   .csum_offset = 16 };
	say("malformed: TCPV4 with gso_size 0", dbk_net_write_meta(net, &m, f, n));
	n = udp_frame(f, ip, "malformed", 0);
	m = (struct dbk_net_meta){ .flags = DBK_NET_META_NEEDS_CSUM,
				   .csum_start = (uint16_t)(n + 10), .csum_offset = 6 };
	say("malformed: NEEDS_CSUM with csum_start past the end", dbk_net_write_meta(net, &m, f, n));
	m = (struct dbk_net_meta){ .gso_type = 0x7f };
	say("malformed: gso_type 0x7f", dbk_net_write_meta(net, &m, f, n));
	/*
	 * Whether that one reached the kernel: a frame it cannot read is
	 * -EFAULT there (copied before the header is parsed), so -EINVAL for
	 * it is libdev's own.
	 */
	unreadable = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unreadable != MAP_FAILED) {
		r = dbk_net_write(net, unreadable, 60);
		r2 = dbk_net_write_meta(net, &m, unreadable, 60);
		fprintf(stderr, "dbk-netecho: an unreadable frame: %s; with gso_type 0x7f: %s\n",
			r ? strerror(-r) : "written", r2 ? strerror(-r2) : "written");
		munmap(unreadable, 4096);
	}
	/* 0xdead: a wrong checksum (lie-plain's is dropped, counted). */
	n = udp_frame(f, ip, "lie-plain", 0xdead);
	say("lie: a corrupt UDP checksum, plain", dbk_net_write(net, f, n));
	n = udp_frame(f, ip, "lie-partial", 0xdead);
	m = (struct dbk_net_meta){ .flags = DBK_NET_META_NEEDS_CSUM, .csum_start = 34,
				   .csum_offset = 6 };
	say("lie: a corrupt UDP checksum marked NEEDS_CSUM", dbk_net_write_meta(net, &m, f, n));
	n = udp_frame(f, ip, "end", 0);
	say("lie: end (no checksum)", dbk_net_write(net, f, n));
}

int main(int argc, char **argv)
{
	unsigned long frames = 0, replies = 0, dropped = 0;
	struct dbk_net_meta meta;
	struct dbk_handover *h;
	bool offload = false, told = false;
	struct dbk_net *net;
	struct pollfd pfd;
	uint8_t ip[4];
	int r, n, hdrsz = 10, le = 0;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--offload")) {
		offload = true;
		argv++;
		argc--;
	}
	if (argc != 2 || inet_pton(AF_INET, argv[1], ip) != 1) {
		fprintf(stderr, "usage: dbk-netecho [--offload] IPV4\n");
		return 2;
	}
	r = dbk_handover_get(&h);
	if (!r)
		r = dbk_net_new(dbk_handover_take_fd(h, DBK_HANDOVER_NET), &net);
	if (r) {
		fprintf(stderr, "dbk-netecho: no network interface handed over: %s\n", strerror(-r));
		return 1;
	}
	dbk_handover_free(h);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	/* What the sandbox refuses: the interface's life and owner are devbrokerd's. */
	r = ioctl(dbk_net_fd(net), TUNSETPERSIST, 1UL);
	fprintf(stderr, "dbk-netecho: TUNSETPERSIST: %s\n", r ? strerror(errno) : "allowed");
	r = ioctl(dbk_net_fd(net), TUNSETOWNER, (unsigned long)getuid());
	fprintf(stderr, "dbk-netecho: TUNSETOWNER: %s\n", r ? strerror(errno) : "allowed");
	/* The header's size and byte order are devbrokerd's (the values it set: no harm if allowed). */
	r = ioctl(dbk_net_fd(net), TUNSETVNETHDRSZ, &hdrsz);
	fprintf(stderr, "dbk-netecho: TUNSETVNETHDRSZ: %s\n", r ? strerror(errno) : "allowed");
	r = ioctl(dbk_net_fd(net), TUNSETVNETLE, &le);
	fprintf(stderr, "dbk-netecho: TUNSETVNETLE: %s\n", r ? strerror(errno) : "allowed");
	/* A log line per frame, unlimited: refused. */
	r = ioctl(dbk_net_fd(net), TUNSETDEBUG, 0UL);
	fprintf(stderr, "dbk-netecho: TUNSETDEBUG: %s\n", r ? strerror(errno) : "allowed");
	if (offload) {
		r = dbk_net_set_offloads(net, DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4);
		fprintf(stderr, "dbk-netecho: offloads CSUM|TSO4: %s\n", r ? strerror(-r) : "set");
		if (r == -EOPNOTSUPP) {
			/* No vnet header (NetworkOffloads=no): nor behind libdev's back. */
			r = ioctl(dbk_net_fd(net), TUNSETOFFLOAD, 0UL);
			fprintf(stderr, "dbk-netecho: raw TUNSETOFFLOAD: %s\n",
				r ? strerror(errno) : "allowed");
			offload = false;
		} else if (r) {
			return 1;
		}
	}
	r = dbk_net_set_mac(net, my_mac);
	if (!r)
		r = dbk_net_set_carrier(net, true);
	if (r) {
		fprintf(stderr, "dbk-netecho: %s: %s\n", dbk_net_name(net), strerror(-r));
		return 1;
	}
	fprintf(stderr, "dbk-netecho: serving %s as %s\n", dbk_net_name(net), argv[1]);
	pfd.fd = dbk_net_fd(net);
	pfd.events = POLLIN;
	while (!stop) {
		if (poked) {
			poked = 0;
			poke(net, ip);
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if (offload) {
			n = dbk_net_read_meta(net, &meta, frame, sizeof(frame));
			if (n > 0 && (meta.flags || meta.gso_type) && !told) {
				fprintf(stderr, "dbk-netecho: a frame to complete: flags %u gso_type %u csum_start %u csum_offset %u, IP protocol %u\n",
					meta.flags, meta.gso_type, meta.csum_start,
					meta.csum_offset, n >= 34 ? frame[23] : 0);
				told = true;
			}
		} else {
			n = dbk_net_read(net, frame, DBK_NET_FRAME_MAX);
		}
		if (n == -EAGAIN)
			continue;
		if (n < 0) {
			dropped++;
			if (n != -EMSGSIZE)
				break;
			continue;
		}
		frames++;
		if (arp(frame, n, ip) || echo(frame, n, ip)) {
			if (dbk_net_write(net, frame, (size_t)n) == 0)
				replies++;
		}
	}
	fprintf(stderr, "dbk-netecho: %lu frames, %lu replies, %lu dropped\n", frames, replies,
		dropped);
	dbk_net_free(net);
	return 0;
}
