#!/bin/bash
# Quarantine after a crash loop and release; the sandbox seen from inside a
# driver; manifests cut by the administrator's limits; malformed manifests.
# TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
# The edu device: the edu driver behind a wrapper that crashes while a flag
# exists; it asks for 1M of DMA where the limits allow 64K.  The e1000e: the
# sandbox probe, as its "driver".
LIMIT_DMA=64K broker_setup
cat > "$BRK/crashy.sh" <<EOT
#!/bin/sh
[ -e $BRK/crash ] && exit 1
exec $(manifest_driver edu) "\$@"
EOT
chmod 755 "$BRK" "$BRK/crashy.sh"
touch "$BRK/crash"
EDU_DMA=1M EDU_EXEC="/bin/sh $BRK/crashy.sh --name edu%i" edu_manifest "$BRK/sys/edu.conf"
sed -i "s|^PCI=.*|PCI=pci:v00001234d000011E8*\nClass=0x00ff00/0xffffff|" "$BRK/sys/edu.conf"
cp "$DBK_HELPERS/print-euid" /tmp/suid-euid && chmod 4755 /tmp/suid-euid
cat > "$BRK/sys/probe.conf" <<EOT
[Driver]
Name=probe
Exec=$DBK_HELPERS/sandbox-probe - /tmp/suid-euid
User=nobody
[Match]
PCI=pci:v00008086d000010D3*
[Rights]
BARs=0
[Frontend]
FUSEMount=/run/devbroker/probe/%d
EOT
# Malformed manifests: each must be reported with FILE:LINE and skipped.
printf '[Driver]\nName=bad1\nExec=/bin/true\nUser=nobody\nFrobnicate=yes\n[Match]\nPCI=x*\n' > "$BRK/sys/bad1.conf"
printf '[Driver]\nName=bad2\nExec=/bin/true\nUser=nobody\n[Match]\nPCI=x*\n[Rights]\nDMA=lots\n' > "$BRK/sys/bad2.conf"
printf '[Driver]\nName=bad3\nExec=relative/path\nUser=root\n' > "$BRK/sys/bad3.conf"
printf 'this is not an ini file\n' > "$BRK/sys/bad4.conf"
modprobe fuse
broker_start

DESC="devbrokerd runs despite four malformed manifests"
ok kill -0 "$BROKER_PID"
drivers=$(ctl --json drivers)
DESC="drivers --json: bad1..bad4 invalid, each with a FILE:LINE error; edu and probe valid"
ok bash -c "echo '$drivers' | json \"sorted((d['name'] or d['path'].split('/')[-1], d['valid']) for d in r['drivers'])\" | grep -q \"('bad1', False)\" &&
	echo '$drivers' | json \"all(d['valid'] or (d['error'] and ':' in d['error'] and d['path'].split('/')[-1] in d['error']) for d in r['drivers'])\" | grep -qx True &&
	echo '$drivers' | json \"sum(1 for d in r['drivers'] if not d['valid'])\" | grep -qx 4 &&
	echo '$drivers' | json \"sum(1 for d in r['drivers'] if d['valid'])\" | grep -qx 2"
echo "$drivers" | json "'\n'.join('# ' + d['error'] for d in r['drivers'] if not d['valid'])"
DESC="bad1's error names its line (5: the unknown key)"
ok bash -c "echo '$drivers' | json \"[d['error'] for d in r['drivers'] if 'bad1' in d['path']][0]\" | grep -q 'bad1.conf:5'"

# Crash loop on the device the edu manifest took (first by name): quarantine after 5.
DESC="crash loop: quarantined after 5 crashes"
ok wait_for 30 bash -c "ctl --json list | json \"[d['state'] for d in r['devices'] if d['driver'] == 'edu']\" | grep -q quarantined"
qdev=$(ctl --json list | json "[d['id'] for d in r['devices'] if d['driver'] == 'edu'][0]")
DESC="quarantine: still bound to devbroker, no driver, bus mastering off"
ok bash -c "[ \"\$(basename \$(readlink /sys/bus/pci/devices/$qdev/driver))\" = devbroker ] && [ \"\$(dev_field $qdev pid)\" = None ] && [ \$(( 0x\$(setpci -s $qdev COMMAND) & 4 )) = 0 ]"
DESC="the limits cut the edu manifest's DMA from 1M to 64K, and status says so"
ok bash -c "[ \"\$(dev_field $qdev rights | python3 -c 'import sys,ast; print(ast.literal_eval(sys.stdin.read())[\"dma\"])')\" = 65536 ] && dev_field $qdev cuts | grep -q dma"
rm -f "$BRK/crash"
ctl release "$qdev" > /dev/null
DESC="release: the driver starts again and /dev/edu0 works"
ok wait_for 10 bash -c "[ \"\$(fact /dev/edu0 7)\" = 5040 ]"

# The sandbox probe drives the other device.
DESC="the sandbox probe ran as a driver"
# Its TAP lines go to its standard output, devbrokerd's log (a dynamic
# user can write no file): the first run's, up to its closing line.
# devbrokerd logs each line of a driver's output as "ID: NAME[PID]: line".
probe_re='^devbrokerd: [^ ]+: probe\[[0-9]+\]: '
ok wait_for 15 grep -qE "$probe_re# sandbox-probe: " "$BROKER_LOG"
sed -nE "s/$probe_re//p" "$BROKER_LOG" |
	awk '/^(not )?ok [0-9]+ - sandbox: / { print } /^# sandbox-probe: / { print; exit }' > "$DBK_VM_DIR/probe.out"
cat "$DBK_VM_DIR/probe.out"
grep -q '^not ok' "$DBK_VM_DIR/probe.out" && FAILED=1
pdev=$(ctl --json list | json "[d['id'] for d in r['devices'] if d['driver'] == 'probe'][0]")
DESC="a driver's output cannot pass for devbrokerd's lines: prefixed, its escape sequence, carriage return and U+2028 shown as '?'"
ok wait_for 10 bash -c "grep -qE \"$probe_re\"'x\\?devbrokerd: 0000:00:00.0: started: forged\\?\\[2J$' '$BROKER_LOG' && grep -qE \"$probe_re\"'y[?]{3}devbrokerd: 0000:00:00.0: started: forged-LS$' '$BROKER_LOG' && ! grep -q '^devbrokerd: 0000:00:00.0: started: forged' '$BROKER_LOG' && ! grep -q \$'\\x1b' '$BROKER_LOG' && ! grep -q \$'\\u2028' '$BROKER_LOG'"
DESC="FUSE frontend: the broker mounted /run/devbroker/probe/$pdev for the driver, a user reads its file"
ok wait_for 10 bash -c "[ \"\$(as_user cat /run/devbroker/probe/$pdev/hello)\" = 'served by a sandboxed driver' ]"
ppid=$(dev_field "$pdev" pid)
kill -KILL "$ppid"
DESC="a driver's flood: 200 lines in 10 s logged, then its pipe left alone until the window ends; what it wrote beyond them counted"
ok wait_for 10 bash -c "grep -qE '^devbrokerd: $pdev: probe\\[$ppid\\]: more than 200 lines in 10 s: its output is read again in [0-9]+ ms' '$BROKER_LOG' && grep -qE '^devbrokerd: $pdev: probe\\[$ppid\\]: [0-9]+ lines not logged \\(more than 200 in 10 s\\)' '$BROKER_LOG' && [ \$(awk -v p='$pdev: probe[$ppid]: ' 'index(\$0, p) { if (index(\$0, \"more than 200 lines\")) { print n; exit } n++ }' '$BROKER_LOG') -le 200 ]"
grep -E "probe\\[$ppid\\]: ([0-9]+ lines not logged|more than|x)" "$BROKER_LOG" | sed 's/^/# /'
DESC="when the FUSE driver dies its mount goes (and a restarted one mounts again)"
ok wait_for 10 bash -c "p=\$(dev_field $pdev pid); [ \"\$p\" != None ] && [ \"\$p\" != $ppid ] && [ \"\$(grep -c ' /run/devbroker/probe/$pdev ' /proc/mounts)\" = 1 ] && [ \"\$(as_user cat /run/devbroker/probe/$pdev/hello)\" = 'served by a sandboxed driver' ]"
# An eBPF policy refuses a grant; devbrokerctl events reports the denial.
edev=$(ctl --json list | json "[d['id'] for d in r['devices'] if d['driver'] == 'edu'][0]")
cookie=$(dev_field "$edev" policy_cookie)
ctl --json events > "$DBK_VM_DIR/events.json" &
evpid=$!
# Its first line, the acknowledgement, says it is subscribed: no event after it is missed.
wait_for 30 grep -q '"ok": *true' "$DBK_VM_DIR/events.json" || echo "# events: no acknowledgement in 30 s"
# The edu manifest asks for 64K of DMA (after the cut); allow this driver none.
ctl policy load default "$DBK_BUILD/policies/default.bpf.o" \
	--map "limits[0x$cookie]=bar_mask=1,max_vectors=1,dma_quota=0,flags=0x3" > /dev/null
ctl revoke "$edev" > /dev/null
ctl bind "$edev" > /dev/null 2>&1
DESC="a policy that refuses the edu driver's grant: the driver does not start"
ok wait_for 10 bash -c "[ \"\$(dev_field $edev pid)\" = None ] && [ ! -e /dev/edu0 ]"
DESC="devbrokerctl events reports the denial: grant, the device, errno"
ok wait_for 10 bash -c "grep '\"event\": *\"denied\"' $DBK_VM_DIR/events.json | grep -q 'grant denied on $edev'"
grep '"denied"' "$DBK_VM_DIR/events.json" | head -n 1 | sed 's/^/# /'
DESC="the denial came as a binary record, through devbrokerd's program on dbk_policy_denied"
ok grep -q "following PCI policy denials" "$BROKER_LOG"
DESC="devbrokerctl policy list shows it"
ok bash -c "$CTL policy list | grep -q 'default_grant on dbk_policy_grant'"
ctl policy unload default > /dev/null
ctl release "$edev" > /dev/null 2>&1 || ctl bind "$edev" > /dev/null 2>&1
DESC="the policy unloaded, the driver starts again"
ok wait_for 15 bash -c "[ \"\$(fact /dev/edu0 4)\" = 24 ]"
kill "$evpid" 2>/dev/null
broker_stop
echo "# devbrokerd log:"; sed 's/^/#   /' "$BROKER_LOG" | tail -n 30
exit $FAILED
