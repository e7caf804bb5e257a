#!/bin/bash
# Tail calls past the hook's buffer (review R5-2): the kernel bounds what an
# attached program reads of its tracepoint buffer, never what the program
# it tail-calls reads (tests/policy/tailread.bpf.c read the kernel stack
# past the ctx).  dbk-policy refuses objects with a program array, and the
# module refuses a guard that uses one, or that reads past its ctx.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
TAIL=$DBK_BUILD/tests/policy/tailread.bpf.o
out=$(pol load tailread "$TAIL" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
if [ $rc = 1 ] && grep -q "program array" <<<"$out" && [ ! -e /sys/fs/bpf/devbroker/tailread ]; then
	echo "ok - dbk-policy refuses a policy with a program array (tail calls), nothing pinned"
else
	echo "not ok - dbk-policy refuses a policy with a program array (exit $rc)"; RC=1
fi
# The same programs loaded by hand (bpftool, as root may), named as a guard.
PIN=/sys/fs/bpf/dbk-tailread
bpftool prog loadall "$TAIL" "$PIN" 2>&1 | sed 's/^/# /'
pt guard-pin "$A" "$PIN/entry" "a guard that tail-calls (its program array)"
pt guard-pin "$A" "$PIN/reach" "a guard that reads past its ctx"
rm -rf "$PIN"
pol_clean
exit $RC
