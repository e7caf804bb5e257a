// SPDX-License-Identifier: GPL-2.0-only
/*
 * dbk-netecho: a fake network driver for the network frontend's VM test
 * (tests/vm/broker-net.sh), started by devbrokerd with Network= on any
 * device (it never touches the device).  It takes the TAP through the
 * hand-over and <devbroker/net.h>, sets the MAC 02:00:00:db:00:01 and the
 * carrier on, and plays a host at the IPv4 address given: it answers ARP
 * requests for it and ICMP echo requests to it, so `ping ADDR` through the
 * interface proves frames flow both ways.  It also tries what the sandbox
 * must refuse (TUNSETPERSIST, TUNSETOWNER) and says what happened on
 * stderr (devbrokerd's log).  Counts on SIGTERM; exits 0.
 *
 * usage: dbk-netecho IPV4
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
#include <unistd.h>

#include <linux/if_tun.h>

#include <devbroker/handover.h>
#include <devbroker/net.h>

static const uint8_t my_mac[DBK_NET_ALEN] = { 0x02, 0x00, 0x00, 0xdb, 0x00, 0x01 };
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
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

int main(int argc, char **argv)
{
	unsigned long frames = 0, replies = 0, dropped = 0;
	uint8_t frame[DBK_NET_FRAME_MAX], ip[4];
	struct dbk_handover *h;
	struct dbk_net *net;
	struct pollfd pfd;
	int r, n;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc != 2 || inet_pton(AF_INET, argv[1], ip) != 1) {
		fprintf(stderr, "usage: dbk-netecho IPV4\n");
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
	/* What the sandbox refuses: the interface's life and owner are devbrokerd's. */
	r = ioctl(dbk_net_fd(net), TUNSETPERSIST, 1UL);
	fprintf(stderr, "dbk-netecho: TUNSETPERSIST: %s\n", r ? strerror(errno) : "allowed");
	r = ioctl(dbk_net_fd(net), TUNSETOWNER, (unsigned long)getuid());
	fprintf(stderr, "dbk-netecho: TUNSETOWNER: %s\n", r ? strerror(errno) : "allowed");
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
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = dbk_net_read(net, frame, sizeof(frame));
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
