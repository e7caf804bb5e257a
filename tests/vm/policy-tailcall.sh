#!/bin/bash
# Tail calls past the hook's buffer (review R5-2): the kernel bounds what an
# attached program reads of its tracepoint buffer, never what the program
# it tail-calls reads (tests/policy/tailread.bpf.c read the kernel stack
# past the ctx).  dbk-policy refuses objects with a program array, and the
# module refuses a guard that uses one, or that reads past its ctx.  Root
# can still attach one by hand: its target can write the stack above the
# buffer (a kernel gap no module closes), but not make the module write a
# value its guard did not approve; nor can an extension (freplace) of the
# guard approve for it.
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

# What root can attach by hand against a live guarded grant (bpf-attach):
# a tail call whose target writes the stack above the hook's buffer (the
# value the module writes must be the one the guard approved), and an
# extension (freplace) of the guard itself (the module stops trusting it).
ATTACH=$DBK_BUILD/tests/policy/bpf-attach
pol load guard "$OBJ/edu_dma_guard.bpf.o" | sed 's/^/# /'
PIN=/sys/fs/bpf/dbk-tailsmash
"$ATTACH" "$DBK_BUILD/tests/policy/tailsmash.bpf.o" "$PIN" 2>&1 | sed 's/^/# /'
pt smash "$A"
echo "# tailsmash's map (copies overwritten, the first copy's word + 1, copies seen): $(bpftool map dump pinned "$PIN/seen" 2>&1 | tr -s ' \n' ' ')"
rm -rf "$PIN"
# A shell command for policy-test's system(): quoted, the build may live under a path with spaces.
printf -v DBK_EXT_CMD '%q ' "$ATTACH" --freplace "$DBK_BUILD/tests/policy/extguard.bpf.o" \
	/sys/fs/bpf/devbroker/guard/guard edu_dma_guard /sys/fs/bpf/dbk-extguard
export DBK_EXT_CMD
pt ext "$A"
rm -f /sys/fs/bpf/dbk-extguard
pol_clean
exit $RC
