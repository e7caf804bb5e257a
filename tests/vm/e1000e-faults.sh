#!/bin/bash
# drivers/e1000e's faults, on the pc machine (its PCI slots hot-plug, as
# vm-nvme-block's): two e1000e NICs on one QEMU hub, ours (dbk0) and the
# kernel's in a network namespace, as in e1000e-net.sh.
#  - A transmit hang: bus mastering cleared behind the driver's back (root's
#    setpci), so the NIC writes no descriptor back; the driver sees its
#    descriptors pending with no progress for 5 s, resets the NIC and
#    brings it up anew by itself (no restart), and traffic flows again.
#  - Hot-unplug mid-transfer (QMP device_del nic0): the driver stops, dbk0
#    goes, devbrokerd forgets the device; plugged in again (device_add),
#    the NIC is bound and serves a new dbk0.
#  - Revocation mid-transfer (devbrokerctl revoke): the driver exits 3,
#    dbk0 goes; bound again, the NIC serves a new dbk0.
# The driver runs with --poll always (it never sleeps on the RX vector:
# the faults must be seen by a polling loop too; vm-e1000e-net runs the
# default, adaptive) and --offload none (legacy descriptors only, the
# system checksumming and segmenting; vm-e1000e-net runs with TSO).
# The harness fails the run on any kernel splat.  TAP output.
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
. tests/vm/e1000e-lib.sh
n=0
ok() { n=$((n + 1)); if "$@"; then echo "ok $n - $DESC"; else echo "not ok $n - $DESC"; FAILED=1; fi; }
FAILED=0
IF=dbk0
NS=peer
W=/tmp/dbk-e1000e-faults
rm -rf "$W"; mkdir -p "$W"; chmod 0777 "$W"

nics=($(e1000e_nics))
[ ${#nics[@]} = 2 ] || fail "want two e1000e NICs, found ${#nics[@]}"
ours=${nics[0]} theirs=${nics[1]}
echo "# ours $ours, the kernel's $theirs"
export IF NS ours

e1000e_ours "$ours"
netns_nic "$theirs" $NS 10.88.0.2
keth=$NETNS_IF

broker_setup
sed -e 's|^Exec=.*|& --poll always --offload none|' "$DBK_MANIFESTS/e1000e.conf" > "$BRK/sys/e1000e.conf"
broker_start
ctl bind "$ours" > /dev/null

DESC="e1000e on $ours: $IF up, ping the kernel's NIC"
ok ours_up

# The transmit hang.
pid=$(dev_field "$ours" pid)
setpci -s "$ours" COMMAND=0:4		# PCI_COMMAND_MASTER off, behind the driver's back
busybox ping -c 60 -i 0.25 -W 1 10.88.0.2 > "$W/hang.ping" 2>&1 &
pinger=$!
DESC="bus mastering cleared behind the driver: it detects the transmit hang and resets the NIC"
ok wait_for 60 grep -q 'e1000e: transmit hang' "$BROKER_LOG"
grep 'e1000e: transmit hang' "$BROKER_LOG" | sed 's/^/# /'
DESC="... by itself (the same pid $pid, no restart): bus mastering on again, carrier, ping flows"
ok wait_for 40 bash -c '[ "$(dev_field $ours pid)" = '"$pid"' ] && [ $((0x$(setpci -s $ours COMMAND) & 4)) = 4 ] && [ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.88.0.2 > /dev/null'
kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null

# A TCP stream from ours to the kernel's NIC, for the unplug and the revoke.
cat > "$W/stream.py" <<'EOT'
import socket, sys, time
mode = sys.argv[1]
if mode == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.88.0.2", 5003)); s.listen(1)
    open(sys.argv[2], "w").close()
    c, _ = s.accept(); c.settimeout(30); n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            n += len(b)
    except OSError:
        pass
    print(n)
else:
    c = socket.create_connection(("10.88.0.2", 5003), timeout=30)
    b = b"x" * 65536
    try:
        while True: c.sendall(b)
    except OSError as e:
        print("send:", e)
EOT
stream() {	# start a sender and a receiver ($spid, $rpid); check that it flows
	rm -f "$W/bound"
	ip netns exec $NS python3 "$W/stream.py" recv "$W/bound" > "$W/stream.recv" 2>&1 &
	rpid=$!
	wait_for 60 test -e "$W/bound"
	t0=$(cat /sys/class/net/$IF/statistics/tx_bytes)
	python3 "$W/stream.py" send > "$W/stream.send" 2>&1 &
	spid=$!
	# Measured once it flows: the sender's start (python under the debug
	# kernel: seconds) is not the stream's rate.
	wait_for 60 bash -c "[ \$(cat /sys/class/net/$IF/statistics/tx_bytes) -gt $((t0 + (64 << 10))) ]"
	t0=$(cat /sys/class/net/$IF/statistics/tx_bytes)
	sleep 3
	t1=$(cat /sys/class/net/$IF/statistics/tx_bytes)
	DESC="a TCP stream through $IF: $(( (t1 - t0) >> 10 )) KiB in 3 s"
	ok test $((t1 - t0)) -gt $((256 << 10))
}
stream_stop() {
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
	kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null
}

# Hot-unplug mid-transfer.
stream
pid=$(dev_field "$ours" pid)
qmp device_del '{"id": "nic0"}' | sed 's/^/# device_del: /'
DESC="hot-unplug mid-transfer (QMP device_del nic0): $ours leaves the bus and devbrokerctl list"
ok wait_for 60 bash -c "[ ! -e /sys/bus/pci/devices/$ours ] && ! ctl --json list | json \"[d['id'] for d in r['devices']]\" | grep -q '$ours'"
DESC="... the driver (pid $pid) is gone and reaped (SIGKILL or exit 3), no zombie"
ok wait_for 30 bash -c "! kill -0 $pid 2>/dev/null && grep -qE 'exited: driver e1000e \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG' && ! ps -eo stat= | grep -q '^Z'"
grep -E "$ours: (removed|exited|frontend)" "$BROKER_LOG" | tail -n 4 | sed 's/^/# /'
DESC="... its last words count the one reset of the transmit hang"
ok grep -q 'e1000e: .* sent; .*; 1 resets' "$BROKER_LOG"
grep -E 'e1000e: [0-9]+ frames received' "$BROKER_LOG" | sed 's/^/# /'
DESC="... $IF gone with it (no restart follows an unplug)"
ok wait_for 20 bash -c '! ip link show $IF > /dev/null 2>&1'
stream_stop
DESC="... devbrokerd still answers, nothing in D state"
ok bash -c "ctl --json list > /dev/null && no_dstate"

# Plugged in again: the kernel's e1000e probes it first (a hot-added PCI
# device is attached whatever drivers_autoprobe says: pci_bus_add_device()
# calls device_attach()); devbrokerctl bind takes it from e1000e.
for i in $(seq 50); do	# QEMU finishes a device_del after the guest lets go
	out=$(qmp device_add '{"driver": "e1000e", "netdev": "hp0", "id": "nic0", "mac": "52:54:00:12:34:01"}' 2>&1)
	echo "$out" | grep -q error || break
	sleep 0.2
done
echo "# device_add: $out"
DESC="device_add nic0 again: the NIC is back on the bus, devbrokerd lists it"
mine="[d['id'] for d in r['devices'] if d['driver'] == 'e1000e' and d['id'] != '$theirs']"
ok wait_for 60 bash -c "ctl --json list | json \"$mine\" | grep -q \"'\""
new=$(ctl --json list | json "$mine[0]")
export new
ctl bind "$new" > /dev/null
DESC="... bound ($new): a new $IF, carrier, ping the kernel's NIC"
ok ours_up
DESC="... 50 pings, none lost"
ok bash -c 'busybox ping -q -c 50 -i 0.05 -W 5 10.88.0.2 | grep -q " 0% packet loss"'

# Revocation mid-transfer.
stream
pid=$(dev_field "$new" pid)
ctl revoke "$new" > /dev/null
DESC="revoke mid-transfer: the driver (pid $pid) is gone (SIGKILL, or exit 3 if it saw the revocation first), $IF gone"
ok wait_for 30 bash -c "[ \"\$(dev_field $new state)\" = revoked ] && ! kill -0 $pid 2>/dev/null && grep -qE 'exited: driver e1000e \(pid $pid\): (signal 9|exit 3)' '$BROKER_LOG' && ! ip link show $IF > /dev/null 2>&1"
stream_stop
ctl bind "$new" > /dev/null
DESC="bound again after the revocation: a new $IF, carrier, ping the kernel's NIC"
ok ours_up
DESC="... 50 pings, none lost"
ok bash -c 'busybox ping -q -c 50 -i 0.05 -W 5 10.88.0.2 | grep -q " 0% packet loss"'
broker_stop
grep -E 'e1000e: (poll|offloads|[0-9]+ frames)' "$BROKER_LOG" | tail -n 3 | sed 's/^/# /'
DESC="the last driver stopped with devbrokerd (exit 0); it had polled (--poll always): frames received by polling, none by interrupt"
ok bash -c "grep -q 'exited: driver e1000e (pid [0-9]*): exit 0' '$BROKER_LOG' && grep 'e1000e: poll always' '$BROKER_LOG' | tail -n 1 | grep -qE ': 0 frames received by interrupt .* [1-9][0-9]* by polling'"
DESC="... and offloaded nothing (--offload none): no TSO frame, no checksum by the device, none passed on as verified"
ok bash -c "grep -q 'offloads: none' '$BROKER_LOG' && grep 'e1000e: offloads:' '$BROKER_LOG' | tail -n 1 | grep -q 'sent 0 TSO frames, 0 checksums by the device, 0 by the driver, 0 refused; received 0 checksums verified by the device, 0 bad'"
DESC="the kernel's NIC untouched: still e1000e's, in the namespace"
ok bash -c "[ \"\$(basename \$(readlink /sys/bus/pci/devices/$theirs/driver))\" = e1000e ] && ip -n $NS link show '$keth' > /dev/null"
echo "1..$n"
[ "$FAILED" = 0 ] || { echo "# devbrokerd log:"; sed 's/^/# /' "$BROKER_LOG" | tail -n 60; dmesg | tail -n 30 | sed 's/^/# /'; }
exit "$FAILED"
