#!/bin/bash
# devbrokerd's network frontend (Network=, a TAP): a fake driver
# (tests/helpers/dbk-netecho, which answers ARP and ICMP echo for one
# address and never touches its device) on an edu device.  The interface
# appears in `ip link` with the driver's MAC and carrier, is multi-queue,
# not persistent and owned by root; frames flow both ways (ping); the
# driver cannot make it persistent or its own (seccomp); another local
# user cannot attach a queue to it, while the driver runs or while it is
# restarted; it survives the driver's kill -9 (same ifindex, address and
# route, carrier off until the restarted driver's); filters left on the
# interface (by a driver, or anyone) do not reach the restarted driver,
# and a driver's attempt to leave them is refused; moved to another
# namespace and renamed there, it is let go and a new one made, never a
# same-named interface here attached to; it carries the vnet header, the
# driver (dbk-netecho --offload) may set checksum and TSO offloads (not
# the header's size or byte order), which a restart resets; malformed
# headers are refused, a header that lies about a UDP checksum has its
# datagram delivered (the same plain is dropped); the interface goes
# when the driver exits for good, is revoked, or devbrokerd stops; a name
# another interface holds is refused.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
IF=dbk0
PEER=10.77.0.2
PING="busybox ping"

# The driver: dbk-netecho, or once, when /tmp/dbk-net-evil is missing, a
# compromised driver that tries to leave a drop-all socket filter and a
# TX filter on the interface before it crashes (exit 1: restarted).
cat > /tmp/dbk-net-evil.py <<'EOT'
import ctypes, fcntl, os, struct, sys
fd = int(os.environ["DBK_NET_FD"])
insn = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))	# BPF_RET|BPF_K 0
for name, cmd, arg in (("TUNATTACHFILTER", 0x401054d5, struct.pack("H6xQ", 1, ctypes.addressof(insn))),
		       ("TUNSETTXFILTER", 0x400454d1, struct.pack("HH6s", 0, 1, b"\x02\0\0\0\0\x66"))):
	try:
		fcntl.ioctl(fd, cmd, arg)
		print("dbk-net-evil: %s: allowed" % name, file=sys.stderr)
	except OSError as e:
		print("dbk-net-evil: %s: %s" % (name, os.strerror(e.errno)), file=sys.stderr)
sys.exit(1)
EOT
cat > /tmp/dbk-net-driver <<EOT
#!/bin/sh
if [ ! -e /tmp/dbk-net-evil ]; then : > /tmp/dbk-net-evil; exec python3 /tmp/dbk-net-evil.py; fi
# /tmp/dbk-net-opt: options for one run only (the restarted driver runs without).
opt=\$(cat /tmp/dbk-net-opt 2>/dev/null); : > /tmp/dbk-net-opt
exec $DBK_HELPERS/dbk-netecho \$opt \$1
EOT
chmod 644 /tmp/dbk-net-evil.py; chmod 755 /tmp/dbk-net-driver
: > /tmp/dbk-net-evil; chmod 666 /tmp/dbk-net-evil
echo --offload > /tmp/dbk-net-opt; chmod 666 /tmp/dbk-net-opt
# What `ethtool -k` says of tx-checksumming and tcp-segmentation-offload
# (ETHTOOL_GTXCSUM, ETHTOOL_GTSO; no ethtool in the image).
cat > /tmp/dbk-ethtool.py <<'EOT'
import ctypes, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out = []
for name, cmd in (("tx-checksumming", 0x16), ("tcp-segmentation-offload", 0x1e)):
	ev = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
	fcntl.ioctl(s, 0x8946, struct.pack("16sP16x", sys.argv[1].encode(), ctypes.addressof(ev)))	# SIOCETHTOOL
	out.append("%s %s" % (name, "on" if struct.unpack("II", ev.raw[:8])[1] else "off"))
print(", ".join(out))
EOT
# dbk-udprecv.py PORT READY: the UDP datagrams to PORT, until "end" (or 30 s)
cat > /tmp/dbk-udprecv.py <<'EOT'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(30)
open(sys.argv[2], "w").close()
got = []
try:
	while not got or got[-1] != "end":
		got.append(s.recv(2048).decode(errors="replace"))
except socket.timeout:
	got.append("(timeout)")
print(" ".join(got))
EOT
chmod 644 /tmp/dbk-ethtool.py /tmp/dbk-udprecv.py
features() { python3 /tmp/dbk-ethtool.py $IF; }
udp_csum_errors() { csum_errors "" UdpInCsumErrors; }
# tunattach IFNAME [poison] [SECONDS]: attach a queue to TAP IFNAME as the
# caller (TUNSETIFF IFF_TAP|IFF_NO_PI|IFF_MULTI_QUEUE), repeatedly for
# SECONDS (counts: "attached N refused M errors"), or once, and with
# poison leave a drop-all socket filter and a TX filter on it.
cat > /tmp/dbk-tunattach.py <<'EOT'
import ctypes, errno, fcntl, os, struct, sys, time
def attach(name):
	try:
		fd = os.open("/dev/net/tun", os.O_RDWR)
	except OSError as e:
		return -e.errno
	try:
		fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", name.encode(), 0x0002 | 0x1000 | 0x0100))
	except OSError as e:
		os.close(fd)
		return -e.errno
	return fd
name, mode = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
if mode == "loop":
	end, res = time.time() + float(sys.argv[3]), {"attached": 0, "refused": 0, "errors": 0}
	while time.time() < end:
		fd = attach(name)
		res["attached" if fd >= 0 else "refused" if fd == -errno.EPERM else "errors"] += 1
		if fd >= 0:
			os.close(fd)
		time.sleep(0.01)
	print("attached %(attached)d refused %(refused)d errors %(errors)d" % res)
	sys.exit(0)
fd = attach(name)
if fd < 0:
	print(errno.errorcode[-fd]); sys.exit(0)
print("attached")
if mode == "poison":
	insn = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))
	fcntl.ioctl(fd, 0x401054d5, struct.pack("H6xQ", 1, ctypes.addressof(insn)))
	fcntl.ioctl(fd, 0x400454d1, struct.pack("HH6s", 0, 1, b"\x02\0\0\0\0\x66"))
	print("poisoned")
EOT
chmod 644 /tmp/dbk-tunattach.py
AS_OTHER="setpriv --reuid 4242 --regid 4242 --clear-groups --inh-caps=-all --bounding-set=-all"
# The driver script writes /tmp/dbk-net-evil: an account of its own (a
# dynamic user's file systems are read-only).
netecho_manifest() {	# [NetworkOffloads= value, yes]
	cat > "$BRK/sys/netecho.conf.new" <<EOT
[Driver]
Name=netecho
Exec=/bin/sh /tmp/dbk-net-driver $PEER
DynamicUser=no
User=4242
Restart=on-failure
RestartBurst=10
[Match]
PCI=pci:v00001234d000011E8*
[Frontend]
Network=dbk%i
NetworkOffloads=${1:-yes}
EOT
	mv "$BRK/sys/netecho.conf.new" "$BRK/sys/netecho.conf"
}
state() { dev_field "$bdf" state; }
up() {	# the interface configured as an administrator would
	ip addr add 10.77.0.1/24 dev $IF && ip link set $IF up
}
export IF
export -f state

modprobe tun
# What systemd-udev's 50-udev-default.rules sets on every distribution:
# any user may open it (and create or attach to what tun_not_capable() lets it).
chmod 0666 /dev/net/tun
broker_setup
netecho_manifest
broker_start
bdf=$(edu_bdfs | head -n1)
export bdf

DESC="the driver's interface $IF appears in ip link"
ok wait_for 30 bash -c 'ip link show $IF > /dev/null 2>&1'
ip -d link show $IF | sed 's/^/# /'
DESC="... with the vnet header (ip -d link: tun type tap pi off vnet_hdr on)"
ok bash -c 'ip -d link show $IF | grep -q "tun type tap pi off vnet_hdr on "'
DESC="... a multi-queue TAP, not persistent (tun_flags $(cat /sys/class/net/$IF/tun_flags 2>/dev/null))"
ok bash -c 'f=$(cat /sys/class/net/$IF/tun_flags) && [ $((f & 0x1102)) = $((0x1102)) ] && [ $((f & 0x0800)) = 0 ]'
DESC="... with the MAC the driver set (02:00:00:db:00:01)"
ok wait_for 10 bash -c '[ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
DESC="... owned by root, no group (owner 0, group -1)"
ok bash -c '[ "$(cat /sys/class/net/$IF/owner)" = 0 ] && [ "$(cat /sys/class/net/$IF/group)" = -1 ]'
r=$($AS_OTHER python3 /tmp/dbk-tunattach.py $IF 2>&1 | tail -n 1)
DESC="another user (uid 4242) cannot attach a queue to $IF while the driver runs ($r)"
ok test "$r" = EPERM
DESC="the driver could not make it persistent nor its own: the sandbox refused TUNSETPERSIST and TUNSETOWNER"
ok bash -c "grep -q 'dbk-netecho: TUNSETPERSIST: Operation not permitted' '$BROKER_LOG' && grep -q 'dbk-netecho: TUNSETOWNER: Operation not permitted' '$BROKER_LOG'"
DESC="... nor change the vnet header's size or byte order, nor turn on the kernel's debug log: the sandbox refused TUNSETVNETHDRSZ, TUNSETVNETLE and TUNSETDEBUG"
ok bash -c "grep -q 'dbk-netecho: TUNSETVNETHDRSZ: Operation not permitted' '$BROKER_LOG' && grep -q 'dbk-netecho: TUNSETVNETLE: Operation not permitted' '$BROKER_LOG' && grep -q 'dbk-netecho: TUNSETDEBUG: Operation not permitted' '$BROKER_LOG'"
DESC="the driver (--offload) set its offloads CSUM|TSO4: $(features 2>&1)"
ok bash -c "grep -q 'dbk-netecho: offloads CSUM|TSO4: set' '$BROKER_LOG' && [ \"\$(python3 /tmp/dbk-ethtool.py $IF)\" = 'tx-checksumming on, tcp-segmentation-offload on' ]"
up
DESC="configured and up: carrier on (the driver's), operstate up"
ok wait_for 10 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && [ "$(cat /sys/class/net/$IF/operstate)" = up ]'
DESC="ping $PEER through $IF: ARP and ICMP answered by the driver"
ok $PING -c 3 -W 5 $PEER
echo dbk > /dev/udp/$PEER/9
DESC="... a UDP datagram reaches the driver (dbk_net_read_meta) with its checksum to complete (NEEDS_CSUM, csum_start 34, csum_offset 6)"
ok wait_for 10 grep -q 'dbk-netecho: a frame to complete: flags 1 gso_type 0 csum_start 34 csum_offset 6, IP protocol 17' "$BROKER_LOG"
pings() {	# pings MAX_LOSS_PERCENT ARGS...: busybox ping's summary as a TAP comment
	local max=$1 loss; shift
	$PING "$@" > /tmp/dbk-net.ping 2>&1
	sed 's/^/# /' /tmp/dbk-net.ping | tail -n 2
	loss=$(sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p' /tmp/dbk-net.ping)
	[ -n "$loss" ] && [ "$loss" -le "$max" ]
}
DESC="... 200 pings of 1400 bytes, at most 2% lost (the fake driver is one thread under TCG)"
ok pings 2 -q -c 200 -i 0.01 -s 1400 -W 5 $PEER
DESC="devbrokerd's log says the interface was made for the driver; devbrokerctl list and status show it"
ok bash -c "grep -q 'network interface $IF (TAP, ifindex [0-9]*) for driver netecho' '$BROKER_LOG' && ctl list | grep -q ' $IF' && ctl status $bdf | grep -q 'Network: *$IF'"

# Headers written to the interface (SIGUSR1): malformed ones refused, one
# that lies about a UDP checksum believed.  The kernel refuses the first
# two (virtio_net_hdr_to_skb(): gso_size 0; tun_get_user(): hdr_len past
# the end), libdev the gso_type 0x7f before any write: with a frame the
# kernel cannot read it is still EINVAL, not the kernel's EFAULT (which a
# header-less write of that frame gets).  rx_frame_errors is only shown:
# the kernel counts the gso_size 0 one alone, and Linux 6.1 does not
# report the count for a TAP (tap_netdev_ops' ndo_get_stats64 is
# dev_get_tstats64, not tun_net_get_stats64).
frerr=$(cat /sys/class/net/$IF/statistics/rx_frame_errors)
udperr=$(udp_csum_errors)
rm -f /tmp/dbk-net.udpready
python3 /tmp/dbk-udprecv.py 7777 /tmp/dbk-net.udpready > /tmp/dbk-net.udp 2>&1 &
udprecv=$!
wait_for 20 test -e /tmp/dbk-net.udpready
kill -USR1 "$(dev_field "$bdf" pid)"
wait_for 20 grep -q 'dbk-netecho: lie: end (no checksum): written' "$BROKER_LOG"
wait $udprecv
grep -E 'dbk-netecho: (malformed|an unreadable|lie)' "$BROKER_LOG" | sed 's/^/# /'
DESC="malformed headers (TCPV4 gso_size 0, csum_start past the end, gso_type 0x7f): each refused, EINVAL"
ok test "$(grep -c 'dbk-netecho: malformed: .*: Invalid argument$' "$BROKER_LOG")" = 3
echo "# rx_frame_errors $frerr -> $(cat /sys/class/net/$IF/statistics/rx_frame_errors)"
DESC="... gso_type 0x7f by libdev, before the kernel: an unreadable frame so marked is EINVAL, without the header EFAULT"
ok grep -q 'dbk-netecho: an unreadable frame: Bad address; with gso_type 0x7f: Invalid argument$' "$BROKER_LOG"
DESC="a UDP datagram with a corrupt checksum marked NEEDS_CSUM is delivered, the same plain is not (received: $(cat /tmp/dbk-net.udp))"
ok test "$(cat /tmp/dbk-net.udp)" = "lie-partial end"
DESC="... but dropped and counted: UdpInCsumErrors +1 ($udperr -> $(udp_csum_errors))"
ok test "$(udp_csum_errors)" = $((udperr + 1))

# A restart keeps the interface: same ifindex, address and route, no
# carrier while no driver is attached (ip monitor records it).
ifindex=$(cat /sys/class/net/$IF/ifindex)
ip route add 10.77.1.0/24 via $PEER dev $IF
ip -o monitor link dev $IF > /tmp/dbk-net.monitor 2>&1 &
mon=$!
sleep 0.5
$PING -c 400 -i 0.05 -W 1 $PEER > /tmp/dbk-net.during 2>&1 &
pinger=$!
sleep 2
$AS_OTHER python3 /tmp/dbk-tunattach.py $IF loop 8 > /tmp/dbk-net.other 2>&1 &
other=$!
sleep 0.5
pid=$(dev_field "$bdf" pid)
kill -KILL "$pid"
before=$(grep -c 'bytes from' /tmp/dbk-net.during)
DESC="the driver SIGKILLed mid-ping: restarted, $IF kept (ifindex $ifindex, its address and route)"
ok wait_for 40 bash -c 'p=$(dev_field $bdf pid); [ "$p" != None ] && [ "$p" != '"$pid"' ] && [ "$(cat /sys/class/net/$IF/ifindex)" = '"$ifindex"' ] && ip -4 addr show dev $IF | grep -q "inet 10.77.0.1/24" && ip route show 10.77.1.0/24 | grep -q "dev $IF"'
DESC="... devbrokerd kept it for the restart (its log), never removed it"
ok bash -c "grep -q 'network interface $IF (ifindex $ifindex) kept for the restarted driver netecho' '$BROKER_LOG' && ! grep -q 'network interface $IF removed' '$BROKER_LOG'"
DESC="... carrier on again, the MAC the restarted driver set"
ok wait_for 20 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && [ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
DESC="... the restarted driver (without --offload) has no offloads: devbrokerd reset them ($(features 2>&1))"
ok test "$(features)" = "tx-checksumming off, tcp-segmentation-offload off"
wait $pinger
kill $mon 2>/dev/null; wait $mon 2>/dev/null
sed 's/^/# /' /tmp/dbk-net.during | tail -n 2
sed 's/^/# monitor: /' /tmp/dbk-net.monitor | head -n 6
DESC="... the carrier was off while no driver was attached (NO-CARRIER in ip monitor)"
ok grep -q 'NO-CARRIER' /tmp/dbk-net.monitor
DESC="... the ping that ran across the restart got answers after it ($before before the kill, $(grep -c 'bytes from' /tmp/dbk-net.during) in all; no reconfiguration)"
ok test "$(grep -c 'bytes from' /tmp/dbk-net.during)" -gt $((before + 20))
DESC="... and a new ping flows"
ok wait_for 20 $PING -c 1 -W 2 $PEER
wait $other
DESC="... uid 4242, trying to attach a queue across the restart, was always refused ($(cat /tmp/dbk-net.other))"
ok grep -q '^attached 0 refused [1-9][0-9]* errors 0$' /tmp/dbk-net.other
DESC="... still owned by root, devbrokerd's and the driver's queues its only ones"
ok bash -c '[ "$(cat /sys/class/net/$IF/owner)" = 0 ] && ip -d link show $IF | grep -Eq "numqueues 1 .*numdisabled 1"'

# Filters left on the interface do not reach a restarted driver: root
# leaves a drop-all socket filter and a TX filter on it (the kernel keeps
# them on the device, and on the running driver's queue), the driver is
# killed, the restarted one's queue is clean.
r=$(python3 /tmp/dbk-tunattach.py $IF poison 2>&1 | tr '\n' ' ' | sed 's/ $//')
DESC="a drop-all filter left on $IF ($r): the running driver gets nothing"
ok bash -c "[ '$r' = 'attached poisoned' ] && ! $PING -c 3 -W 1 $PEER > /dev/null 2>&1"
kill -KILL "$(dev_field "$bdf" pid)"
DESC="... the driver killed and restarted: ping flows again (IFF_NOFILTER, filters reset)"
ok wait_for 40 bash -c "[ \$(grep -c 'kept for the restarted driver' '$BROKER_LOG') -ge 2 ] && $PING -c 1 -W 2 $PEER > /dev/null"

# A compromised driver tries to leave them itself before it crashes.
rm -f /tmp/dbk-net-evil
kill -KILL "$(dev_field "$bdf" pid)"
DESC="a driver that sets a drop-all filter and a TX filter then exits 1: the sandbox refused both"
ok wait_for 40 bash -c "grep -q 'dbk-net-evil: TUNATTACHFILTER: Operation not permitted' '$BROKER_LOG' && grep -q 'dbk-net-evil: TUNSETTXFILTER: Operation not permitted' '$BROKER_LOG'"
DESC="... its restarted successor runs on $IF (kept, ifindex $ifindex), ping flows"
ok wait_for 60 bash -c "[ \$(grep -c 'kept for the restarted driver' '$BROKER_LOG') -ge 4 ] && [ \$(cat /sys/class/net/$IF/ifindex) = $ifindex ] && $PING -c 1 -W 2 $PEER > /dev/null"

# Stopped for good (SIGTERM: it exits 0, Restart=on-failure): no restart, the interface goes.
kill -TERM "$(dev_field "$bdf" pid)"
DESC="the driver exits cleanly (no restart to wait for): $IF gone"
ok wait_for 20 bash -c '[ "$(state)" = idle ] && ! ip link show $IF > /dev/null 2>&1'
# Without NetworkOffloads=yes: no vnet header, and a driver asking for
# offloads (--offload) is told they are not supported (EOPNOTSUPP).
netecho_manifest no
kill -HUP "$BROKER_PID"	# devbrokerd rereads its manifests
sleep 1
echo --offload > /tmp/dbk-net-opt
ctl bind "$bdf" > /dev/null
DESC="bound again: a new $IF (a new ifindex) with the driver's MAC"
ok wait_for 40 bash -c 'i=$(cat /sys/class/net/$IF/ifindex 2>/dev/null); [ "$(state)" = running ] && [ -n "$i" ] && [ "$i" != '"$ifindex"' ] && [ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
DESC="... NetworkOffloads=no: made without the vnet header (vnet_hdr off), the driver's offloads refused (libdev: EOPNOTSUPP; a raw TUNSETOFFLOAD: EPERM, the sandbox)"
ok bash -c "ip -d link show $IF | grep -q 'tun type tap pi off vnet_hdr off ' && grep 'dbk-netecho: offloads CSUM|TSO4' '$BROKER_LOG' | tail -n 1 | grep -q 'Operation not supported' && grep 'dbk-netecho: raw TUNSETOFFLOAD' '$BROKER_LOG' | tail -n 1 | grep -q 'Operation not permitted'"
up
DESC="... carrier, and ping through it"
ok wait_for 20 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.77.0.2 > /dev/null'

ctl revoke "$bdf" > /dev/null
DESC="revoke: the driver stopped, $IF gone"
ok wait_for 20 bash -c '[ "$(state)" = revoked ] && ! ip link show $IF > /dev/null 2>&1'

# A name another interface holds: never attached to, the start fails.
ip link add $IF type dummy
ctl bind "$bdf" > /dev/null
DESC="$IF taken by a dummy interface: the start fails with a clear log line, the dummy untouched"
ok wait_for 20 bash -c "grep -q 'network interface $IF: an interface of that name exists already' '$BROKER_LOG' && ip -d link show $IF | grep -q dummy"
ip link del $IF
ctl revoke "$bdf" > /dev/null 2>&1
wait_for 10 bash -c '[ "$(state)" = revoked ]'
ctl bind "$bdf" > /dev/null
DESC="the name free again: the driver runs, $IF back"
ok wait_for 40 bash -c '[ "$(state)" = running ] && ip link show $IF > /dev/null 2>&1 && [ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'

# The kept interface moved to another namespace and renamed there to the
# name of a user's TAP here: the restart must not attach to that one by
# name, and makes a new interface of its own instead.
ip tuntap add dev vm0 mode tap user 4242 multi_queue
ip netns add dbkctr
old=$(cat /sys/class/net/$IF/ifindex)
ip link set $IF netns dbkctr && ip -n dbkctr link set $IF name vm0
kill -KILL "$(dev_field "$bdf" pid)"
DESC="$IF moved to another namespace and renamed vm0 there, the driver killed: devbrokerd lets it go and makes a new $IF"
ok wait_for 40 bash -c "grep -q 'network interface $IF: a new queue for the restarted driver: it is no longer devbrokerd' '$BROKER_LOG' && [ \"\$(state)\" = running ] && i=\$(cat /sys/class/net/$IF/ifindex) && [ \"\$i\" != $old ]"
ip -d link show vm0 | sed 's/^/# /'
DESC="... this namespace's vm0 (a user's TAP) untouched: no queue attached, owner 4242"
ok bash -c 'ip -d link show vm0 | grep -Eq "numqueues 0 .*numdisabled 0 .*user 4242"'
ip netns del dbkctr
ip link del vm0

broker_stop
DESC="devbrokerd's shutdown removes $IF"
ok wait_for 10 bash -c '! ip link show $IF > /dev/null 2>&1'

echo "1..$n"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG" | tail -n 60; }
exit "$FAILED"
