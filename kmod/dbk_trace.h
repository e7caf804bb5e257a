/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devbroker's policy hooks: writable raw tracepoints whose first argument
 * is a ctx struct from the UAPI header ("Policy hooks"), for eBPF
 * programs in SEC("raw_tp.w/<name>"); and the trace event of a denial.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM devbroker

#if !defined(_DBK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DBK_TRACE_H

#include <linux/tracepoint.h>
#include <linux/devbroker.h>

/*
 * The BPF pass of define_trace.h defines DECLARE_TRACE_WRITABLE, which
 * records how many bytes of the ctx a program may write; every other pass
 * sees a plain tracepoint.
 */
#undef DBK_POLICY_HOOK
#ifdef DECLARE_TRACE_WRITABLE
#define DBK_POLICY_HOOK(h)							\
	DECLARE_TRACE_WRITABLE(dbk_policy_##h, TP_PROTO(struct dbk_policy_##h##_ctx *ctx), \
			       TP_ARGS(ctx), sizeof(struct dbk_policy_##h##_ctx))
#else
#define DBK_POLICY_HOOK(h)							\
	DECLARE_TRACE(dbk_policy_##h, TP_PROTO(struct dbk_policy_##h##_ctx *ctx), TP_ARGS(ctx))
#endif
DBK_POLICY_HOOK(grant);
DBK_POLICY_HOOK(access);
DBK_POLICY_HOOK(config);
DBK_POLICY_HOOK(irq);
DBK_POLICY_HOOK(dma);
DBK_POLICY_HOOK(master);

TRACE_EVENT(dbk_policy_denied,
	    TP_PROTO(const char *hook, const char *dev, u64 cookie, u64 what, u64 value, int err),
	    TP_ARGS(hook, dev, cookie, what, value, err),
	    TP_STRUCT__entry(__string(hook, hook)
			     __string(dev, dev)
			     __field(u64, cookie)
			     __field(u64, what)
			     __field(u64, value)
			     __field(int, err)
			     __field(int, pid)
			     __field(unsigned int, uid)),
	    TP_fast_assign(__assign_str(hook, hook);
			   __assign_str(dev, dev);
			   __entry->cookie = cookie;
			   __entry->what = what;
			   __entry->value = value;
			   __entry->err = err;
			   __entry->pid = current->tgid;
			   __entry->uid = from_kuid(&init_user_ns, current_uid());),
	    TP_printk("%s denied on %s to pid %d uid %u (cookie %llu): what 0x%llx value 0x%llx, errno %d",
		      __get_str(hook), __get_str(dev), __entry->pid, __entry->uid,
		      __entry->cookie, __entry->what, __entry->value, __entry->err)
);

#endif /* _DBK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dbk_trace
#include <trace/define_trace.h>
