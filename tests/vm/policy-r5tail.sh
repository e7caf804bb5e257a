#!/bin/bash
# Review PoC: a tail call reads past the access hook's buffer.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
pol load tailread "$DBK_BUILD/tests/policy/tailread.bpf.o" 2>&1 | sed 's/^/# /'
pt firewall "$A" off >/dev/null
bpftool map dump pinned /sys/fs/bpf/devbroker/tailread/maps/leak 2>&1 | sed 's/^/# /'
grep -m3 ' _stext\| _etext' /proc/kallsyms | sed 's/^/# /'
v=$(bpftool -j map lookup pinned /sys/fs/bpf/devbroker/tailread/maps/leak key 16 0 0 0 2>&1)
echo "# entry ran: $v"
echo "ok 1 - dumped"
pol_clean
exit 0
