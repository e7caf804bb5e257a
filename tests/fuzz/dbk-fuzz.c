/*
 * dbk-fuzz: a fuzzer of devbroker.ko's grant fd, run in the VM.
 *
 * A root controller creates grants on one device (rights drawn at random,
 * never DMA that nothing confines) and hands each to an unprivileged worker
 * (uid 65534, no capabilities, no_new_privs) over a socket, while it races
 * the worker with DBK_DEVICE_REVOKE and, with --unbind, unbind and rebind.
 * The worker's threads run programs of operations on the grant: every
 * ioctl of the UAPI header, typed from the header itself (calls.h, made by
 * gen-calls.py), with plausible and hostile arguments; pread and pwrite;
 * mmap, touch, munmap, mremap and mprotect; fork; close.
 *
 * With --kcov (a kernel with CONFIG_KCOV), each thread traces the module's
 * code its operations reach; a program that reaches new code is kept in
 * the corpus directory (text, one operation per line, fields by name, so a
 * renumbered UAPI only regenerates the table).  New programs are mutations
 * of kept ones, or fresh.  `replay` runs corpus files as they are.
 *
 * usage: dbk-fuzz run BDF [--ops N] [--threads T] [--seed S] [--kcov]
 *                 [--corpus DIR] [--revoke-ms MS] [--unbind] [--pcs FILE]
 *        dbk-fuzz replay BDF FILE...
 *        dbk-fuzz probe BDF     (a fresh grant reads the device: the campaigns' last check)
 * Output: progress lines on stderr, a summary line "fuzz: ..." on stdout.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/devbroker.h>


enum { FZ_NUM, FZ_ARGSZ, FZ_FLAGS, FZ_UPTR };

struct fz_field {
	const char *name;
	size_t off, size;
	int kind;
	size_t elem;		/* FZ_UPTR: element size */
	int count;		/* FZ_UPTR: index of the field that counts elements, or -1 */
	uint64_t mask;		/* FZ_FLAGS: the defined bits */
};

struct fz_call {
	const char *name;
	unsigned long cmd;
	size_t size;
	const struct fz_field *fields;
	size_t nfields;
	const uint64_t *values;
	size_t nvalues;
};

#include "calls.h"
#include "../helpers/dbk-guard.h"

#define FZ_FD		100	/* the grant, in every worker thread */
#define FZ_MAX_FIELDS	16
#define FZ_MAX_OPS	24
#define FZ_MAPS		8
#define FZ_ARGBUF	8192

/* Values a field may take that are not plain numbers: the thread's state. */
enum {
	V_NUM, V_IOVA, V_OFFSET, V_ANON, V_EFD,		/* numbers */
	V_BUF, V_NULL, V_BAD, V_KERNEL,			/* pointers */
};
static const char *const vnames[] = { "", "$iova", "$offset", "$anon", "$efd",
				      "@buf", "@null", "@bad", "@kernel" };

enum { OP_IOCTL, OP_PREAD, OP_PWRITE, OP_MMAP, OP_TOUCH, OP_MUNMAP, OP_MREMAP, OP_MPROTECT,
       OP_FORK, OP_CLOSE, OP_NR };
static const char *const opnames[] = { "ioctl", "pread", "pwrite", "mmap", "touch", "munmap",
				       "mremap", "mprotect", "fork", "close" };

struct fz_op {
	int kind;
	int call;			/* OP_IOCTL */
	int argsz;			/* OP_IOCTL: 0 = sizeof, else this */
	uint64_t v[FZ_MAX_FIELDS];	/* OP_IOCTL: per field; others: a[0..4] */
	int vk[FZ_MAX_FIELDS];		/* V_* */
};

struct fz_prog {
	int n;
	struct fz_op op[FZ_MAX_OPS];
};

/* ------------------------------------------------------------ randomness */

static __thread uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t interesting(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 16, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000,
		0x1001, 0x2000, 0xffff, 0x10000, 0x40000, 0x100000, 0xfffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000ULL, 1ULL << 36, (1ULL << 36) + 1, 1ULL << 40, (1ULL << 40) - 1,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 0xfff, 0xfee00000,
		DBK_ARGSZ_MAX, DBK_ARGSZ_MAX + 1, 2048, 2049, 4096, 16, 17, 64, 65,
	};

	switch (below(4)) {
	case 0:
		return rnd();
	case 1:
		return below(64);
	default:
		return v[below(sizeof(v) / sizeof(v[0]))];
	}
}

/* ------------------------------------------------------------ the worker's state */

struct fz_map {
	void *p;
	size_t len;
};

struct fz_thread {
	int id;
	unsigned char *anon;		/* 64 KiB of the driver's memory, for DMA_MAP */
	uint64_t iova, offset;		/* from the last DMA_ALLOC */
	int efd[2];
	struct fz_map map[FZ_MAPS];
	sigjmp_buf jb;
	volatile int in_touch;
	uint64_t ops;
	/* KCOV */
	int kcov;
	unsigned long *cover;
};

static __thread struct fz_thread *self;
static uint64_t mod_base, mod_end, kaslr;
static size_t cover_words = 1 << 16;

static void on_fault(int sig)
{
	if (self && self->in_touch)
		siglongjmp(self->jb, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ------------------------------------------------------------ programs */

static void gen_ioctl(struct fz_op *op)
{
	const struct fz_call *c;
	size_t i;

	op->call = below(FZ_NR_CALLS);
	c = &fz_calls[op->call];
	op->argsz = below(8) ? 0 : (int)interesting() & 0xffff;
	for (i = 0; i < c->nfields && i < FZ_MAX_FIELDS; i++) {
		const struct fz_field *f = &c->fields[i];

		op->vk[i] = V_NUM;
		switch (f->kind) {
		case FZ_ARGSZ:
			op->v[i] = 0;
			break;
		case FZ_FLAGS:
			op->v[i] = below(4) ? f->mask & rnd() : interesting();
			break;
		case FZ_UPTR:
			op->vk[i] = below(6) ? V_BUF : V_NULL + below(3);
			break;
		default:
			switch (below(8)) {
			case 0:
				op->vk[i] = V_IOVA;
				break;
			case 1:
				op->vk[i] = V_OFFSET;
				break;
			case 2:
				op->vk[i] = V_ANON;
				break;
			case 3:
				op->v[i] = c->values[below(c->nvalues)];
				break;
			default:
				op->v[i] = below(3) ? below(5) * 4096 : interesting();
			}
		}
	}
}

/* A region offset: a BAR, config space, a DMA slot or nonsense. */
static uint64_t gen_pos(void)
{
	uint64_t region = below(6) ? (below(2) ? 0 : below(3) ? DBK_REGION_CONFIG : DBK_REGION_DMA_FIRST +
				       below(4)) : interesting() & 0xffffff;
	uint64_t off = below(3) ? below(0x100) * 8 : below(2) ? 0x80 + below(4) * 8 : interesting();

	return DBK_REGION_OFFSET(region) + off;
}

static void gen_op(struct fz_op *op)
{
	static const int weight[OP_NR] = { 10, 4, 4, 3, 4, 1, 1, 1, 1, 1 };
	int total = 0, r, k;

	for (k = 0; k < OP_NR; k++)
		total += weight[k];
	r = below(total);
	for (k = 0; r >= weight[k]; k++)
		r -= weight[k];
	memset(op, 0, sizeof(*op));
	op->kind = k;
	switch (k) {
	case OP_IOCTL:
		gen_ioctl(op);
		break;
	case OP_PREAD:
	case OP_PWRITE:
		op->v[0] = gen_pos();
		op->v[1] = below(4) ? 1u << below(4) : interesting() & 0xff;
		op->v[2] = interesting();
		break;
	case OP_MMAP:
		op->v[0] = below(FZ_MAPS);
		op->v[1] = below(4) ? (gen_pos() & ~0xfffULL) : interesting();
		op->v[2] = below(4) ? (1 + below(4)) * 4096 : interesting();
		op->v[3] = below(4) ? PROT_READ | PROT_WRITE : below(8);
		op->v[4] = below(8) ? MAP_SHARED : below(2) ? MAP_PRIVATE : rnd() & 0xff;
		break;
	default:
		op->v[0] = below(FZ_MAPS);
		op->v[1] = below(8);
		op->v[2] = below(2) ? (1 + below(4)) * 4096 : interesting();
		op->v[3] = below(8);
	}
}

static void gen_prog(struct fz_prog *p)
{
	int i;

	p->n = 1 + below(FZ_MAX_OPS);
	for (i = 0; i < p->n; i++)
		gen_op(&p->op[i]);
}

static void mutate(struct fz_prog *p)
{
	int i = below(p->n), j;

	switch (below(4)) {
	case 0:
		gen_op(&p->op[i]);
		break;
	case 1:
		if (p->n < FZ_MAX_OPS) {
			memmove(&p->op[i + 1], &p->op[i], (p->n - i) * sizeof(p->op[0]));
			gen_op(&p->op[i]);
			p->n++;
		}
		break;
	case 2:
		if (p->n > 1) {
			memmove(&p->op[i], &p->op[i + 1], (p->n - i - 1) * sizeof(p->op[0]));
			p->n--;
		}
		break;
	default:
		j = below(FZ_MAX_FIELDS);
		if (below(2))
			p->op[i].v[j] = interesting();
		else
			p->op[i].v[j] ^= 1ULL << below(64);
	}
}

/* ------------------------------------------------------------ text form */

static void print_prog(FILE *f, const struct fz_prog *p)
{
	int i, k;

	for (i = 0; i < p->n; i++) {
		const struct fz_op *op = &p->op[i];

		fprintf(f, "%s", opnames[op->kind]);
		if (op->kind == OP_IOCTL) {
			const struct fz_call *c = &fz_calls[op->call];

			fprintf(f, " %s", c->name);
			if (op->argsz)
				fprintf(f, " argsz=%d", op->argsz);
			for (k = 0; k < (int)c->nfields && k < FZ_MAX_FIELDS; k++) {
				if (c->fields[k].kind == FZ_ARGSZ)
					continue;
				if (op->vk[k])
					fprintf(f, " %s=%s", c->fields[k].name, vnames[op->vk[k]]);
				else if (op->v[k])
					fprintf(f, " %s=0x%" PRIx64, c->fields[k].name, op->v[k]);
			}
		} else {
			for (k = 0; k < 5; k++)
				fprintf(f, " 0x%" PRIx64, op->v[k]);
		}
		fprintf(f, "\n");
	}
}

static int parse_value(const char *s, uint64_t *v, int *vk)
{
	size_t i;

	for (i = 1; i < sizeof(vnames) / sizeof(vnames[0]); i++) {
		if (!strcmp(s, vnames[i])) {
			*vk = i;
			*v = 0;
			return 0;
		}
	}
	*vk = V_NUM;
	*v = strtoull(s, NULL, 0);
	return 0;
}

/* One line into @op: 0, or -1 for an unknown call or field (the UAPI moved). */
static int parse_op(char *line, struct fz_op *op)
{
	char *tok = strtok(line, " \t\n"), *eq;
	size_t k, i;

	memset(op, 0, sizeof(*op));
	if (!tok)
		return -1;
	for (k = 0; k < OP_NR && strcmp(tok, opnames[k]); k++)
		;
	if (k == OP_NR)
		return -1;
	op->kind = k;
	if (k != OP_IOCTL) {
		for (i = 0; i < 5 && (tok = strtok(NULL, " \t\n")); i++)
			op->v[i] = strtoull(tok, NULL, 0);
		return 0;
	}
	tok = strtok(NULL, " \t\n");
	for (i = 0; tok && i < FZ_NR_CALLS && strcmp(tok, fz_calls[i].name); i++)
		;
	if (!tok || i == FZ_NR_CALLS)
		return -1;
	op->call = i;
	while ((tok = strtok(NULL, " \t\n"))) {
		eq = strchr(tok, '=');
		if (!eq)
			return -1;
		*eq = 0;
		if (!strcmp(tok, "argsz")) {
			op->argsz = strtol(eq + 1, NULL, 0);
			continue;
		}
		for (k = 0; k < fz_calls[i].nfields && strcmp(tok, fz_calls[i].fields[k].name); k++)
			;
		if (k == fz_calls[i].nfields || k >= FZ_MAX_FIELDS)
			return -1;
		parse_value(eq + 1, &op->v[k], &op->vk[k]);
	}
	return 0;
}

static int load_prog(const char *path, struct fz_prog *p)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	p->n = 0;
	while (p->n < FZ_MAX_OPS && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_op(line, &p->op[p->n]) == 0)
			p->n++;
	}
	fclose(f);
	return p->n ? 0 : -1;
}

/* ------------------------------------------------------------ running an operation */

static uint64_t value(const struct fz_op *op, int k)
{
	switch (op->vk[k]) {
	case V_IOVA:
		return self->iova;
	case V_OFFSET:
		return self->offset;
	case V_ANON:
		return (uintptr_t)self->anon + (op->v[k] & 0xf000);
	case V_EFD:
		return self->efd[op->v[k] & 1];
	case V_NULL:
		return 0;
	case V_BAD:
		return 0x10;
	case V_KERNEL:
		return 0xffff888000000000ULL;
	}
	return op->v[k];
}

static void put_field(unsigned char *arg, const struct fz_field *f, uint64_t v)
{
	switch (f->size) {
	case 1:
		*(uint8_t *)(arg + f->off) = v;
		break;
	case 2:
		*(uint16_t *)(arg + f->off) = v;
		break;
	case 4:
		*(uint32_t *)(arg + f->off) = v;
		break;
	default:
		memcpy(arg + f->off, &v, 8);
	}
}

static void run_ioctl(const struct fz_op *op)
{
	const struct fz_call *c = &fz_calls[op->call % FZ_NR_CALLS];
	static __thread unsigned char arg[FZ_ARGBUF], buf[FZ_ARGBUF];
	size_t k, n;
	int32_t *fds = (int32_t *)buf;

	memset(arg, 0, sizeof(arg));
	for (k = 0; k < c->nfields && k < FZ_MAX_FIELDS; k++) {
		const struct fz_field *f = &c->fields[k];
		uint64_t v = value(op, k);

		if (f->kind == FZ_ARGSZ)
			v = op->argsz ? (uint64_t)op->argsz : c->size;
		if (f->kind == FZ_UPTR && op->vk[k] == V_BUF) {
			/* Elements: eventfds or -1 for __s32 arrays, else noise. */
			for (n = 0; n < sizeof(buf) / 4; n++)
				fds[n] = below(4) ? self->efd[n & 1] : below(2) ? -1 : (int32_t)interesting();
			v = (uintptr_t)buf;
		}
		put_field(arg, f, v);
	}
	if (ioctl(FZ_FD, c->cmd, arg) == 0 && c->cmd == DBK_GRANT_DMA_ALLOC) {
		self->iova = ((struct dbk_dma_alloc *)arg)->iova;
		self->offset = ((struct dbk_dma_alloc *)arg)->offset;
	}
	/*
	 * Now and then, another command number (mostly _IO() ones, which
	 * reach the handlers: the numbers hold no size) or a raw pointer.
	 */
	if (!below(64))
		ioctl(FZ_FD, below(4) ? _IO(DBK_TYPE, below(32)) :
		      _IOC(below(4), DBK_TYPE, below(32), below(4096)), below(2) ? arg : (void *)0x10);
}

static void touch(struct fz_map *m, uint64_t page, int rw)
{
	volatile unsigned char *p;

	if (!m->p || !m->len)
		return;
	p = (unsigned char *)m->p + (page * 4096) % m->len;
	self->in_touch = 1;
	if (!sigsetjmp(self->jb, 1)) {
		if (rw & 1)
			*p = (unsigned char)rw;
		else
			(void)*p;
	}
	self->in_touch = 0;
}

static void run_op(const struct fz_op *op)
{
	struct fz_map *m = &self->map[op->v[0] % FZ_MAPS];
	uint64_t v = op->v[2];
	void *p;
	pid_t pid;
	int i;

	switch (op->kind) {
	case OP_IOCTL:
		run_ioctl(op);
		break;
	case OP_PREAD:
		if (pread(FZ_FD, &v, op->v[1] & 0xff, op->v[0]) < 0)
			break;
		break;
	case OP_PWRITE:
		if (pwrite(FZ_FD, &v, op->v[1] & 0xff, op->v[0]) < 0)
			break;
		break;
	case OP_MMAP:
		if (m->p)
			munmap(m->p, m->len);
		m->len = op->v[2] & ((1 << 24) - 1);
		p = mmap(NULL, m->len, op->v[3] & 7, op->v[4] & ~MAP_FIXED, FZ_FD, op->v[1]);
		m->p = p == MAP_FAILED ? NULL : p;
		break;
	case OP_TOUCH:
		touch(m, op->v[1], op->v[3]);
		break;
	case OP_MUNMAP:
		if (m->p)
			munmap(m->p, m->len);
		m->p = NULL;
		break;
	case OP_MREMAP:
		p = m->p ? mremap(m->p, m->len, op->v[2] & 0xffffff, below(2) ? MREMAP_MAYMOVE : 0) :
			   MAP_FAILED;
		if (p != MAP_FAILED) {
			m->p = p;
			m->len = op->v[2] & 0xffffff;
		}
		break;
	case OP_MPROTECT:
		if (m->p)
			mprotect(m->p, m->len, op->v[1] & 7);
		break;
	case OP_FORK:
		pid = fork();
		if (pid == 0) {
			for (i = 0; i < FZ_MAPS; i++)
				touch(&self->map[i], op->v[1] + i, 0);
			if (pread(FZ_FD, &v, 4, 0) < 0)
				_exit(0);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	case OP_CLOSE:
		if (!below(4))
			close(FZ_FD);
		break;
	}
	self->ops++;
}

/* ------------------------------------------------------------ coverage */

#define KCOV_INIT_TRACE	_IOR('c', 1, unsigned long)
#define KCOV_ENABLE	_IO('c', 100)
#define KCOV_DISABLE	_IO('c', 101)
#define KCOV_TRACE_PC	0

#define SEEN_BITS	20
static _Atomic uint8_t seen[1 << (SEEN_BITS - 3)];

/* Counters the worker's threads keep and the controller reports: shared memory. */
struct fz_counts {
	atomic_ulong ops, pcs, kept;
};
static struct fz_counts *cnt;
static pthread_mutex_t pcs_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *pcs_out;

/* New module PCs in the trace since the last call: how many. */
static int cover_collect(void)
{
	unsigned long n, i, pc, off;
	int fresh = 0;
	uint8_t bit;

	if (self->kcov < 0)
		return 0;
	n = __atomic_load_n(&self->cover[0], __ATOMIC_RELAXED);
	for (i = 0; i < n && i + 1 < cover_words; i++) {
		pc = self->cover[i + 1];
		if (pc < mod_base || pc >= mod_end)
			continue;
		off = pc - mod_base;
		bit = 1u << (off & 7);
		if (atomic_fetch_or(&seen[(off >> 3) & ((sizeof(seen)) - 1)], bit) & bit)
			continue;
		fresh++;
		atomic_fetch_add(&cnt->pcs, 1);
		if (pcs_out) {
			pthread_mutex_lock(&pcs_lock);
			fprintf(pcs_out, "0x%lx\n", pc + (unsigned long)kaslr);
			pthread_mutex_unlock(&pcs_lock);
		}
	}
	__atomic_store_n(&self->cover[0], 0, __ATOMIC_RELAXED);
	return fresh;
}

/* ------------------------------------------------------------ the worker */

struct fz_opts {
	const char *bdf;
	uint64_t ops, seed;
	int threads, kcov, revoke_ms, unbind;
	const char *corpus, *pcs;
	char **replay;
	int nreplay;
};

static struct fz_opts opt = { .ops = 100000, .threads = 4, .revoke_ms = 200 };
static atomic_int stop;
static char **corpus_files;
static int corpus_n;
static pthread_mutex_t corpus_lock = PTHREAD_MUTEX_INITIALIZER;

static void corpus_add(const struct fz_prog *p)
{
	char path[4096];
	FILE *f;
	unsigned long n = atomic_fetch_add(&cnt->kept, 1);

	if (!opt.corpus)
		return;
	snprintf(path, sizeof(path), "%s/new-%d-%lu.ops", opt.corpus, getpid(), n);
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "# dbk-fuzz: reached new module code\n");
	print_prog(f, p);
	fclose(f);
	pthread_mutex_lock(&corpus_lock);
	corpus_files = realloc(corpus_files, (corpus_n + 1) * sizeof(*corpus_files));
	corpus_files[corpus_n++] = strdup(path);
	pthread_mutex_unlock(&corpus_lock);
}

static void run_prog(const struct fz_prog *p)
{
	int i;

	if (self->kcov >= 0)
		ioctl(self->kcov, KCOV_ENABLE, KCOV_TRACE_PC);
	for (i = 0; i < p->n && !atomic_load(&stop); i++)
		run_op(&p->op[i]);
	if (self->kcov >= 0)
		ioctl(self->kcov, KCOV_DISABLE, 0);
}

static void *worker(void *arg)
{
	struct fz_thread *t = arg;
	struct fz_prog p;
	char *path;

	self = t;
	rng = opt.seed * 0x9e3779b97f4a7c15ULL + t->id + 1;
	while (!atomic_load(&stop)) {
		path = NULL;
		pthread_mutex_lock(&corpus_lock);
		if (corpus_n && below(2))
			path = corpus_files[below(corpus_n)];
		pthread_mutex_unlock(&corpus_lock);
		if (!path || load_prog(path, &p))
			gen_prog(&p);
		else
			mutate(&p);
		run_prog(&p);
		if (cover_collect())
			corpus_add(&p);
		if (atomic_fetch_add(&cnt->ops, p.n) + p.n >= opt.ops)
			atomic_store(&stop, 1);
	}
	return NULL;
}

static void drop_privs(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("drop privileges");
		exit(2);
	}
}

static int recv_fd(int sock)
{
	char c, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &mh, 0) <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	return cm && cm->cmsg_type == SCM_RIGHTS ? *(int *)CMSG_DATA(cm) : -2;
}

/* The worker process: threads on whatever grant the controller sends last. */
static int worker_main(int sock, struct fz_prog *replay, int nreplay)
{
	struct fz_thread *t = calloc(opt.threads, sizeof(*t));
	pthread_t *th = calloc(opt.threads, sizeof(*th));
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	double t0;
	int i, fd;

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < opt.threads; i++) {
		t[i].id = i;
		t[i].kcov = opt.kcov ? open("/sys/kernel/debug/kcov", O_RDWR) : -1;
		if (t[i].kcov >= 0 && (ioctl(t[i].kcov, KCOV_INIT_TRACE, cover_words) ||
		     (t[i].cover = mmap(NULL, cover_words * sizeof(unsigned long), PROT_READ | PROT_WRITE,
					MAP_SHARED, t[i].kcov, 0)) == MAP_FAILED)) {
			perror("kcov");
			return 2;
		}
		t[i].anon = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(t[i].anon, 0x11, 65536);
		t[i].efd[0] = eventfd(0, EFD_NONBLOCK);
		t[i].efd[1] = eventfd(0, EFD_NONBLOCK);
	}
	drop_privs();
	fd = recv_fd(sock);
	if (fd < 0)
		return 2;
	dup2(fd, FZ_FD);
	close(fd);
	if (nreplay) {
		struct fz_thread *saved;

		self = &t[0];
		rng = 1;
		for (i = 0; i < nreplay; i++) {
			saved = self;
			run_prog(&replay[i]);
			self = saved;
			atomic_fetch_add(&cnt->ops, replay[i].n);
		}
		return 0;
	}
	for (i = 0; i < opt.threads; i++)
		pthread_create(&th[i], NULL, worker, &t[i]);
	t0 = time(NULL);
	/* New grants from the controller replace the old at FZ_FD, atomically for the threads. */
	while (!atomic_load(&stop)) {
		struct timeval tv = { 1, 0 };

		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		fd = recv_fd(sock);
		if (fd >= 0) {
			dup2(fd, FZ_FD);
			close(fd);
		} else if (fd == -1 && errno != EAGAIN) {
			break;
		}
		fprintf(stderr, "fuzz: %lu ops, %lu module PCs, %lu kept, %.0f s\n",
			(unsigned long)atomic_load(&cnt->ops), (unsigned long)atomic_load(&cnt->pcs),
			(unsigned long)atomic_load(&cnt->kept), difftime(time(NULL), t0));
	}
	atomic_store(&stop, 1);
	for (i = 0; i < opt.threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* ------------------------------------------------------------ the controller (root) */

static void send_fd(int sock, int fd)
{
	char c = 'g', ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return r;
}

static int open_node(void)
{
	char node[128];
	int i, fd = -1;

	snprintf(node, sizeof(node), "/dev/devbroker/%s", opt.bdf);
	for (i = 0; i < 100 && fd < 0; i++) {
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			usleep(20000);
	}
	return fd;
}

/* A grant with rights drawn at random; DMA only if something confines it. */
static int make_grant(int dev, int iommu, unsigned int *seed)
{
	struct dbk_range med = { .bar = 0, .offset = 0x80, .size = 0x20 };
	struct dbk_grant_spec s = { .argsz = sizeof(s), .bar_mask = 1 };
	unsigned int r = rand_r(seed);
	int g;

	s.mmap_mask = r & 1;
	s.flags = DBK_GRANT_F_INTX | ((r & 2) ? DBK_GRANT_F_MSI : 0) |
		  ((r & 4) ? DBK_GRANT_F_CONFIG_WRITE : 0) | DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED;
	s.max_vectors = (r & 2) ? 1 : 0;
	s.irq_rate = (r & 8) ? 50 : 0;
	s.dma_quota = 1 << 20;
	s.dma_bits = 28;
	/*
	 * edu's DMA registers stay mediated, and the campaign loads edu_dma_guard
	 * (heeded: DBK_GRANT_F_DMA_GUARDED): QEMU aborts on a transfer whose
	 * device range it does not like.
	 */
	s.nr_mediated = 1;
	s.mediated = (uintptr_t)&med;
	(void)iommu;
	/* The guard the grant names (kmod-fuzz.sh's): the module runs it, and no other program. */
	s.guard_fd = guard_open();
	g = ioctl(dev, DBK_DEVICE_CREATE_GRANT, &s);
	if (s.guard_fd >= 0)
		close(s.guard_fd);
	/* No guard loaded (EBADF), or no IOMMU: no DMA. */
	if (g < 0 && (errno == EPERM || errno == EBADF)) {
		s.flags &= ~(DBK_GRANT_F_DMA | DBK_GRANT_F_DMA_GUARDED | DBK_GRANT_F_MSI);
		s.max_vectors = 0;
		s.dma_quota = 0;
		s.dma_bits = 0;
		g = ioctl(dev, DBK_DEVICE_CREATE_GRANT, &s);
	}
	return g;
}

static int controller(int sock, pid_t worker, int nreplay)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_revoke rv = { .argsz = sizeof(rv) };
	char path[256];
	unsigned int seed = opt.seed;
	unsigned long grants = 0, revokes = 0, unbinds = 0;
	int dev = open_node(), g, st, iommu;

	if (dev < 0 || ioctl(dev, DBK_DEVICE_GET_INFO, &di)) {
		perror("device node");
		return 2;
	}
	iommu = !!(di.flags & DBK_DEVICE_INFO_F_IOMMU);
	for (;;) {
		di.flags = 0;
		if (dev >= 0 && ioctl(dev, DBK_DEVICE_GET_INFO, &di) == 0 &&
		    !(di.flags & DBK_DEVICE_INFO_F_GRANTED)) {
			g = make_grant(dev, iommu, &seed);
			if (g >= 0) {
				send_fd(sock, g);
				close(g);
				grants++;
			}
		}
		if (waitpid(worker, &st, WNOHANG) == worker)
			break;
		usleep(1000 * (1 + rand_r(&seed) % (opt.revoke_ms ? opt.revoke_ms : 50)));
		if (nreplay || !opt.revoke_ms)
			continue;
		if (opt.unbind && rand_r(&seed) % 20 == 0) {
			/* Unbind and rebind: the device and its node go and come back. */
			close(dev);
			snprintf(path, sizeof(path), "/sys/bus/pci/drivers/devbroker/unbind");
			sysfs_write(path, opt.bdf);
			sysfs_write("/sys/bus/pci/drivers_probe", opt.bdf);
			dev = open_node();
			unbinds++;
		} else if (dev >= 0 && ioctl(dev, DBK_DEVICE_REVOKE, &rv) == 0) {
			revokes++;
		}
	}
	printf("fuzz: %lu ops, %lu module PCs, %lu programs kept, %lu grants, %lu revocations, "
	       "%lu unbinds, worker %s %d\n", (unsigned long)atomic_load(&cnt->ops),
	       (unsigned long)atomic_load(&cnt->pcs), (unsigned long)atomic_load(&cnt->kept), grants, revokes,
	       unbinds, WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* The module's core, for telling its PCs apart (root sees its address in /proc/modules). */
static void module_text(void)
{
	FILE *f = fopen("/proc/modules", "r");
	unsigned long long a, size;
	char line[512], name[64];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size, &a) == 3 &&
		    !strcmp(name, "devbroker")) {
			mod_base = a;
			mod_end = a + size;
		}
	if (f)
		fclose(f);
	/*
	 * KCOV records PCs less the kernel's KASLR offset (canonicalize_ip()):
	 * _text's distance from where x86-64 links it.
	 */
	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %*s %63s", &a, name) == 2 && !strcmp(name, "_text")) {
			mod_base -= a - 0xffffffff81000000ULL;
			mod_end -= a - 0xffffffff81000000ULL;
			kaslr = a - 0xffffffff81000000ULL;
			break;
		}
	if (f)
		fclose(f);
}

static void load_corpus(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[4096];

	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, ".ops"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		corpus_files = realloc(corpus_files, (corpus_n + 1) * sizeof(*corpus_files));
		corpus_files[corpus_n++] = strdup(path);
	}
	if (d)
		closedir(d);
}

/* A fresh grant, one register read, the device's counters. */
static int probe(void)
{
	struct dbk_grant_spec s = { .argsz = sizeof(s), .bar_mask = 1 };
	struct dbk_device_info di = { .argsz = sizeof(di) };
	uint32_t id = 0;
	int dev = open_node(), g;

	g = dev < 0 ? -1 : ioctl(dev, DBK_DEVICE_CREATE_GRANT, &s);
	if (g < 0 || pread(g, &id, 4, DBK_REGION_OFFSET(0)) != 4 || ioctl(dev, DBK_DEVICE_GET_INFO, &di)) {
		printf("probe %s: %s\n", opt.bdf, strerror(errno));
		return 1;
	}
	printf("probe %s: register 0 = 0x%08x, %u grants created, %u revoked\n", opt.bdf, id,
	       di.grants_created, di.grants_revoked);
	close(g);
	close(dev);
	return 0;
}

int main(int argc, char **argv)
{
	struct fz_prog *replay = NULL;
	int sv[2], i, nreplay = 0, r;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "probe")) {
		opt.bdf = argv[2];
		return probe();
	}
	if (argc < 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "replay"))) {
		fprintf(stderr, "usage: %s run BDF [--ops N] [--threads T] [--seed S] [--kcov] [--corpus DIR]\n"
			"          [--revoke-ms MS] [--unbind] [--pcs FILE]\n"
			"       %s replay BDF FILE...\n", argv[0], argv[0]);
		return 2;
	}
	opt.bdf = argv[2];
	if (!strcmp(argv[1], "replay")) {
		replay = calloc(argc, sizeof(*replay));
		for (i = 3; i < argc; i++)
			if (load_prog(argv[i], &replay[nreplay]) == 0)
				nreplay++;
			else
				fprintf(stderr, "dbk-fuzz: %s: no operation this UAPI knows\n", argv[i]);
		opt.threads = 1;
		opt.revoke_ms = 0;
	}
	for (i = 3; !nreplay && i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			opt.ops = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			opt.threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			opt.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--kcov"))
			opt.kcov = 1;
		else if (!strcmp(argv[i], "--corpus") && i + 1 < argc)
			opt.corpus = argv[++i];
		else if (!strcmp(argv[i], "--revoke-ms") && i + 1 < argc)
			opt.revoke_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--unbind"))
			opt.unbind = 1;
		else if (!strcmp(argv[i], "--pcs") && i + 1 < argc)
			opt.pcs = argv[++i];
		else {
			fprintf(stderr, "dbk-fuzz: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (opt.threads < 1 || opt.threads > 64)
		return 2;
	if (opt.corpus)
		load_corpus(opt.corpus);
	module_text();
	if (opt.kcov && !mod_base) {
		fprintf(stderr, "dbk-fuzz: --kcov needs devbroker's address in /proc/modules\n");
		return 2;
	}
	if (opt.pcs) {
		/* Absolute PCs, and where the module's .text is: tests/fuzz/coverage maps them to lines. */
		FILE *t = fopen("/sys/module/devbroker/sections/.text", "r");
		unsigned long long text = 0;

		if (t && fscanf(t, "%llx", &text) != 1)
			text = 0;
		if (t)
			fclose(t);
		pcs_out = fopen(opt.pcs, "w");
		if (pcs_out)
			fprintf(pcs_out, "# .text 0x%llx\n", text);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return 2;
	/* The counters are shared by the worker's threads; the controller reads the worker's exit. */
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		r = worker_main(sv[1], replay, nreplay);
		if (pcs_out)
			fclose(pcs_out);
		_exit(r);
	}
	close(sv[1]);
	return controller(sv[0], pid, nreplay);
}
