// SPDX-License-Identifier: GPL-2.0-only
/*
 * usb_requests: which USB control requests a driver may send, enforced in
 * the kernel with the BPF LSM (no devbroker.ko involved).  See
 * docs/usb-request-policy.md and <devbroker/usb-policy.h>.
 *
 * Who: tasks marked in the task-storage map dbk_usb_tasks (the broker
 * marks a driver before exec; children inherit the mark, exec keeps it).
 *
 * What, for a marked task, on a file that is a USB device node (char
 * major 189, usbfs):
 *  - only the usbfs ioctls a driver needs (allowlist below); anything
 *    else (RESET, SETCONFIGURATION, USBDEVFS_IOCTL, DISCONNECT_CLAIM,
 *    CLAIM_PORT, the 32-bit numbers, unknown) is refused with EPERM;
 *  - control requests, through USBDEVFS_CONTROL and through control URBs
 *    of USBDEVFS_SUBMITURB (libusb's path), must be of an allowed type
 *    (reserved type 3 never) and match no deny rule;
 *  - 32-bit (compat) ioctls on usbfs are refused;
 *  - no other process may write its memory (ptrace attach, /proc/PID/mem,
 *    process_vm_writev, pidfd_getfd: PTRACE_MODE_ATTACH), and it may not
 *    ask to be traced (PTRACE_TRACEME).
 * Refusals go to the ring buffer dbk_usb_denials.
 *
 * The check reads the ioctl argument before usbfs copies it again.  It is
 * trusted only if nobody else can write that memory in between, which
 * is what the "racy" conditions below establish (the caller is the only
 * thread, no other process shares its mm, the bytes lie in one private
 * anonymous mapping, no outside writer: see the documentation); if any
 * fails, the request is refused.
 *
 * Fail closed everywhere: an unreadable argument, a busy task storage, a
 * failed mark inheritance (the fork fails), rules of another version.
 *
 * The logic that needs no kernel (ioctl classes, request verdicts) sits
 * outside #ifndef DBK_USB_HOST_TEST so that tests/policy/test-usb-requests.c
 * can run it on the host.
 */
#include <linux/types.h>
#include <linux/ioctl.h>
#include <asm/ioctls.h>
#include <linux/usbdevice_fs.h>
#include <devbroker/usb-policy.h>
#include <devbroker/denial.h>

#ifndef DBK_USB_HOST_TEST
#include <linux/bpf.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* How an ioctl of a marked task on usbfs is treated. */
enum dbk_usb_ioc {
	DBK_USB_IOC_DENY,	/* not on the allowlist */
	DBK_USB_IOC_PLAIN,	/* allowed, no control request in it */
	DBK_USB_IOC_CONTROL,	/* USBDEVFS_CONTROL: check the setup packet */
	DBK_USB_IOC_SUBMITURB,	/* USBDEVFS_SUBMITURB: check it if it is a control URB */
};

/*
 * The usbfs ioctls a driver needs (usbdev_do_ioctl in
 * drivers/usb/core/devio.c, 6.1), plus the generic fd ioctls the VFS
 * answers itself.  Left out on purpose: RESET (the kernel re-probes and
 * its driver takes the interface back), SETCONFIGURATION, IOCTL (kernel
 * driver connect/disconnect, hub requests), DISCONNECT_CLAIM,
 * CLAIM_PORT, RELEASE_PORT, the *32 compat numbers, and anything unknown.
 */
static __always_inline enum dbk_usb_ioc dbk_usb_ioctl_kind(__u32 cmd)
{
	switch (cmd) {
	case USBDEVFS_CONTROL:
		return DBK_USB_IOC_CONTROL;
	case USBDEVFS_SUBMITURB:
		return DBK_USB_IOC_SUBMITURB;
	case USBDEVFS_BULK:
	case USBDEVFS_RESETEP:
	case USBDEVFS_SETINTERFACE:
	case USBDEVFS_GETDRIVER:
	case USBDEVFS_DISCARDURB:
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
	case USBDEVFS_DISCSIGNAL:
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_CONNECTINFO:
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_GET_CAPABILITIES:
	case USBDEVFS_ALLOC_STREAMS:
	case USBDEVFS_FREE_STREAMS:
	case USBDEVFS_DROP_PRIVILEGES:
	case USBDEVFS_GET_SPEED:
	case USBDEVFS_FORBID_SUSPEND:
	case USBDEVFS_ALLOW_SUSPEND:
	case USBDEVFS_WAIT_FOR_RESUME:
	case FIONBIO:
	case FIOASYNC:
	case FIOCLEX:
	case FIONCLEX:
		return DBK_USB_IOC_PLAIN;
	}
	/* CONNINFO_EX carries its buffer size in the number: any size. */
	if ((cmd & ~IOCSIZE_MASK) == USBDEVFS_CONNINFO_EX(0))
		return DBK_USB_IOC_PLAIN;
	return DBK_USB_IOC_DENY;
}

/* Do the rules restrict control requests at all?  If not, no setup packet is read. */
static __always_inline int dbk_usb_rules_restrict(const struct dbk_usb_rules *r)
{
	return (r->allowed & DBK_USB_REQ_ALL) != DBK_USB_REQ_ALL || r->nr_deny != 0;
}

static __always_inline int dbk_usb_rule_matches(const struct dbk_usb_deny_rule *d, __u8 type,
						__u8 request)
{
	return (type & d->type_mask) == d->type_value &&
	       ((d->flags & DBK_USB_DENY_ANY_REQUEST) || d->request == request);
}

#ifdef DBK_USB_HOST_TEST
static __u32 dbk_usb_first_rule(const struct dbk_usb_rules *r, __u8 type, __u8 request)
{
	__u32 i;

	for (i = 0; i < r->nr_deny && i < DBK_USB_MAX_DENY; i++)
		if (dbk_usb_rule_matches(&r->deny[i], type, request))
			return i;
	return DBK_USB_MAX_DENY;
}
#else
struct dbk_rule_scan {
	__u8 type;
	__u8 request;
	__u32 hit;
};

/*
 * One rule per call of bpf_loop(): the verifier checks the body once,
 * however many rules there are (an unrolled loop over 40 rules is too
 * much for it).  The rules are looked up again here: a map value pointer
 * cannot travel through the loop's context.
 */
static long dbk_rule_cb(__u32 i, struct dbk_rule_scan *s);

static __always_inline __u32 dbk_usb_first_rule(const struct dbk_usb_rules *r, __u8 type,
						__u8 request)
{
	struct dbk_rule_scan s = { .type = type, .request = request, .hit = DBK_USB_MAX_DENY };
	__u32 n = r->nr_deny;

	if (n > DBK_USB_MAX_DENY)
		n = DBK_USB_MAX_DENY;
	if (n && bpf_loop(n, dbk_rule_cb, &s, 0) < 0)
		return 0;	/* cannot tell: as if rule 0 matched (fail closed) */
	return s.hit;
}
#endif

/*
 * The verdict on one setup packet: 0 (allowed), DBK_USB_R_TYPE or
 * DBK_USB_R_RULE (*rule: the first matching rule's index).
 */
static __always_inline __u32 dbk_usb_setup_verdict(const struct dbk_usb_rules *r, __u8 type,
						   __u8 request, __u32 *rule)
{
	__u32 t = (type >> 5) & 3, hit;

	if (t == 3 || !(r->allowed & (1U << t)))
		return DBK_USB_R_TYPE;
	hit = dbk_usb_first_rule(r, type, request);
	if (hit >= DBK_USB_MAX_DENY)
		return 0;
	*rule = hit;
	return DBK_USB_R_RULE;
}

/*
 * vm_flags a mapping holding a checked argument must not have: shared
 * (another process, or a file, writes the pages), I/O or PFN mappings
 * (device memory; usbfs's own mmap()ed buffers are VM_IO), and
 * userfaultfd-registered ranges.  Values of include/linux/mm.h, 6.1 x86_64.
 */
#define DBK_VM_SHARED		0x00000008UL
#define DBK_VM_MAYSHARE		0x00000080UL
#define DBK_VM_UFFD_MISSING	0x00000200UL
#define DBK_VM_PFNMAP		0x00000400UL
#define DBK_VM_UFFD_WP		0x00001000UL
#define DBK_VM_IO		0x00004000UL
#define DBK_VM_MIXEDMAP		0x10000000UL
#define DBK_VM_UFFD_MINOR	(1UL << 37)
#define DBK_VM_UNSTABLE		(DBK_VM_SHARED | DBK_VM_MAYSHARE | DBK_VM_UFFD_MISSING |	\
				 DBK_VM_PFNMAP | DBK_VM_UFFD_WP | DBK_VM_IO |		\
				 DBK_VM_MIXEDMAP | DBK_VM_UFFD_MINOR)

/*
 * May [start, end) of a mapping be trusted to stay as read?  The mapping
 * must cover it, be anonymous (no file, no vm_ops: the kernel's own
 * vma_is_anonymous()) and private.
 */
static __always_inline int dbk_usb_vma_ok(__u64 vm_start, __u64 vm_end, __u64 vm_flags,
					  int has_file, int has_ops, __u64 start, __u64 end)
{
	return start >= vm_start && end <= vm_end && start < end && !has_file && !has_ops &&
	       !(vm_flags & DBK_VM_UNSTABLE);
}

#ifndef DBK_USB_HOST_TEST

#define USB_DEVICE_MAJOR	189
#define DBK_MINORBITS		20
#define DBK_S_IFMT		00170000
#define DBK_S_IFCHR		0020000
#define DBK_PTRACE_MODE_ATTACH	0x02
#define DBK_CLONE_VM		0x00000100UL
#define DBK_CLONE_VFORK		0x00004000UL
#define DBK_CLONE_THREAD	0x00010000UL
#define DBK_FIND_VMA_TRIES	4

/*
 * Minimal CO-RE views of the kernel structs read (libbpf relocates the
 * offsets against the running kernel's BTF): no vmlinux.h needed.
 */
struct signal_struct {
	int nr_threads;
} __attribute__((preserve_access_index));

struct completion;

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *group_leader;
	struct signal_struct *signal;
	void *bpf_storage;
	struct completion *vfork_done;	/* set while this task is a vfork child */
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned int i_rdev;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct vm_operations_struct;

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_flags;
	const struct vm_operations_struct *vm_ops;
	struct file *vm_file;
} __attribute__((preserve_access_index));

struct linux_binprm;

/* The setup packet: the first 8 bytes of struct usbdevfs_ctrltransfer and of a control URB's buffer. */
struct dbk_setup {
	__u8 bRequestType;
	__u8 bRequest;
	__u16 wValue;
	__u16 wIndex;
	__u16 wLength;
};

/* The marked tasks and their rules. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dbk_usb_rules);
} dbk_usb_tasks SEC(".maps");

/*
 * Always empty: deleting from it tells "no storage" (-ENOENT) from "task
 * storage busy on this CPU" (-EBUSY), which bpf_task_storage_get() folds
 * into one NULL.  A busy NULL for a marked task must not read as "not
 * marked".
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} dbk_usb_probe SEC(".maps");

/* Denials, for the broker (devbrokerctl events). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} dbk_usb_denials SEC(".maps");

/* [0] denials, [1] denials the ring buffer had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} dbk_usb_stats SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&dbk_usb_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int storage_busy(struct task_struct *task)
{
	/* No storage in any map: certainly not marked, whatever the lock says. */
	if (!task->bpf_storage)
		return 0;
	return bpf_task_storage_delete(&dbk_usb_probe, task) == -EBUSY;
}

static long dbk_rule_cb(__u32 i, struct dbk_rule_scan *s)
{
	struct dbk_usb_rules *r = bpf_task_storage_get(&dbk_usb_tasks, bpf_get_current_task_btf(), 0, 0);

	if (!r || i >= DBK_USB_MAX_DENY) {
		s->hit = 0;	/* fail closed */
		return 1;
	}
	if (dbk_usb_rule_matches(&r->deny[i], s->type, s->request)) {
		s->hit = i;
		return 1;
	}
	return 0;
}

/* Record a denial; returns -EPERM for the hook to return. */
static __always_inline int deny(const struct dbk_usb_rules *r, struct task_struct *task, __u32 cmd,
				__u32 reason, __u32 minor, const struct dbk_setup *s, __u32 rule,
				__u32 other_pid)
{
	struct dbk_denial *rec;
	struct dbk_usb_denial *d;

	count(0);
	rec = bpf_ringbuf_reserve(&dbk_usb_denials, sizeof(*rec), 0);
	if (!rec) {
		count(1);
		return -EPERM;
	}
	__builtin_memset(rec, 0, sizeof(*rec));	/* the union's PCI tail too */
	rec->bus = DBK_DENIAL_USB;
	rec->cookie = r ? r->cookie : 0;
	rec->pid = task->tgid;
	rec->tid = task->pid;
	rec->uid = (__u32)bpf_get_current_uid_gid();
	d = &rec->u.usb;
	d->cmd = cmd;
	d->reason = reason;
	d->minor = minor;
	d->other_pid = other_pid;
	d->rule = rule;
	d->has_setup = s != 0;
	d->bRequestType = s ? s->bRequestType : 0;
	d->bRequest = s ? s->bRequest : 0;
	d->wValue = s ? s->wValue : 0;
	d->wIndex = s ? s->wIndex : 0;
	d->wLength = s ? s->wLength : 0;
	bpf_ringbuf_submit(rec, 0);
	return -EPERM;
}

/* Is @file a USB device node (usbfs)?  Its minor into *minor. */
static __always_inline int usbfs_file(struct file *file, __u32 *minor)
{
	struct inode *inode = file->f_inode;
	__u32 rdev;

	if (!inode || (inode->i_mode & DBK_S_IFMT) != DBK_S_IFCHR)
		return 0;
	rdev = inode->i_rdev;
	*minor = rdev & ((1U << DBK_MINORBITS) - 1);
	return (rdev >> DBK_MINORBITS) == USB_DEVICE_MAJOR;
}

/*
 * Conditions (1) and (2): the caller is its process's only thread, and
 * no other process may share its memory (its own mark and its thread
 * group leader's: a CLONE_VM clone flags both).
 */
static __always_inline int task_alone(struct task_struct *task, const struct dbk_usb_rules *r)
{
	struct dbk_usb_rules *lr;

	if (r->flags & DBK_USB_F_MM_SHARED)
		return 0;
	if (task->signal->nr_threads != 1)
		return 0;
	if (task->pid == task->tgid)
		return 1;
	/* The leader exited and one other thread is left: its flag counts too. */
	lr = bpf_task_storage_get(&dbk_usb_tasks, task->group_leader, 0, 0);
	return lr && !(lr->flags & DBK_USB_F_MM_SHARED);
}

struct vma_check {
	__u64 start;
	__u64 end;
	int ok;
};

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct vma_check *c)
{
	c->ok = dbk_usb_vma_ok(vma->vm_start, vma->vm_end, vma->vm_flags, vma->vm_file != 0,
			       vma->vm_ops != 0, c->start, c->end);
	return 0;
}

/* Condition (3): [addr, addr + len) lies in one private anonymous mapping of the caller. */
static __always_inline int arg_stable(struct task_struct *task, __u64 addr, __u64 len)
{
	struct vma_check c = { .start = addr, .end = addr + len, .ok = 0 };
	long err = -EBUSY;
	int i;

	if (c.end <= c.start)
		return 0;
	/* The helper only trylocks the mmap lock: retry a briefly held one. */
	for (i = 0; i < DBK_FIND_VMA_TRIES && err == -EBUSY; i++)
		err = bpf_find_vma(task, addr, vma_cb, &c, 0);
	return err == 0 && c.ok;
}

static __always_inline int check_ioctl(struct task_struct *task, const struct dbk_usb_rules *r,
				       __u32 cmd, __u64 arg, __u32 minor)
{
	enum dbk_usb_ioc kind = dbk_usb_ioctl_kind(cmd);
	struct dbk_setup s = {};
	struct usbdevfs_urb urb;
	__u32 verdict, rule = 0;

	if (r->version != DBK_USB_RULES_VERSION)
		return deny(r, task, cmd, DBK_USB_R_VERSION, minor, 0, 0, 0);
	if (kind == DBK_USB_IOC_DENY)
		return deny(r, task, cmd, DBK_USB_R_IOCTL, minor, 0, 0, 0);
	if (kind == DBK_USB_IOC_PLAIN || !dbk_usb_rules_restrict(r))
		return 0;
	if (!task_alone(task, r))
		return deny(r, task, cmd, DBK_USB_R_RACY, minor, 0, 0, 0);
	if (kind == DBK_USB_IOC_CONTROL) {
		if (!arg_stable(task, arg, sizeof(struct usbdevfs_ctrltransfer)))
			return deny(r, task, cmd, DBK_USB_R_RACY, minor, 0, 0, 0);
		if (bpf_copy_from_user(&s, sizeof(s), (void *)arg))
			return deny(r, task, cmd, DBK_USB_R_FAULT, minor, 0, 0, 0);
	} else {
		/* The URB's type and buffer must stay as read, whatever its type. */
		if (!arg_stable(task, arg, sizeof(urb)))
			return deny(r, task, cmd, DBK_USB_R_RACY, minor, 0, 0, 0);
		if (bpf_copy_from_user(&urb, sizeof(urb), (void *)arg))
			return deny(r, task, cmd, DBK_USB_R_FAULT, minor, 0, 0, 0);
		if (urb.type != USBDEVFS_URB_TYPE_CONTROL)
			return 0;
		if (!arg_stable(task, (__u64)urb.buffer, sizeof(s)))
			return deny(r, task, cmd, DBK_USB_R_RACY, minor, 0, 0, 0);
		if (bpf_copy_from_user(&s, sizeof(s), urb.buffer))
			return deny(r, task, cmd, DBK_USB_R_FAULT, minor, 0, 0, 0);
	}
	verdict = dbk_usb_setup_verdict(r, s.bRequestType, s.bRequest, &rule);
	if (verdict)
		return deny(r, task, cmd, verdict, minor, &s, rule, 0);
	return 0;
}

/*
 * An access to @file: 1 with *task and *r set if it is usbfs and the
 * caller is marked; 0 to let it be; -EAGAIN when the caller's storage is
 * busy (it may be marked: fail closed).
 */
static __always_inline int marked_usbfs(struct file *file, __u32 *minor,
					      struct task_struct **task, struct dbk_usb_rules **r)
{
	if (!usbfs_file(file, minor))
		return 0;
	*task = bpf_get_current_task_btf();
	*r = bpf_task_storage_get(&dbk_usb_tasks, *task, 0, 0);
	if (!*r)
		return storage_busy(*task) ? -EAGAIN : 0;
	return 1;
}

/* Sleepable: bpf_copy_from_user() may fault the argument in (lsm/ would fail open). */
SEC("lsm.s/file_ioctl")
int BPF_PROG(dbk_usb_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	struct task_struct *task;
	struct dbk_usb_rules *r;
	__u32 minor = 0;

	if (ret)
		return ret;
	ret = marked_usbfs(file, &minor, &task, &r);
	if (ret <= 0)
		return ret;
	return check_ioctl(task, r, cmd, arg, minor);
}

/* 32-bit ioctls reach another hook (security_file_ioctl_compat): refused on usbfs. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(dbk_usb_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	struct task_struct *task;
	struct dbk_usb_rules *r;
	__u32 minor = 0;

	if (ret)
		return ret;
	ret = marked_usbfs(file, &minor, &task, &r);
	if (ret <= 0)
		return ret;
	return deny(r, task, cmd, DBK_USB_R_COMPAT, minor, 0, 0, 0);
}

/*
 * Inherit the mark.  Not sleepable on purpose: the new storage is then
 * allocated with GFP_ATOMIC, so that no task ever sleeps while holding
 * the per-CPU task-storage lock (a sleeping holder would make lookups by
 * other tasks on that CPU fail).
 */
SEC("lsm/task_alloc")
int BPF_PROG(dbk_usb_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct dbk_usb_rules *p, *lp, *c, copy;
	int shared;

	if (ret)
		return ret;
	p = bpf_task_storage_get(&dbk_usb_tasks, cur, 0, 0);
	if (!p)
		return storage_busy(cur) ? -EAGAIN : 0;
	/*
	 * A vfork child shares its sleeping parent's mm.  A thread or a
	 * CLONE_VM child it made would outlive it (the parent wakes when the
	 * child execs or exits) and could write the parent's arguments,
	 * while the parent, asleep at clone time, was never flagged: refuse.
	 */
	if (cur->vfork_done && (clone_flags & DBK_CLONE_VM) && !(clone_flags & DBK_CLONE_VFORK))
		return deny(p, cur, 0, DBK_USB_R_CLONE, 0, 0, 0, 0);
	copy = *p;
	/* Another process on the same mm: its threads could write our arguments. */
	shared = (clone_flags & DBK_CLONE_VM) && !(clone_flags & DBK_CLONE_THREAD);
	if (shared) {
		copy.flags |= DBK_USB_F_MM_SHARED;
		/* A vfork parent sleeps until the child execs or exits. */
		if (!(clone_flags & DBK_CLONE_VFORK)) {
			p->flags |= DBK_USB_F_MM_SHARED;
			if (cur->pid != cur->tgid) {
				lp = bpf_task_storage_get(&dbk_usb_tasks, cur->group_leader, 0, 0);
				if (!lp)
					return -EAGAIN;
				lp->flags |= DBK_USB_F_MM_SHARED;
			}
		}
	}
	c = bpf_task_storage_get(&dbk_usb_tasks, task, &copy, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return -ENOMEM;	/* fail closed: no unmarked child of a marked task */
	*c = copy;
	return 0;
}

/*
 * A marked task opens no USB device node: its restricted fd is all it
 * gets.  Reopening /proc/self/fd/N would give a fresh fd without the
 * dropped privileges (usable if the node's mode lets nobody write it).
 */
SEC("lsm/file_open")
int BPF_PROG(dbk_usb_open, struct file *file, int ret)
{
	struct task_struct *task;
	struct dbk_usb_rules *r;
	__u32 minor = 0;

	if (ret)
		return ret;
	ret = marked_usbfs(file, &minor, &task, &r);
	if (ret <= 0)
		return ret;
	return deny(r, task, 0, DBK_USB_R_OPEN, minor, 0, 0, 0);
}

/* A new mm: nobody shares it. */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(dbk_usb_exec, struct linux_binprm *bprm)
{
	struct dbk_usb_rules *r;

	r = bpf_task_storage_get(&dbk_usb_tasks, bpf_get_current_task_btf(), 0, 0);
	if (r)
		r->flags &= ~DBK_USB_F_MM_SHARED;
	return 0;
}

/*
 * Condition (4): no other process writes a marked task's memory (ptrace,
 * /proc/PID/mem, process_vm_writev all need PTRACE_MODE_ATTACH; so does
 * pidfd_getfd).  Read access (ps, /proc/PID/maps) stays.  The kernel
 * skips this hook for the task's own thread group.
 */
SEC("lsm/ptrace_access_check")
int BPF_PROG(dbk_usb_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct dbk_usb_rules *r;

	if (ret)
		return ret;
	if (!(mode & DBK_PTRACE_MODE_ATTACH))
		return 0;
	r = bpf_task_storage_get(&dbk_usb_tasks, child, 0, 0);
	if (!r)
		return storage_busy(child) ? -EPERM : 0;
	return deny(r, child, 0, DBK_USB_R_PTRACE, 0, 0, 0, cur->tgid);
}

/* PTRACE_TRACEME would hand the marked task's memory to its parent. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(dbk_usb_traceme, struct task_struct *parent, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct dbk_usb_rules *r;

	if (ret)
		return ret;
	r = bpf_task_storage_get(&dbk_usb_tasks, cur, 0, 0);
	if (!r)
		return storage_busy(cur) ? -EPERM : 0;
	return deny(r, cur, 0, DBK_USB_R_PTRACE, 0, 0, 0, parent->tgid);
}

char _license[] SEC("license") = "GPL";

#endif /* !DBK_USB_HOST_TEST */
