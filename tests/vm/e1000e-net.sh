#!/bin/bash
# drivers/e1000e under devbrokerd: two e1000e NICs on one QEMU hub
# (nothing leaves the VM), the first driven by our driver (the TAP dbk0),
# the second by the kernel's e1000e inside a network namespace.  ping both
# ways, a TCP transfer each way with its SHA-256 compared at both ends,
# QMP set_link off and on seen as dbk0's carrier, the driver SIGKILLed
# mid-transfer and restarted on the same interface (ifindex, address kept)
# with the transfer completing, revoke; the register firewall
# (Policy=e1000e_firewall) it all ran under, and what it refuses; --itr
# (EITR) holding a flood's interrupts to its rate.
# TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/e1000e-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
IF=dbk0
NS=peer
MB=${E1000E_MB:-64}
PING="busybox ping"
W=/tmp/dbk-e1000e
rm -rf "$W"; mkdir -p "$W"; chmod 0777 "$W"

nics=($(e1000e_nics))
[ ${#nics[@]} = 2 ] || fail "want two e1000e NICs, found ${#nics[@]}"
ours=${nics[0]} theirs=${nics[1]}
echo "# ours $ours, the kernel's $theirs"
export IF NS ours

# The kernel's e1000e must not take ours: devbroker's by driver_override.
e1000e_ours "$ours"
DESC="the kernel's e1000e drives $theirs only"
ok wait_for 20 bash -c "[ -d /sys/bus/pci/devices/$theirs/net ] && [ ! -e /sys/bus/pci/devices/$ours/driver ] || [ \"\$(basename \$(readlink /sys/bus/pci/devices/$ours/driver))\" != e1000e ]"
netns_nic "$theirs" $NS 10.88.0.2
keth=$NETNS_IF

broker_setup
# The shipped manifest: AutoBind=no, so that the kernel's NIC stays the kernel's.
cp "$DBK_MANIFESTS/e1000e.conf" "$BRK/sys/e1000e.conf"
broker_start
state() { dev_field "$ours" state; }
export -f state
ctl bind "$ours" > /dev/null

DESC="devbrokerd starts e1000e on $ours: $IF appears"
ok wait_for 60 bash -c 'ip link show $IF > /dev/null 2>&1'
ip -d link show $IF | sed 's/^/# /'
grep 'e1000e:' "$BROKER_LOG" | sed 's/^/# /'
DESC="$IF has the NIC's own MAC (52:54:00:12:34:01, read from RAL0/RAH0)"
ok wait_for 10 bash -c '[ "$(cat /sys/class/net/$IF/address)" = 52:54:00:12:34:01 ]'
ip addr add 10.88.0.1/24 dev $IF
ip link set $IF up
DESC="carrier on $IF (the NIC's link, STATUS.LU)"
ok wait_for 20 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ]'
DESC="ping the kernel's NIC from ours"
ok wait_for 30 $PING -c 1 -W 2 10.88.0.2
pings() {	# pings NAME [ip netns exec NS] ...: busybox ping's summary, shown as a TAP comment
	local name=$1; shift
	"$@" > "$W/$name.ping" 2>&1
	sed 's/^/# /' "$W/$name.ping" | tail -n 3
	grep -q ' 0% packet loss' "$W/$name.ping"
}
DESC="... 50 pings, none lost"
ok pings out $PING -q -c 50 -i 0.05 -W 5 10.88.0.2
DESC="ping ours from the kernel's NIC (in the namespace), 20 pings, none lost"
ok pings in ip netns exec $NS $PING -q -c 20 -i 0.05 -W 5 10.88.0.1

# TCP: a receiver writes the SHA-256 of what it got; the sender of what it sent.
cat > "$W/xfer.py" <<'EOT'
import hashlib, socket, sys
mode, host, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
h = hashlib.sha256()
if mode == "recv":
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(1); s.settimeout(60)
    c, _ = s.accept(); c.settimeout(120); n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        h.update(b); n += len(b)
    print(n, h.hexdigest())
else:
    import os, time
    for i in range(60):	# the receiver may still be starting (python under TCG)
        try:
            c = socket.create_connection((host, port), timeout=120); break
        except ConnectionRefusedError:
            time.sleep(0.5)
    n = 0
    while n < size:
        b = os.urandom(min(65536, size - n)); h.update(b); c.sendall(b); n += len(b)
    c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
    print(n, h.hexdigest())
EOT
xfer() {	# xfer NAME RECV_NS RECV_ADDR SEND_NS: MB MiB, both ends' counts and sums
	local rx=() tx=() t0
	[ -n "$2" ] && rx=(ip netns exec "$2")
	[ -n "$4" ] && tx=(ip netns exec "$4")
	"${rx[@]}" python3 "$W/xfer.py" recv "$3" 5001 0 > "$W/$1.recv" 2>&1 &
	local rpid=$!
	sleep 1
	t0=$SECONDS
	"${tx[@]}" timeout 300 python3 "$W/xfer.py" send "$3" 5001 $((MB << 20)) > "$W/$1.send" 2>&1
	wait $rpid
	echo "# $1: sent $(tail -n 1 "$W/$1.send"), received $(tail -n 1 "$W/$1.recv"), $((SECONDS - t0)) s"
	grep -q Traceback "$W/$1.send" "$W/$1.recv" && sed 's/^/#   /' "$W/$1.send" "$W/$1.recv"
	[ -s "$W/$1.send" ] && [ "$(cat "$W/$1.send")" = "$(cat "$W/$1.recv")" ] &&
		[ "$(cut -d' ' -f1 "$W/$1.send")" = $((MB << 20)) ]
}
DESC="TCP, $MB MiB from ours to the kernel's: the same SHA-256 at both ends"
ok xfer out $NS 10.88.0.2 ""
DESC="TCP, $MB MiB from the kernel's to ours: the same SHA-256 at both ends"
ok xfer in "" 10.88.0.1 $NS
# The kernel's TSO frames reach us as IP fragments (QEMU 7.2 "segments"
# so on a hub), whose TCP checksum no NIC verifies.  With its TSO off the
# segments are whole, our NIC verifies them (RXCSUM) and the driver tells
# the system so: the data must still arrive intact.
cat > "$W/tso.py" <<'EOT'
import array, fcntl, socket, struct, sys
ETHTOOL_STSO, SIOCETHTOOL = 0x1f, 0x8946	# <linux/ethtool.h>, <linux/sockios.h>
cmd = int(sys.argv[3], 0) if len(sys.argv) > 3 else ETHTOOL_STSO	# IF VALUE [ETHTOOL_S* command]
def ethtool(c, v):
    val = array.array("B", struct.pack("II", c, v))
    ifr = struct.pack("16sP", sys.argv[1].encode(), val.buffer_info()[0]) + bytes(16)
    fcntl.ioctl(socket.socket(), SIOCETHTOOL, ifr)
    return struct.unpack("II", val.tobytes())[1]
ethtool(cmd, int(sys.argv[2]))
# Read back (each ETHTOOL_S* command's ETHTOOL_G* is one less): exit 1 if not so.
sys.exit(0 if ethtool(cmd - 1, 0) == int(sys.argv[2]) else 1)
EOT
ip netns exec $NS python3 "$W/tso.py" "$keth" 0
DESC="TCP, $((MB / 4)) MiB from the kernel's (its TSO off: whole segments, checksums our NIC verifies) to ours: the same SHA-256"
MB=$((MB / 4)) ok xfer intso "" 10.88.0.1 $NS
ip netns exec $NS python3 "$W/tso.py" "$keth" 1
# Forwarding: a received frame whose checksum our NIC verified is passed
# on with the pseudo-header's sum in its field (NEEDS_CSUM), as the
# system's own are; forwarded out an interface without checksum offload
# (a veth with tx checksumming off), the system must complete it.  A TCP
# transfer from the kernel's NIC (TSO off: whole segments) through dbk0
# and the forwarding root namespace to a third namespace, which verifies
# the checksums in software: intact, no checksum error counted there.
ip netns add far
ip link add fwd0 type veth peer name fwd1
ip link set fwd1 netns far
ip addr add 10.90.0.1/24 dev fwd0
ip link set fwd0 up
ip -n far link set lo up
ip -n far addr add 10.90.0.2/24 dev fwd1
ip -n far link set fwd1 up
ip -n far route add default via 10.90.0.1
ip -n $NS route add 10.90.0.0/24 via 10.88.0.1
sysctl -qw net.ipv4.ip_forward=1
# in_csum_errors [NS]: TcpInCsumErrors + UdpInCsumErrors (+ Udp6), or "none" (lib.sh)
in_csum_errors() { csum_errors "${1:-}" TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors; }
fwd_check() {
	python3 "$W/tso.py" fwd0 0 0x17 &&	# ETHTOOL_STXCSUM: off, read back
		ip netns exec $NS python3 "$W/tso.py" "$keth" 0 &&
		xfer fwd far 10.90.0.2 $NS && [ "$(in_csum_errors far)" = 0 ]
}
DESC="TCP forwarded: $((MB / 4)) MiB from the kernel's NIC through dbk0 and a veth without checksum offload to a third namespace: the same SHA-256, no checksum error there"
MB=$((MB / 4)) ok fwd_check
ip netns exec $NS python3 "$W/tso.py" "$keth" 1
sysctl -qw net.ipv4.ip_forward=0
grep 'e1000e:' "$BROKER_LOG" | tail -n 3 | sed 's/^/# /'

# Oversized frames from the system: the MTU raised above the 82574's
# jumbo frame.  Dropped and counted by the driver, never on the wire.
ip link set $IF mtu 9400
DESC="MTU 9400: a 9300-byte ping is dropped by the driver (logged), none reaches the other NIC"
ok bash -c "! busybox ping -c 2 -W 2 -s 9300 10.88.0.2 > /dev/null && grep -q 'dbk0: dropped a frame shorter than 14 or longer than 9234 bytes' '$BROKER_LOG'"
ip link set $IF mtu 1500
DESC="... MTU 1500 again: ping flows"
ok wait_for 10 busybox ping -c 1 -W 2 10.88.0.2

# Many small UDP datagrams each way, counted at both ends, and the loss
# split: what the receiving socket dropped itself (its buffer full: the
# receiving program, starved of CPU on a loaded TCG host, 27% seen with
# another VM and a kernel build beside it) is reported apart; what was
# lost on the way (our driver, the NICs, the hub) fails from 10%.  The
# bench measures the rate.
cat > "$W/udp.py" <<'EOT'
import socket, sys, time
mode, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "recv":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((host, port)); s.settimeout(5); n = 0
    open(sys.argv[5], "w").close()	# bound: the sender may start
    try:
        while True:
            b = s.recv(2048)
            if b == b"end": break
            n += 1
    except socket.timeout:
        pass
    print(n)
else:
    payload = b"x" * 18
    for i in range(count):
        s.sendto(payload, (host, port))
        if i % 64 == 63: time.sleep(0.001)
    time.sleep(0.5)
    for i in range(5): s.sendto(b"end", (host, port))
EOT
rcvbuf_errors() {	# rcvbuf_errors [ip netns exec NS]: UdpRcvbufErrors there
	"$@" nstat -saz UdpRcvbufErrors | awk '/UdpRcvbufErrors/ {print $2}'
}
udp() {	# udp NAME RECV_NS RECV_ADDR SEND_NS COUNT
	local rx=() tx=() got full0 full way
	[ -n "$2" ] && rx=(ip netns exec "$2")
	[ -n "$4" ] && tx=(ip netns exec "$4")
	rm -f "$W/$1.bound"
	full0=$(rcvbuf_errors "${rx[@]}")
	"${rx[@]}" python3 "$W/udp.py" recv "$3" 5002 0 "$W/$1.bound" > "$W/$1.udp" 2>&1 &
	local rpid=$!
	# Not a fixed sleep: python may take seconds to start under TCG, and
	# datagrams sent before the bind are lost, all of them.
	wait_for 60 test -e "$W/$1.bound"
	"${tx[@]}" python3 "$W/udp.py" send "$3" 5002 "$5"
	wait $rpid
	got=$(cat "$W/$1.udp")
	full=$(( $(rcvbuf_errors "${rx[@]}") - full0 ))
	way=$(( $5 - got - full ))
	[ "$way" -ge 0 ] || way=0
	echo "# $1: $5 UDP datagrams of 18 bytes sent, $got received ($(( ($5 - got) * 100 / $5 ))% lost):" \
		"$full dropped by the receiving socket (its buffer full), $way ($(( way * 100 / $5 ))%) on the way"
	echo "# so far: $IF tx_dropped $(cat /sys/class/net/$IF/statistics/tx_dropped), rx_dropped $(cat /sys/class/net/$IF/statistics/rx_dropped);" \
		"$keth rx_dropped $(ip netns exec $NS cat /sys/class/net/$keth/statistics/rx_dropped), rx_missed $(ip netns exec $NS cat /sys/class/net/$keth/statistics/rx_missed_errors)"
	[ "$got" -le "$5" ] && [ $(( way * 100 / $5 )) -lt 10 ]
}
DESC="5000 small UDP datagrams from ours to the kernel's: counted at both ends, under 10% lost on the way"
ok udp uout $NS 10.88.0.2 "" 5000
DESC="5000 small UDP datagrams from the kernel's to ours: counted at both ends, under 10% lost on the way"
ok udp uin "" 10.88.0.1 $NS 5000

# The link, through QMP (tests/vm/qmp-agent on the host): LSC, the other vector, the carrier.
qmp set_link '{"name": "nic0", "up": false}' | sed 's/^/# set_link down: /'
DESC="QMP set_link nic0 off: $IF loses its carrier"
ok wait_for 20 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 0 ]'
qmp set_link '{"name": "nic0", "up": true}' | sed 's/^/# set_link up: /'
DESC="... and on: the carrier back, ping again"
ok wait_for 30 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.88.0.2 > /dev/null'

# kill -9 mid-transfer: devbrokerd keeps dbk0 (same ifindex, address),
# the restarted driver resets the NIC and brings it up anew, and the TCP
# connection that was running completes (retransmitted), its sum intact.
ifindex=$(cat /sys/class/net/$IF/ifindex)
(MB=$((MB / 4)) xfer across $NS 10.88.0.2 "" > "$W/across.result" 2>&1; echo $? >> "$W/across.result") &
xpid=$!
sleep 4
pid=$(dev_field "$ours" pid)
kill -KILL "$pid"
DESC="the driver SIGKILLed mid-transfer: restarted, $IF kept (ifindex $ifindex, 10.88.0.1/24) with the NIC's MAC"
ok wait_for 60 bash -c 'p=$(dev_field $ours pid); [ "$p" != None ] && [ "$p" != '"$pid"' ] && [ "$(cat /sys/class/net/$IF/ifindex)" = '"$ifindex"' ] && ip -4 addr show dev $IF | grep -q "inet 10.88.0.1/24" && [ "$(cat /sys/class/net/$IF/address)" = 52:54:00:12:34:01 ]'
DESC="... carrier and ping again through the restarted driver (the device reset and brought up anew), no reconfiguration"
ok wait_for 40 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.88.0.2 > /dev/null'
wait $xpid
sed 's/^/# /' "$W/across.result"
DESC="... the $((MB / 4)) MiB TCP transfer running across the restart completed, the same SHA-256 at both ends"
ok test "$(tail -n 1 "$W/across.result")" = 0
DESC="... and a $((MB / 4)) MiB transfer again"
MB=$((MB / 4)) ok xfer again $NS 10.88.0.2 ""

# IPv6: TSO6 is off (QEMU 7.2 corrupts it on a hub), so the system
# segments, and the device completes the checksums.  Behind a hop-by-hop
# header (IPV6_HOPOPTS on the socket) the device cannot place a TCP
# checksum (csum_start past an extension header) and the driver completes
# it in software: the data must arrive intact, no checksum error counted.
ip addr add fd88::1/64 dev $IF nodad
ip -n $NS addr add fd88::2/64 dev "$keth" nodad
DESC="TCP over IPv6, $((MB / 4)) MiB from ours to the kernel's: the same SHA-256 at both ends"
MB=$((MB / 4)) ok xfer out6 $NS fd88::2 ""
cat > "$W/hbh.py" <<'EOT'
import hashlib, os, socket, sys
mode, h = sys.argv[1], hashlib.sha256()
if mode == "recv":
    s = socket.socket(socket.AF_INET6); s.bind(("fd88::2", 5005)); s.listen(1); s.settimeout(60)
    open(sys.argv[2], "w").close()
    c, _ = s.accept(); c.settimeout(60); n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        h.update(b); n += len(b)
else:
    c = socket.socket(socket.AF_INET6)
    # IPV6_HOPOPTS (54): an 8-byte hop-by-hop header of padding (PadN)
    c.setsockopt(socket.IPPROTO_IPV6, 54, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
    c.settimeout(60); c.connect(("fd88::2", 5005)); n = 0
    for i in range(64):
        b = os.urandom(16384); h.update(b); c.sendall(b); n += len(b)
    c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(n, h.hexdigest())
EOT
rm -f "$W/hbh.bound"
ip netns exec $NS python3 "$W/hbh.py" recv "$W/hbh.bound" > "$W/hbh.recv" 2>&1 &
hpid=$!
wait_for 60 test -e "$W/hbh.bound"
timeout 120 python3 "$W/hbh.py" send > "$W/hbh.send" 2>&1
wait $hpid
echo "# hop-by-hop: sent $(cat "$W/hbh.send"), received $(cat "$W/hbh.recv")"
DESC="TCP over IPv6 behind a hop-by-hop header (checksums completed by the driver), 1 MiB: the same SHA-256, no checksum error in the namespace"
ok bash -c "[ -s '$W/hbh.send' ] && [ \"\$(cat '$W/hbh.send')\" = \"\$(cat '$W/hbh.recv')\" ] && [ '$(in_csum_errors $NS)' = 0 ]"

# Bad checksums from the wire: a UDP datagram and a TCP SYN from the
# kernel's NIC with their checksums wrong (raw sockets: no offload
# touches them).  Our NIC sees the error (TCPE), the driver passes them
# plain, and our system verifies, drops and counts them; no SYN-ACK.
cat > "$W/badsum.py" <<'EOT'
import socket, struct
src, dst = socket.inet_aton("10.88.0.2"), socket.inet_aton("10.88.0.1")
u = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
u.sendto(struct.pack("!HHHH", 40000, 5003, 8 + 4, 0x1234) + b"bad!", ("10.88.0.1", 0))
t = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
t.sendto(struct.pack("!HHIIBBHHH", 40001, 5004, 1, 0, 5 << 4, 0x02, 65535, 0x1234, 0), ("10.88.0.1", 0))
EOT
before=$(in_csum_errors)
ip netns exec $NS python3 "$W/badsum.py"
export -f in_csum_errors csum_errors
DESC="a UDP datagram and a TCP SYN with bad checksums from the wire: dropped and counted by our system (Tcp/UdpInCsumErrors +2, from $before)"
ok wait_for 10 bash -c "[ \"\$(in_csum_errors)\" = $((before + 2)) ]"
nstat -saz TcpInCsumErrors UdpInCsumErrors | sed 's/^/# /'

DESC="no DMA fault in the kernel log (behind an IOMMU: the NIC kept to the driver's buffers)"
ok bash -c '! dmesg | grep -E "DMAR: \[DMA (Read|Write)\]|DMAR:.*fault"'
# An orderly stop (SIGTERM, exit 0: Restart=on-failure does not restart),
# for the driver's last words: the adaptive polling's counts since its
# restart (the 16 MiB transfers move frames by the dozen a pass: polling;
# the pings, one at a time: interrupts).
pid=$(dev_field "$ours" pid)
kill -TERM "$pid"
DESC="SIGTERM: the driver exits 0, $IF goes"
ok wait_for 30 bash -c "grep -q 'exited: driver e1000e (pid $pid): exit 0' '$BROKER_LOG' && ! ip link show $IF > /dev/null 2>&1"
grep -E 'e1000e: (poll|[0-9]+ frames)' "$BROKER_LOG" | tail -n 2 | sed 's/^/# /'
DESC="... it received frames both by interrupt and by polling (--poll adaptive, the default), and switched"
ok bash -c "grep 'e1000e: poll adaptive' '$BROKER_LOG' | tail -n 1 | grep -qE ': [1-9][0-9]* frames received by interrupt .* [1-9][0-9]* by polling; [1-9][0-9]* switches'"
grep -E 'e1000e: offloads:' "$BROKER_LOG" | tail -n 1 | sed 's/^/# /'
DESC="... its offloads worked: TSO frames sent, checksums completed by the NIC and (behind the hop-by-hop header) by the driver, checksums verified by the NIC passed on, the two bad ones passed plain"
ok bash -c "grep 'e1000e: offloads:' '$BROKER_LOG' | tail -n 1 | grep -qE 'sent [1-9][0-9]* TSO frames, [1-9][0-9]* checksums by the device, [1-9][0-9]* by the driver, 0 refused; received [1-9][0-9]* checksums verified by the device, 2 bad'"
ctl bind "$ours" > /dev/null
DESC="bound again: a new $IF, carrier, ping"
ok ours_up
ctl revoke "$ours" > /dev/null
DESC="revoke: the driver stopped, $IF gone"
ok wait_for 20 bash -c '[ "$(state)" = revoked ] && ! ip link show $IF > /dev/null 2>&1'
DESC="the driver ran under its register firewall (e1000e_firewall loaded), nothing of its refused"
ok bash -c "'$CTL' policy list | grep -q 'e1000e_firewall on dbk_policy_access' && ! grep -q 'denied on $ours' '$BROKER_LOG'"
"$DBK_HELPERS/dbk-launch" --wait --device "$ours" --bars 1 --mmap 1 -- "$DBK_HELPERS/e1000e-fwtest" \
	> "$W/fw.out" 2> "$W/fw.err"
rc=$?
grep -E '^(not )?ok' "$W/fw.out" | sed 's/^/# e1000e-fwtest: /'
sed 's/^/# e1000e-fwtest stderr: /' "$W/fw.err"
DESC="... a program on a grant of the NIC (BAR0 mapped): the queue pages mapped, the rest mediated; the driver's registers answer, EEC, CTRL_EXT, MDIC, WUC, a RAL0 write and a statistic refused (EPERM)"
ok bash -c "[ $rc = 0 ] && grep -q '^ok' '$W/fw.out' && ! grep -q '^not ok' '$W/fw.out'"
DESC="... each refusal reported by devbrokerd (a denied event: EEC, 0x10)"
ok wait_for 10 bash -c "grep 'denied on $ours' '$BROKER_LOG' | grep -q 'what 0x10 '"
grep "denied on $ours" "$BROKER_LOG" | head -n 2 | sed 's/^/# /'

# Interrupt moderation (--itr 100: EITR, §10.2, on every vector), waking
# on interrupts only (--poll irq): a flood of small datagrams in is taken
# in batches, at most 100 interrupts a second; the reset's EITR would
# send thousands (7,813 a second at most), one every few frames.
sed -e 's|^Exec=.*|& --itr 100 --poll irq|' "$DBK_MANIFESTS/e1000e.conf" > "$BRK/sys/e1000e.conf.new"
mv "$BRK/sys/e1000e.conf.new" "$BRK/sys/e1000e.conf"
sleep 2		# the inotify reload
ctl bind "$ours" > /dev/null
DESC="--itr 100 --poll irq: bound again, $IF up, ping"
ok ours_up
irqs() {	# the interrupts of our NIC's vectors so far, every CPU
	awk -v d="devbroker[$ours]-" 'index($0, d) { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
		END { print s + 0 }' /proc/interrupts
}
i0=$(irqs) t0=$(date +%s%N)
udp itr "" 10.88.0.1 $NS 5000 > "$W/itr.out"; urc=$?
i1=$(irqs) t1=$(date +%s%N)
sed 's/^/# /' "$W/itr.out"
ms=$(( (t1 - t0) / 1000000 ))
echo "# --itr 100: $((i1 - i0)) interrupts in $ms ms"
DESC="... 5000 datagrams in (under 10% lost on the way) with $((i1 - i0)) interrupts in $ms ms: at most 100 a second (and 10 more)"
ok bash -c "[ $urc = 0 ] && [ $((i1 - i0)) -gt 0 ] && [ $((i1 - i0)) -le $(( ms / 10 + 10 )) ]"
grep -E 'e1000e: poll irq' "$BROKER_LOG" | tail -n 1 | sed 's/^/# /'
ctl revoke "$ours" > /dev/null
wait_for 20 bash -c '[ "$(state)" = revoked ]'
broker_stop
DESC="devbrokerd never touched the kernel's NIC: still e1000e's, still in the namespace"
ok bash -c "[ \"\$(basename \$(readlink /sys/bus/pci/devices/$theirs/driver))\" = e1000e ] && ip -n $NS link show '$keth' > /dev/null"
echo "1..$n"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG" | tail -n 60; dmesg | tail -n 30 | sed 's/^/# /'; }
exit "$FAILED"
