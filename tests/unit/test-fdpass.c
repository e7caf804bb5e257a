/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd passing over AF_UNIX: real socketpair round trips on every socket
 * type, and hostile or broken messages (truncated control data, too many
 * fds, bad headers, fds the header does not announce), checking that no
 * received fd leaks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "libdev-private.h"

/* The wire header, as fdpass.c defines it (tests forge messages). */
struct hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nfds;
	uint32_t len;
	uint32_t reserved;
};
#define MAGIC 0x464b4244u

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Send raw: @nfds copies of @fd in one SCM_RIGHTS, after @data. */
static ssize_t send_raw(int sock, const void *data, size_t len, int fd, size_t nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { 0 };
	int fds[64];
	size_t i;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		for (i = 0; i < nfds; i++)
			fds[i] = fd;
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &msg, 0);
}

static void roundtrip(int type)
{
	int sv[2], pipefd[2], got[DBK_FDPASS_MAX_FDS];
	char buf[64];
	size_t n = DBK_FDPASS_MAX_FDS;
	int base;

	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	base = count_fds();

	assert_int_equal(dbk_send_fds(sv[0], "hello", 5, pipefd, 2), 0);
	assert_int_equal(dbk_recv_fds(sv[1], buf, sizeof(buf), got, &n), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(n, 2);
	assert_true(same_file(got[0], pipefd[0]));
	assert_true(same_file(got[1], pipefd[1]));
	assert_int_equal(fcntl(got[0], F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(got[1], F_GETFD), FD_CLOEXEC);
	/* the passed pipe works */
	assert_int_equal(write(got[1], "x", 1), 1);
	assert_int_equal(read(pipefd[0], buf, 1), 1);
	close(got[0]);
	close(got[1]);
	assert_int_equal(count_fds(), base);

	/* no fds, no payload: both fine */
	n = 4;
	assert_int_equal(dbk_send_fds(sv[0], NULL, 0, NULL, 0), 0);
	assert_int_equal(dbk_recv_fds(sv[1], NULL, 0, got, &n), 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(dbk_send_fds(sv[0], "abc", 3, NULL, 0), 0);
	assert_int_equal(dbk_recv_fds(sv[1], buf, 3, NULL, &n), 3);

	/* two messages back to back arrive as two */
	n = 4;
	assert_int_equal(dbk_send_fds(sv[0], "one", 3, pipefd, 1), 0);
	assert_int_equal(dbk_send_fds(sv[0], "second", 6, pipefd + 1, 1), 0);
	assert_int_equal(dbk_recv_fds(sv[1], buf, sizeof(buf), got, &n), 3);
	assert_int_equal(n, 1);
	assert_true(same_file(got[0], pipefd[0]));
	close(got[0]);
	n = 4;
	assert_int_equal(dbk_recv_fds(sv[1], buf, sizeof(buf), got, &n), 6);
	assert_memory_equal(buf, "second", 6);
	assert_int_equal(n, 1);
	assert_true(same_file(got[0], pipefd[1]));
	close(got[0]);
	assert_int_equal(count_fds(), base);

	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_roundtrip_seqpacket(void **state) { (void)state; roundtrip(SOCK_SEQPACKET); }
static void test_roundtrip_stream(void **state) { (void)state; roundtrip(SOCK_STREAM); }
static void test_roundtrip_dgram(void **state) { (void)state; roundtrip(SOCK_DGRAM); }

static void test_limits(void **state)
{
	int sv[2], fds[DBK_FDPASS_MAX_FDS + 1], got[DBK_FDPASS_MAX_FDS];
	static char big[DBK_FDPASS_MAX_PAYLOAD + 1], back[DBK_FDPASS_MAX_PAYLOAD];
	size_t i, n;
	int base, nul;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i <= DBK_FDPASS_MAX_FDS; i++)
		fds[i] = nul;
	base = count_fds();

	/* sender-side limits */
	assert_int_equal(dbk_send_fds(sv[0], big, sizeof(big), NULL, 0), -EMSGSIZE);
	assert_int_equal(dbk_send_fds(sv[0], "x", 1, fds, DBK_FDPASS_MAX_FDS + 1), -EMSGSIZE);
	assert_int_equal(dbk_send_fds(sv[0], NULL, 1, NULL, 0), -EINVAL);
	assert_int_equal(dbk_send_fds(sv[0], "x", 1, NULL, 1), -EINVAL);
	fds[3] = -1;
	assert_int_equal(dbk_send_fds(sv[0], "x", 1, fds, 4), -EINVAL);
	fds[3] = nul;
	assert_int_equal(dbk_send_fds(sv[0], "x", 1, (int[]){ 999 }, 1), -EBADF);

	/* the most of both goes through */
	memset(big, 'b', sizeof(big));
	n = DBK_FDPASS_MAX_FDS;
	assert_int_equal(dbk_send_fds(sv[0], big, DBK_FDPASS_MAX_PAYLOAD, fds, DBK_FDPASS_MAX_FDS), 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), DBK_FDPASS_MAX_PAYLOAD);
	assert_int_equal(n, DBK_FDPASS_MAX_FDS);
	for (i = 0; i < n; i++)
		close(got[i]);
	assert_int_equal(count_fds(), base);

	/* receiver has room for fewer fds than sent: refused, none leak */
	n = 2;
	assert_int_equal(dbk_send_fds(sv[0], "x", 1, fds, 5), 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EMSGSIZE);
	assert_int_equal(n, 0);
	assert_int_equal(count_fds(), base);

	/* payload larger than the receiver's buffer: refused, fds closed */
	n = 4;
	assert_int_equal(dbk_send_fds(sv[0], "0123456789", 10, fds, 1), 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, 4, got, &n), -EMSGSIZE);
	assert_int_equal(count_fds(), base);

	/* and the socket is still usable afterwards */
	n = 4;
	assert_int_equal(dbk_send_fds(sv[0], "ok", 2, fds, 1), 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), 2);
	close(got[0]);

	close(nul);
	close(sv[0]);
	close(sv[1]);
}

static void test_hostile(void **state)
{
	int sv[2], got[DBK_FDPASS_MAX_FDS];
	struct {
		struct hdr h;
		char p[8];
	} m;
	char back[64];
	size_t n;
	int base, nul;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	base = count_fds();
	memset(&m, 0, sizeof(m));
	m.h.magic = MAGIC;
	m.h.version = 1;

	/* more fds than the library ever accepts: control data truncated */
	m.h.nfds = 40;
	n = DBK_FDPASS_MAX_FDS;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), nul, 40) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EMSGSIZE);
	assert_int_equal(n, 0);
	assert_int_equal(count_fds(), base);

	/* fds the header does not announce */
	m.h.nfds = 0;
	n = DBK_FDPASS_MAX_FDS;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), nul, 3) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	assert_int_equal(count_fds(), base);

	/* fewer fds than announced */
	m.h.nfds = 2;
	n = DBK_FDPASS_MAX_FDS;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), nul, 1) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	assert_int_equal(count_fds(), base);

	/* bad magic, with an fd riding along */
	m.h.nfds = 1;
	m.h.magic = 0xdeadbeef;
	n = DBK_FDPASS_MAX_FDS;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), nul, 1) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	assert_int_equal(count_fds(), base);
	m.h.magic = MAGIC;

	/* bad version, nonzero reserved */
	m.h.nfds = 0;
	m.h.version = 2;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), -1, 0) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	m.h.version = 1;
	m.h.reserved = 1;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), -1, 0) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	m.h.reserved = 0;

	/* payload length disagrees with the header */
	m.h.len = 8;
	assert_true(send_raw(sv[0], &m, sizeof(m.h) + 3, -1, 0) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	m.h.len = DBK_FDPASS_MAX_PAYLOAD + 1;
	assert_true(send_raw(sv[0], &m, sizeof(m.h), -1, 0) > 0);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);

	/* a message shorter than the header */
	assert_true(send_raw(sv[0], "hi", 2, nul, 1) > 0);
	n = DBK_FDPASS_MAX_FDS;
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	assert_int_equal(count_fds(), base);

	/* end of file */
	close(sv[0]);
	n = DBK_FDPASS_MAX_FDS;
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -ENOTCONN);
	close(sv[1]);
	close(nul);
}

static void test_stream_truncated(void **state)
{
	int sv[2], got[4];
	struct hdr h = { MAGIC, 1, 0, 10, 0 };
	char back[64];
	size_t n = 4;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* header promises 10 bytes, the peer sends 3 and hangs up */
	assert_int_equal(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	close(sv[1]);

	/* half a header, then EOF */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[0], &h, 5), 5);
	close(sv[0]);
	n = 4;
	assert_int_equal(dbk_recv_fds(sv[1], back, sizeof(back), got, &n), -EBADMSG);
	close(sv[1]);
}

static void test_not_a_socket(void **state)
{
	int p[2], got[1];
	size_t n = 1;
	char b[4];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dbk_recv_fds(p[0], b, sizeof(b), got, &n), -ENOTSOCK);
	assert_int_equal(dbk_send_fds(p[1], "x", 1, NULL, 0), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_seqpacket),
		cmocka_unit_test(test_roundtrip_stream),
		cmocka_unit_test(test_roundtrip_dgram),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_stream_truncated),
		cmocka_unit_test(test_not_a_socket),
	};

	return cmocka_run_group_tests_name("libdev fd passing", tests, NULL, NULL);
}
