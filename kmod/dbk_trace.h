/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devbroker's policy hooks: writable raw tracepoints for SEC("raw_tp.w/<name>") eBPF
 * programs, taking a UAPI ctx struct ("Policy hooks"); dbk_policy_denied is read only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM devbroker

#if !defined(_DBK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DBK_TRACE_H

#include <linux/tracepoint.h>
#include <linux/devbroker.h>

/*
 * define_trace.h's BPF pass defines DECLARE_TRACE_WRITABLE (how many ctx bytes a
 * program may write); every other pass sees a plain tracepoint.
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

DECLARE_TRACE(dbk_policy_denied, TP_PROTO(struct dbk_policy_denied_ctx *ctx), TP_ARGS(ctx));

#endif /* _DBK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dbk_trace
#include <trace/define_trace.h>
