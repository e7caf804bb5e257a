/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usb-reqtest: the programs tests/vm/usb-policy.sh runs against the USB
 * request policy (policies/src/usb_requests.bpf.c), through the broker's
 * own code for it (broker/usbpolicy.c).
 *
 * Root side:
 *   usb-reqtest launch [--dev /dev/bus/usb/BBB/DDD] [--ifs MASK] [--types "standard class"]
 *                      [--deny 0x21:0x01]... [--cookie N] [--uid UID] -- PROG ARGS...
 *       The broker's steps: open the node, DISCONNECT_CLAIM every interface
 *       of MASK (default 0x1), DROP_PRIVILEGES to MASK, put the fd at 3
 *       (without --dev: none of this);
 *       with --types/--deny mark this process (dbk_usb_policy_mark_self);
 *       drop to UID (default 65534) with no_new_privs; exec PROG.
 *   usb-reqtest ensure LOADER POLICY_DIR   dbk_usb_policy_ensure(); its message
 *   usb-reqtest denials                    drain the denial ring buffer, one line each
 *   usb-reqtest get PID                    the rules PID is marked with
 *
 * Driver side (fd 3 the usbfs fd), each printing "RESULT pid=PID" where
 * RESULT is "ok", an errno name (EPERM, EPIPE, ...) or a libusb error name:
 *   usb-reqtest req [options] TYPE REQUEST VALUE INDEX LENGTH
 *       --via control|urb|libusb  USBDEVFS_CONTROL (default), a control URB
 *                                 (SUBMITURB + REAPURB), libusb_control_transfer
 *       --mem private|shared|file where the ioctl argument (control) or the
 *                                 setup packet (urb) lives: stack/heap, MAP_SHARED
 *                                 anonymous, MAP_PRIVATE of a memfd
 *       --urb-mem private|shared  where the URB struct lives (urb)
 *       --thread                  with a second thread alive
 *       --clonevm                 with a CLONE_VM child (another process) alive
 *       --vfork                   after a vfork() child came and went
 *       --fork                    from a forked child
 *   usb-reqtest ioctl reset|setconfig|ioctl-disconnect|claim-port|getdriver|conninfo-ex|compat-reap
 *   usb-reqtest traceme           PTRACE_TRACEME
 *   usb-reqtest sleep SECONDS     a target for attack
 *   usb-reqtest attack PID ptrace|mem|vmwrite|getfd
 *       another process's write access to PID's memory (or its fd 3)
 * Exit status: 0 when the call was made (whatever its result), 2 on usage
 * or setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libusb.h>
#include <linux/usbdevice_fs.h>

#include "denials.h"
#include "usbpolicy.h"

#define USB_FD	3

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("usb-reqtest: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static unsigned long num(const char *s)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 0);
	if (errno || *e || e == s)
		die("'%s' is not a number", s);
	return v;
}

static void result(int err)
{
	printf("%s pid=%d\n", err ? strerrorname_np(err) : "ok", (int)getpid());
	fflush(stdout);
}

/* ------------------------------------------------------------ root side */

static void parse_types(const char *s, uint32_t *allowed)
{
	char *copy = strdup(s), *w, *save = NULL;

	*allowed = 0;
	for (w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
		if (!strcmp(w, "standard"))
			*allowed |= DBK_USB_REQ_STANDARD;
		else if (!strcmp(w, "class"))
			*allowed |= DBK_USB_REQ_CLASS;
		else if (!strcmp(w, "vendor"))
			*allowed |= DBK_USB_REQ_VENDOR;
		else if (strcmp(w, "none"))
			die("unknown request type '%s'", w);
	}
	free(copy);
}

/* TYPE[/MASK]:REQUEST|*, or dfu-dnload (0x21:0x01, as manifests spell it). */
static void parse_deny(const char *s, struct dbk_usb_rules *r)
{
	struct dbk_usb_deny_rule d = { .type_mask = 0xff };
	char *copy = strdup(s), *colon, *slash;

	if (r->nr_deny == DBK_USB_MAX_DENY)
		die("too many deny rules");
	if (!strcmp(s, "dfu-dnload")) {
		d.type_value = 0x21;
		d.request = 0x01;
	} else {
		colon = strchr(copy, ':');
		if (!colon)
			die("'%s' is not TYPE[/MASK]:REQUEST", s);
		*colon = 0;
		slash = strchr(copy, '/');
		if (slash) {
			*slash = 0;
			d.type_mask = num(slash + 1);
		}
		d.type_value = num(copy);
		if (!strcmp(colon + 1, "*"))
			d.flags = DBK_USB_DENY_ANY_REQUEST;
		else
			d.request = num(colon + 1);
	}
	r->deny[r->nr_deny++] = d;
	free(copy);
}

static int cmd_launch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "ifs", required_argument, NULL, 'i' },
		{ "types", required_argument, NULL, 't' },
		{ "deny", required_argument, NULL, 'n' },
		{ "cookie", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbk_usb_rules rules = { .allowed = DBK_USB_REQ_ALL };
	const char *dev = NULL;
	unsigned int ifs = 1, i;
	uid_t uid = 65534;
	bool mark = false;
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'i': ifs = num(optarg); break;
		case 't': parse_types(optarg, &rules.allowed); mark = true; break;
		case 'n': parse_deny(optarg, &rules); mark = true; break;
		case 'c': rules.cookie = num(optarg); break;
		case 'u': uid = num(optarg); break;
		default: die("launch: bad option");
		}
	}
	if (optind >= argc)
		die("usage: launch [--dev PATH] [options] -- PROG ARGS...");
	if (!dev)
		goto no_dev;	/* just the process: an attacker, for instance */
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", dev, strerror(errno));
	for (i = 0; i < 32; i++) {
		struct usbdevfs_disconnect_claim dc = { .interface = i };

		if ((ifs & (1U << i)) && ioctl(fd, USBDEVFS_DISCONNECT_CLAIM, &dc))
			die("DISCONNECT_CLAIM interface %u: %s", i, strerror(errno));
	}
	if (ioctl(fd, USBDEVFS_DROP_PRIVILEGES, &ifs))
		die("DROP_PRIVILEGES: %s", strerror(errno));
	/* dup2() onto itself would keep O_CLOEXEC: clear it explicitly. */
	if (dup2(fd, USB_FD) != USB_FD || fcntl(USB_FD, F_SETFD, 0))
		die("fd %d: %s", USB_FD, strerror(errno));
	if (fd != USB_FD)
		close(fd);
no_dev:
	if (mark) {
		ret = dbk_usb_policy_mark_self(&rules);
		if (ret)
			die("marking this process for the USB request policy: %s", strerror(-ret));
	}
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		die("dropping to uid %u: %s", (unsigned int)uid, strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die("no_new_privs: %s", strerror(errno));
	execvp(argv[optind], argv + optind);
	die("exec %s: %s", argv[optind], strerror(errno));
}

static int cmd_ensure(int argc, char **argv)
{
	char msg[512] = "";
	int ret;

	if (argc != 3)
		die("usage: ensure LOADER POLICY_DIR");
	ret = dbk_usb_policy_ensure(argv[1], argv[2], msg, sizeof(msg));
	printf("%s%s%s\n", ret ? strerrorname_np(-ret) : "ok", msg[0] ? ": " : "", msg);
	return ret ? 1 : 0;
}

static void print_denial(const struct dbk_denial *rec, void *data)
{
	const struct dbk_usb_denial *d = &rec->u.usb;
	char text[320];

	dbk_denial_format(rec, text, sizeof(text));
	printf("denial pid=%u tid=%u cookie=0x%" PRIx64 " cmd=0x%08x reason=%u type=0x%02x "
	       "req=0x%02x value=0x%04x index=0x%04x rule=%u other=%u setup=%u bus=%u uid=%u # %s\n",
	       rec->pid, rec->tid, (uint64_t)rec->cookie, d->cmd, d->reason, d->bRequestType,
	       d->bRequest, d->wValue, d->wIndex, d->rule, d->other_pid, d->has_setup, rec->bus,
	       rec->uid, text);
	(*(int *)data)++;
}

static int cmd_denials(void)
{
	struct dbk_denials *dn;
	int n = 0, ret;

	ret = dbk_denials_new(print_denial, &n, &dn);
	if (!ret)
		ret = dbk_denials_add_pin(dn, DBK_USB_DENIALS_PIN);
	if (ret)
		die("open the denial ring buffer: %s", strerror(-ret));
	if (dbk_denials_fd(dn) < 0)
		die("no epoll fd");
	ret = dbk_denials_drain(dn);
	dbk_denials_free(dn);
	if (ret < 0)
		die("drain: %s", strerror(-ret));
	printf("# %d denials\n", n);
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	struct dbk_usb_rules r;
	int ret;

	if (argc != 2)
		die("usage: get PID");
	ret = dbk_usb_policy_get(num(argv[1]), &r);
	if (ret) {
		printf("%s\n", strerrorname_np(-ret));
		return 0;
	}
	printf("marked version=%u allowed=0x%x nr_deny=%u flags=0x%x cookie=0x%" PRIx64 "\n",
	       r.version, r.allowed, r.nr_deny, r.flags, (uint64_t)r.cookie);
	return 0;
}

/* ------------------------------------------------------------ driver side */

enum mem { MEM_PRIVATE, MEM_SHARED, MEM_FILE };

static enum mem parse_mem(const char *s)
{
	if (!strcmp(s, "private"))
		return MEM_PRIVATE;
	if (!strcmp(s, "shared"))
		return MEM_SHARED;
	if (!strcmp(s, "file"))
		return MEM_FILE;
	die("--mem: private, shared or file");
}

/* A page of the kind asked for (MEM_PRIVATE: the heap). */
static void *get_mem(enum mem m, size_t size)
{
	void *p;
	int fd;

	switch (m) {
	case MEM_SHARED:
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		break;
	case MEM_FILE:
		fd = memfd_create("usb-reqtest", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 4096))
			die("memfd: %s", strerror(errno));
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		close(fd);
		break;
	default:
		p = calloc(1, size < 4096 ? 4096 : size);
		return p ? p : (die("out of memory"), NULL);
	}
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(p, 0, 4096);
	return p;
}

struct req {
	uint8_t type, request;
	uint16_t value, index, length;
	const char *via;
	enum mem mem, urb_mem;
};

static int via_control(const struct req *q)
{
	struct usbdevfs_ctrltransfer *ct = get_mem(q->mem, sizeof(*ct));
	unsigned char *data = calloc(1, q->length + 1);

	ct->bRequestType = q->type;
	ct->bRequest = q->request;
	ct->wValue = q->value;
	ct->wIndex = q->index;
	ct->wLength = q->length;
	ct->timeout = 2000;
	ct->data = data;
	return ioctl(USB_FD, USBDEVFS_CONTROL, ct) < 0 ? errno : 0;
}

static int via_urb(const struct req *q)
{
	struct usbdevfs_urb *urb = get_mem(q->urb_mem, sizeof(*urb)), *done = NULL;
	unsigned char *buf = get_mem(q->mem, 8 + q->length);

	buf[0] = q->type;
	buf[1] = q->request;
	buf[2] = q->value & 0xff;
	buf[3] = q->value >> 8;
	buf[4] = q->index & 0xff;
	buf[5] = q->index >> 8;
	buf[6] = q->length & 0xff;
	buf[7] = q->length >> 8;
	urb->type = USBDEVFS_URB_TYPE_CONTROL;
	urb->endpoint = 0;
	urb->buffer = buf;
	urb->buffer_length = 8 + q->length;
	if (ioctl(USB_FD, USBDEVFS_SUBMITURB, urb) < 0)
		return errno;
	if (ioctl(USB_FD, USBDEVFS_REAPURB, &done) < 0)
		die("REAPURB: %s", strerror(errno));
	return done->status < 0 ? -done->status : 0;
}

/* libusb_control_transfer on the wrapped fd: SUBMITURB underneath.  Prints libusb's error name. */
static const char *via_libusb(const struct req *q)
{
	static char name[64];
	libusb_context *ctx;
	libusb_device_handle *h;
	unsigned char data[256];
	int r;

	libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	r = libusb_init(&ctx);
	if (r)
		die("libusb_init: %s", libusb_error_name(r));
	r = libusb_wrap_sys_device(ctx, USB_FD, &h);
	if (r)
		die("libusb_wrap_sys_device: %s", libusb_error_name(r));
	r = libusb_control_transfer(h, q->type, q->request, q->value, q->index, data,
				    q->length > sizeof(data) ? sizeof(data) : q->length, 2000);
	snprintf(name, sizeof(name), "%s", r < 0 ? libusb_error_name(r) : "ok");
	libusb_close(h);
	libusb_exit(ctx);
	return name;
}

static void do_req(const struct req *q)
{
	if (!strcmp(q->via, "libusb"))
		printf("%s pid=%d\n", via_libusb(q), (int)getpid());
	else if (!strcmp(q->via, "urb"))
		result(via_urb(q));
	else
		result(via_control(q));
	fflush(stdout);
}

static int sleeper_pipe[2];

static void *sleeper(void *arg)
{
	char c;

	while (read(sleeper_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static int clone_child(void *arg)
{
	for (;;)
		pause();
	return 0;
}

/* A vfork() child that exits at once (what posix_spawn() does, minus the exec). */
static void __attribute__((noinline)) vfork_and_back(void)
{
	pid_t v = vfork();

	if (v == 0)
		_exit(0);
	if (v < 0 || waitpid(v, NULL, 0) != v)
		die("vfork: %s", strerror(errno));
}

static int cmd_req(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "via", required_argument, NULL, 'v' },
		{ "mem", required_argument, NULL, 'm' },
		{ "urb-mem", required_argument, NULL, 'u' },
		{ "thread", no_argument, NULL, 't' },
		{ "clonevm", no_argument, NULL, 'c' },
		{ "vfork", no_argument, NULL, 'V' },
		{ "fork", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct req q = { .via = "control" };
	bool thread = false, clonevm = false, do_vfork = false, do_fork = false;
	pthread_t th;
	pid_t pid = -1;
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'v': q.via = optarg; break;
		case 'm': q.mem = parse_mem(optarg); break;
		case 'u': q.urb_mem = parse_mem(optarg); break;
		case 't': thread = true; break;
		case 'c': clonevm = true; break;
		case 'V': do_vfork = true; break;
		case 'f': do_fork = true; break;
		default: die("req: bad option");
		}
	}
	if (argc - optind != 5)
		die("usage: req [options] TYPE REQUEST VALUE INDEX LENGTH");
	q.type = num(argv[optind]);
	q.request = num(argv[optind + 1]);
	q.value = num(argv[optind + 2]);
	q.index = num(argv[optind + 3]);
	q.length = num(argv[optind + 4]);

	if (thread) {
		if (pipe(sleeper_pipe) || pthread_create(&th, NULL, sleeper, NULL))
			die("thread: %s", strerror(errno));
	}
	if (clonevm) {
		static char stack[64 * 1024] __attribute__((aligned(16)));

		pid = clone(clone_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
		if (pid < 0)
			die("clone(CLONE_VM): %s", strerror(errno));
	}
	if (do_vfork)
		vfork_and_back();
	if (do_fork) {
		int st;

		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			do_req(&q);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			die("the forked child failed");
		return 0;
	}
	do_req(&q);
	if (thread) {
		if (write(sleeper_pipe[1], "x", 1) != 1)
			die("pipe: %s", strerror(errno));
		pthread_join(th, NULL);
	}
	if (clonevm) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return 0;
}

static int cmd_ioctl(int argc, char **argv)
{
	unsigned int one = 1;
	int r;

	if (argc != 2)
		die("usage: ioctl NAME");
	if (!strcmp(argv[1], "reset")) {
		r = ioctl(USB_FD, USBDEVFS_RESET);
	} else if (!strcmp(argv[1], "setconfig")) {
		r = ioctl(USB_FD, USBDEVFS_SETCONFIGURATION, &one);
	} else if (!strcmp(argv[1], "ioctl-disconnect")) {
		struct usbdevfs_ioctl io = { .ifno = 0, .ioctl_code = USBDEVFS_DISCONNECT };

		r = ioctl(USB_FD, USBDEVFS_IOCTL, &io);
	} else if (!strcmp(argv[1], "claim-port")) {
		r = ioctl(USB_FD, USBDEVFS_CLAIM_PORT, &one);
	} else if (!strcmp(argv[1], "getdriver")) {
		struct usbdevfs_getdriver gd = { .interface = 0 };

		r = ioctl(USB_FD, USBDEVFS_GETDRIVER, &gd);
	} else if (!strcmp(argv[1], "conninfo-ex")) {
		struct usbdevfs_conninfo_ex ci;

		r = ioctl(USB_FD, USBDEVFS_CONNINFO_EX(sizeof(ci)), &ci);
	} else if (!strcmp(argv[1], "compat-reap")) {
		uint32_t p32 = 0;

		r = ioctl(USB_FD, USBDEVFS_REAPURBNDELAY32, &p32);
	} else {
		die("unknown ioctl '%s'", argv[1]);
	}
	result(r < 0 ? errno : 0);
	return 0;
}

/* The first writable private mapping of @pid, from /proc/PID/maps (read access stays allowed). */
static unsigned long writable_addr(pid_t pid)
{
	char path[64], line[512];
	unsigned long a = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " rw-p ") && sscanf(line, "%lx-", &a) == 1)
			break;
	fclose(f);
	if (!a)
		die("no writable mapping in %s", path);
	return a;
}

static int cmd_attack(int argc, char **argv)
{
	pid_t pid;
	int err = 0, fd;

	if (argc != 3)
		die("usage: attack PID ptrace|mem|vmwrite|getfd");
	pid = num(argv[1]);
	if (!strcmp(argv[2], "ptrace")) {
		if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0) {
			err = errno;
		} else {
			waitpid(pid, NULL, __WALL);
			ptrace(PTRACE_DETACH, pid, 0, 0);
		}
	} else if (!strcmp(argv[2], "mem")) {
		unsigned long a = writable_addr(pid);
		char path[64], b;

		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDWR);
		if (fd < 0)
			err = errno;
		else if (pread(fd, &b, 1, a) != 1 || pwrite(fd, &b, 1, a) != 1)
			err = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(argv[2], "vmwrite")) {
		unsigned long a = writable_addr(pid);
		char b;
		struct iovec local = { &b, 1 }, remote = { (void *)a, 1 };

		/* The same byte back: a real write that changes nothing. */
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 1 ||
		    process_vm_writev(pid, &local, 1, &remote, 1, 0) != 1)
			err = errno;
	} else if (!strcmp(argv[2], "getfd")) {
		int pidfd = syscall(SYS_pidfd_open, pid, 0);

		if (pidfd < 0)
			die("pidfd_open: %s", strerror(errno));
		fd = syscall(SYS_pidfd_getfd, pidfd, USB_FD, 0);
		if (fd < 0)
			err = errno;
		else
			close(fd);
		close(pidfd);
	} else {
		die("unknown attack '%s'", argv[2]);
	}
	result(err);
	return 0;
}

/*
 * From inside a vfork() child, try a CLONE_VM clone (a process) and a
 * thread: either would share the sleeping parent's memory after the
 * child is gone.  The child writes the two errnos into the parent's
 * memory (vfork shares it) and exits; "EPERM" when both were refused.
 */
static int vf_errs[2];

static void *vf_thread(void *arg)
{
	(void)arg;
	return NULL;
}

static void __attribute__((noinline)) vfork_clone(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	pid_t v = vfork();

	if (v == 0) {
		pthread_t th;
		pid_t c = clone(clone_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
		int r;

		vf_errs[0] = c < 0 ? errno : 0;
		if (c > 0)
			kill(c, SIGKILL);
		r = pthread_create(&th, NULL, vf_thread, NULL);
		vf_errs[1] = r;
		if (!r)
			pthread_join(th, NULL);
		_exit(0);
	}
	if (v < 0)
		die("vfork: %s", strerror(errno));
	waitpid(v, NULL, 0);
}

static int cmd_vforkclone(void)
{
	vfork_clone();
	printf("# clone(CLONE_VM) in the vfork child: %s; pthread_create: %s\n",
	       vf_errs[0] ? strerrorname_np(vf_errs[0]) : "ok",
	       vf_errs[1] ? strerrorname_np(vf_errs[1]) : "ok");
	result(vf_errs[0] == EPERM && vf_errs[1] == EPERM ? EPERM :
	       vf_errs[0] || vf_errs[1] ? EINVAL : 0);
	return 0;
}

/* Reopen our usbfs fd through /proc: a fresh fd without the dropped privileges. */
static int cmd_reopen(void)
{
	int fd = open("/proc/self/fd/3", O_RDWR | O_CLOEXEC);

	result(fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: usb-reqtest launch|ensure|denials|get|req|ioctl|traceme|sleep|attack ...");
	argc--;
	argv++;
	if (!strcmp(argv[0], "launch"))
		return cmd_launch(argc, argv);
	if (!strcmp(argv[0], "ensure"))
		return cmd_ensure(argc, argv);
	if (!strcmp(argv[0], "denials"))
		return cmd_denials();
	if (!strcmp(argv[0], "get"))
		return cmd_get(argc, argv);
	if (!strcmp(argv[0], "req"))
		return cmd_req(argc, argv);
	if (!strcmp(argv[0], "ioctl"))
		return cmd_ioctl(argc, argv);
	if (!strcmp(argv[0], "traceme")) {
		result(ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(argv[0], "sleep") && argc == 2) {
		printf("sleeping pid=%d\n", (int)getpid());
		fflush(stdout);
		sleep(num(argv[1]));
		return 0;
	}
	if (!strcmp(argv[0], "attack"))
		return cmd_attack(argc, argv);
	if (!strcmp(argv[0], "vforkclone"))
		return cmd_vforkclone();
	if (!strcmp(argv[0], "reopen"))
		return cmd_reopen();
	die("unknown command '%s'", argv[0]);
}
