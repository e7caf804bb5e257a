#!/bin/bash
# bpffs mounted with the kernel's default mode (1777, not systemd's 0700)
# (review R5-3): an unprivileged user pre-creates devbroker-staging and
# plants a stale "load" whose links/ is a symbolic link to root's files.
# dbk-policy must refuse a directory that is not root's own and private,
# rather than walk it (it used to unlink, as root, every file the link
# pointed at).  Likewise a policies root the user made: list, show and
# set refuse it.  Runs last in its boot: it remounts bpffs.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
pol_clean
umount /sys/fs/bpf 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
stat -c '# bpffs root mode %a owner %U' /sys/fs/bpf
# The user makes the policies' root itself, with a policy's directories
# in it: list, show and set must not read (or write) what
# another user's directory leads to (review R6: they used plain paths).
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
	mkdir -m 0777 /sys/fs/bpf/devbroker &&
	mkdir -p /sys/fs/bpf/devbroker/mischief/maps /sys/fs/bpf/devbroker/mischief/links &&
	echo "# planted /sys/fs/bpf/devbroker as $(id -u)"'
for cmd in "list" "show mischief counts" "set mischief counts[0]=1"; do
	out=$("$POL" $cmd 2>&1); rc=$?
	echo "$out" | sed "s/^/# dbk-policy $cmd: /"
	if [ $rc = 1 ] && grep -q "not private" <<<"$out"; then
		echo "ok - dbk-policy $cmd refuses a policies root another user made"
	else
		echo "not ok - dbk-policy $cmd refuses a policies root another user made (exit $rc)"; RC=1
	fi
done
rm -rf /sys/fs/bpf/devbroker
# A map name is a pin's name, not a path out of the policy's directory.
out=$("$POL" show mischief ../../x 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "not a map name" <<<"$out"; then
	echo "ok - dbk-policy show refuses a map name with a slash"
else
	echo "not ok - dbk-policy show refuses a map name with a slash (exit $rc: $out)"; RC=1
fi
mkdir -p /root/victim && echo precious > /root/victim/file1 && echo precious > /root/victim/file2
chmod 700 /root/victim
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
	mkdir -m 0777 /sys/fs/bpf/devbroker-staging &&
	mkdir /sys/fs/bpf/devbroker-staging/x-999999 &&
	ln -s /root/victim /sys/fs/bpf/devbroker-staging/x-999999/links && echo "# planted as $(id -u)"'
out=$("$POL" load mischief "$DBK_BUILD/tests/policy/mischief.bpf.o" 2>&1); rc=$?
echo "$out" | sed 's/^/# dbk-policy: /'
if [ $rc = 1 ] && grep -q "not a private directory" <<<"$out"; then
	echo "ok - dbk-policy refuses a staging directory another user made"
else
	echo "not ok - dbk-policy refuses a staging directory another user made (exit $rc)"; RC=1
fi
if [ -e /root/victim/file1 ] && [ -e /root/victim/file2 ]; then
	echo "ok - root's files survive the user's symbolic link"
else
	echo "not ok - root's files survive (dbk-policy deleted /root/victim/* through a user's symlink)"; RC=1
fi
umount /sys/fs/bpf
mount -t bpf -o mode=0700 bpf /sys/fs/bpf
exit $RC
