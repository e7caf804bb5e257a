#!/usr/bin/python3
"""net-churn: the load on dbk0 in the e1000e campaigns (kill-net, unplug-net),
and the proof that what arrives is what was sent while its driver is killed
or its NIC pulled.

usage: net-churn.py recv ADDR STOPFILE REPORT READYFILE   (the peer's end)
       net-churn.py send ADDR STOPFILE REPORT [--corrupt]  (dbk0's end)

send: a TCP stream to ADDR:5010, a pattern of period 65521 bytes from each
connection's first byte, reconnecting (after 0.2 s) whenever a send fails
or stalls 20 s; and UDP datagrams to ADDR:5011, 100 a second, each an
8-byte sequence number and 1,000 bytes of the pattern from there.  Until
STOPFILE exists; then one line to REPORT:

    TCP_BYTES TCP_CONNECTIONS TCP_ERRORS UDP_SENT UDP_ERRORS

recv: accepts the stream (any number of connections, one after another or
together) and the datagrams, checking every byte against the pattern, until
STOPFILE exists; then one line to REPORT:

    ok|bad|idle TCP_BYTES TCP_CONNECTIONS TCP_BAD UDP_RECEIVED UDP_BAD

bad: a TCP byte or a datagram that differs from what was sent (TCP_BAD:
connections whose stream differed; UDP_BAD: datagrams).  idle: nothing was
received over TCP or UDP.  Lost datagrams and broken connections are the
kills' and unplugs' expected effect, counted by the sender.
--corrupt makes the sender flip one byte of its stream after 256 KiB: the
dry run that shows the receiver's check fires.  Exit status 0 when ok.
"""
import os
import socket
import struct
import sys
import threading
import time

P = 65521
PAT = bytes((i * 131 + (i >> 8) * 7) & 0xff for i in range(P)) * 3
TCP_PORT, UDP_PORT, DGRAM = 5010, 5011, 1000


def stopped(stop):
    return os.path.exists(stop)


def recv_main(addr, stop, report, ready):
    st = {"bytes": 0, "conns": 0, "bad": 0, "udp": 0, "udp_bad": 0}
    lock = threading.Lock()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, TCP_PORT))
    ls.listen(8)
    ls.settimeout(0.5)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((addr, UDP_PORT))
    us.settimeout(0.5)

    def conn(c):
        off, bad = 0, False
        c.settimeout(1)
        while not stopped(stop):
            try:
                b = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            o = off % P
            if not bad and b != PAT[o:o + len(b)]:
                bad = True
            off += len(b)
            with lock:
                st["bytes"] += len(b)
        c.close()
        if bad:
            with lock:
                st["bad"] += 1

    def udp():
        while not stopped(stop):
            try:
                d = us.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                continue
            ok = len(d) == 8 + DGRAM
            if ok:
                seq = struct.unpack("<Q", d[:8])[0]
                o = seq % P
                ok = d[8:] == PAT[o:o + DGRAM]
            with lock:
                st["udp"] += 1
                st["udp_bad"] += 0 if ok else 1

    threads = [threading.Thread(target=udp, daemon=True)]
    threads[0].start()
    open(ready, "w").close()
    while not stopped(stop):
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        st["conns"] += 1
        t = threading.Thread(target=conn, args=(c,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(5)
    verdict = "bad" if st["bad"] or st["udp_bad"] else "idle" if not st["bytes"] or not st["udp"] else "ok"
    with open(report, "w") as f:
        f.write("%s %d %d %d %d %d\n" % (verdict, st["bytes"], st["conns"], st["bad"], st["udp"], st["udp_bad"]))
    return 0 if verdict == "ok" else 1


def send_main(addr, stop, report, corrupt):
    st = {"bytes": 0, "conns": 0, "errors": 0, "udp": 0, "udp_errors": 0}

    def tcp():
        flipped = False
        while not stopped(stop):
            try:
                c = socket.create_connection((addr, TCP_PORT), timeout=5)
            except OSError:
                st["errors"] += 1
                time.sleep(0.2)
                continue
            st["conns"] += 1
            c.settimeout(20)
            off = 0
            try:
                while not stopped(stop):
                    o = off % P
                    chunk = PAT[o:o + 65536]
                    if corrupt and not flipped and off >= 256 << 10:
                        chunk = bytes([chunk[0] ^ 0x5a]) + chunk[1:]
                        flipped = True
                    c.sendall(chunk)
                    off += len(chunk)
                    st["bytes"] += len(chunk)
            except OSError:
                if not stopped(stop):	# the receiver ends first at the stop
                    st["errors"] += 1
                time.sleep(0.2)
            c.close()

    def udp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        seq = 0
        while not stopped(stop):
            o = seq % P
            try:
                s.sendto(struct.pack("<Q", seq) + PAT[o:o + DGRAM], (addr, UDP_PORT))
                st["udp"] += 1
            except OSError:
                st["udp_errors"] += 1
            seq += 1
            time.sleep(0.01)

    ts = [threading.Thread(target=tcp, daemon=True), threading.Thread(target=udp, daemon=True)]
    for t in ts:
        t.start()
    while not stopped(stop):
        time.sleep(0.2)
    for t in ts:
        t.join(25)
    with open(report, "w") as f:
        f.write("%d %d %d %d %d\n" % (st["bytes"], st["conns"], st["errors"], st["udp"], st["udp_errors"]))
    return 0


if __name__ == "__main__":
    mode, addr, stop, report = sys.argv[1:5]
    if mode == "recv":
        sys.exit(recv_main(addr, stop, report, sys.argv[5]))
    sys.exit(send_main(addr, stop, report, "--corrupt" in sys.argv[5:]))
