#!/bin/bash
# devbrokerd's network frontend (Network=, a TAP): a fake driver
# (tests/helpers/dbk-netecho, which answers ARP and ICMP echo for one
# address and never touches its device) on an edu device.  The interface
# appears in `ip link` with the driver's MAC and carrier, is multi-queue
# and not persistent; frames flow both ways (ping); the driver cannot make
# it persistent or its own (seccomp); it survives the driver's kill -9
# (same ifindex, address and route, carrier off until the restarted
# driver's), and goes when the driver exits for good, is revoked, or
# devbrokerd stops; a name another interface holds is refused.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
IF=dbk0
PEER=10.77.0.2
PING="busybox ping"

netecho_manifest() {
	cat > "$BRK/sys/netecho.conf.new" <<EOT
[Driver]
Name=netecho
Exec=$DBK_HELPERS/dbk-netecho $PEER
User=nobody
Restart=on-failure
[Match]
PCI=pci:v00001234d000011E8*
[Frontend]
Network=dbk%i
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
broker_setup
netecho_manifest
broker_start
bdf=$(edu_bdfs | head -n1)
export bdf

DESC="the driver's interface $IF appears in ip link"
ok wait_for 30 bash -c 'ip link show $IF > /dev/null 2>&1'
ip -d link show $IF | sed 's/^/# /'
DESC="... a multi-queue TAP, not persistent (tun_flags $(cat /sys/class/net/$IF/tun_flags 2>/dev/null))"
ok bash -c 'f=$(cat /sys/class/net/$IF/tun_flags) && [ $((f & 0x1102)) = $((0x1102)) ] && [ $((f & 0x0800)) = 0 ]'
DESC="... with the MAC the driver set (02:00:00:db:00:01)"
ok wait_for 10 bash -c '[ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
DESC="... owned by no user or group (owner -1, group -1)"
ok bash -c '[ "$(cat /sys/class/net/$IF/owner)" = -1 ] && [ "$(cat /sys/class/net/$IF/group)" = -1 ]'
DESC="the driver could not make it persistent nor its own: the sandbox refused TUNSETPERSIST and TUNSETOWNER"
ok bash -c "grep -q 'dbk-netecho: TUNSETPERSIST: Operation not permitted' '$BROKER_LOG' && grep -q 'dbk-netecho: TUNSETOWNER: Operation not permitted' '$BROKER_LOG'"
up
DESC="configured and up: carrier on (the driver's), operstate up"
ok wait_for 10 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && [ "$(cat /sys/class/net/$IF/operstate)" = up ]'
DESC="ping $PEER through $IF: ARP and ICMP answered by the driver"
ok $PING -c 3 -W 5 $PEER
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
pid=$(dev_field "$bdf" pid)
kill -KILL "$pid"
before=$(grep -c 'bytes from' /tmp/dbk-net.during)
DESC="the driver SIGKILLed mid-ping: restarted, $IF kept (ifindex $ifindex, its address and route)"
ok wait_for 40 bash -c 'p=$(dev_field $bdf pid); [ "$p" != None ] && [ "$p" != '"$pid"' ] && [ "$(cat /sys/class/net/$IF/ifindex)" = '"$ifindex"' ] && ip -4 addr show dev $IF | grep -q "inet 10.77.0.1/24" && ip route show 10.77.1.0/24 | grep -q "dev $IF"'
DESC="... devbrokerd kept it for the restart (its log), never removed it"
ok bash -c "grep -q 'network interface $IF (ifindex $ifindex) kept for the restarted driver netecho' '$BROKER_LOG' && ! grep -q 'network interface $IF removed' '$BROKER_LOG'"
DESC="... carrier on again, the MAC the restarted driver set"
ok wait_for 20 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && [ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
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

# Stopped for good (SIGTERM: it exits 0, Restart=on-failure): no restart, the interface goes.
kill -TERM "$(dev_field "$bdf" pid)"
DESC="the driver exits cleanly (no restart to wait for): $IF gone"
ok wait_for 20 bash -c '[ "$(state)" = idle ] && ! ip link show $IF > /dev/null 2>&1'
ctl bind "$bdf" > /dev/null
DESC="bound again: a new $IF (a new ifindex) with the driver's MAC"
ok wait_for 40 bash -c 'i=$(cat /sys/class/net/$IF/ifindex 2>/dev/null); [ "$(state)" = running ] && [ -n "$i" ] && [ "$i" != '"$ifindex"' ] && [ "$(cat /sys/class/net/$IF/address)" = 02:00:00:db:00:01 ]'
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

broker_stop
DESC="devbrokerd's shutdown removes $IF"
ok wait_for 10 bash -c '! ip link show $IF > /dev/null 2>&1'

echo "1..$n"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG" | tail -n 60; }
exit "$FAILED"
