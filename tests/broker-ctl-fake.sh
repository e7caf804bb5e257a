#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# devbrokerctl against a fake devbrokerd (a small python3 SOCK_SEQPACKET
# server answering canned replies): human and --json output, exit codes
# 0-5, request encoding, 64 KiB messages and MSG_TRUNC, the event stream.
# Prints TAP.  Usage: broker-ctl-fake.sh PATH/TO/devbrokerctl
set -u

CTL=${1:?usage: $0 PATH/TO/devbrokerctl}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
	echo "1..0 # SKIP python3 not found (needed for the fake devbrokerd)"
	exit 0
fi

export TZ=UTC LC_ALL=C
unset DEVBROKER_SOCKET
T=$(mktemp -d /tmp/dbk-ctl-test.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

cat > "$T/fake.py" <<'EOF'
import json, os, socket, sys, threading

path, mode, log = sys.argv[1:4]

DEV = {"id": "0000:00:04.0", "bus": "pci", "vendor": "1234", "device": "11e8",
       "class": "00ff00", "modalias": "pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00",
       "driver": "edu", "state": "running", "pid": 4242, "restarts": 2, "instance": 0,
       "frontend": "/dev/edu0"}
DEV2 = {"id": "0000:00:05.0", "bus": "pci", "vendor": "8086", "device": "10d3",
        "class": "020000", "modalias": "pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00",
        "driver": None, "state": "unmatched", "pid": None, "restarts": 0, "instance": -1,
        "frontend": None}
STATUS = dict(DEV, rights={"bars": 5, "map_bars": 1, "irqs": 6, "vectors": 4, "dma": 65536,
                          "unsafe_dma": False, "policy": "edu-strict"},
              cuts=["dma 1048576 -> 65536"], last_exit="signal 9")
DRIVERS = [
    {"name": "edu", "path": "/usr/share/devbroker/drivers.d/edu.conf", "valid": True,
     "error": None, "match": ["pci:v00001234d000011E8*"],
     "exec": ["/usr/libexec/devbroker/edu-driver", "%d"]},
    {"name": "broken", "path": "/etc/devbroker/drivers.d/broken.conf", "valid": False,
     "error": "/etc/devbroker/drivers.d/broken.conf:3: unknown key 'Exek'",
     "match": [], "exec": []},
]
EVENTS = [
    {"event": "started", "device": "0000:00:04.0", "driver": "edu", "pid": 4242,
     "time": 1700000000.25, "detail": "/usr/libexec/devbroker/edu-driver 0000:00:04.0"},
    {"event": "quarantined", "device": "0000:00:05.0", "driver": "edu", "pid": None,
     "time": 1700000001.5, "detail": "5 crashes within 600 s"},
    {"event": "removed", "device": "0000:00:06.0", "driver": None, "pid": None,
     "time": 1700000002, "detail": ""},
]

def msg(o):
    return json.dumps(o).encode()

def err(text, no):
    return msg({"ok": False, "error": text, "errno": no})

def sized(n):
    # A valid status reply of exactly n bytes.
    o = {"ok": True, "device": DEV, "pad": ""}
    o["pad"] = "x" * (n - len(msg(o)))
    b = msg(o)
    assert len(b) == n
    return b

def answer(req):
    cmd, dev = req.get("cmd"), req.get("device")
    if dev == "0000:00:0d.0":
        return err("uid 1000 is neither root nor in group devbroker", 13)
    if cmd == "list":
        return msg({"ok": True, "devices": [DEV, DEV2]})
    if cmd == "drivers":
        return msg({"ok": True, "drivers": DRIVERS})
    if dev == "0000:00:09.0":
        return err("no device 0000:00:09.0: devbrokerctl list shows the known devices", 19)
    if dev == "0000:00:0a.0":
        return sized(70000)
    if dev == "0000:00:0c.0":
        return sized(65536)
    if dev == "0000:00:0b.0":
        return b"this is not json"
    if cmd == "status" and dev == "0000:00:04.0":
        return msg({"ok": True, "device": STATUS})
    if cmd == "status" and dev == "0000:00:05.0":
        return msg({"ok": True, "device": dict(DEV2, rights={}, cuts=[], last_exit=None)})
    if cmd == "bind" and dev == "0000:00:05.0":
        return err("0000:00:05.0 is quarantined: run devbrokerctl release 0000:00:05.0", 16)
    if cmd == "release":                 # as devbrokerd does: the new state
        return msg({"ok": True, "device": DEV})
    if cmd == "revoke" and dev == "0000:00:05.0":
        return msg({"ok": True, "device": dict(DEV, id=dev, state="revoked", pid=None)})
    if cmd == "unbind" and dev == "0000:00:0e.0":
        return None                      # a driver that takes its time: no answer
    if cmd == "unbind" and req.get("wait") is True and dev != "0000:00:06.0":
        return msg({"ok": True, "unbound": True})
    if cmd in ("bind", "unbind", "revoke"):  # 0000:00:06.0: an older devbrokerd's unbind
        return msg({"ok": True})
    return err("bad request", 22)

def serve(c):
    try:
        if mode == "refuse":
            c.send(err("uid 1000 is neither root nor in group devbroker", 13))
            return
        req = json.loads(c.recv(65536))
        with open(log, "a") as f:
            f.write(json.dumps(req, sort_keys=True) + "\n")
        if req.get("cmd") != "events":
            r = answer(req)
            if r is None:
                c.recv(1)               # until the client goes away
                return
            c.send(r)
            return
        c.send(msg({"ok": True}))
        c.send(msg(EVENTS[0]))
        c.send(sized(70000))            # oversized: skipped with a warning
        for e in EVENTS[1:]:
            c.send(msg(e))
        if mode == "stay":
            c.recv(1)                   # until the client goes away
    finally:
        c.close()

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

start_fake() {	# SOCKET MODE
	"$PY" "$T/fake.py" "$1" "$2" "$T/requests.log" 2>>"$T/fake.err" &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "Bail out! the fake devbrokerd did not start: $(cat "$T/fake.err")"
	exit 1
}

S=$T/control
start_fake "$S" stay
start_fake "$T/closing" close
start_fake "$T/refuse" refuse
# A socket file nobody listens on.
"$PY" -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' "$T/dead"

N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
	echo "#   exit: $RC"; sed 's/^/#   out: /' "$T/out"; sed 's/^/#   err: /' "$T/err"
}
# run ARGS...: devbrokerctl, stdout in $T/out, stderr in $T/err, status in $RC
run() { "$CTL" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
# expect DESC STATUS [grep -E pattern on stderr] -- ARGS...
expect() {
	local desc=$1 want=$2 pat=
	shift 2
	[ "$1" != -- ] && { pat=$1; shift; }
	shift
	run "$@"
	if [ "$RC" -eq "$want" ] && { [ -z "$pat" ] || grep -qE "$pat" "$T/err"; }; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
}
# same_out DESC FILE: stdout equals FILE
same_out() {
	if diff -u "$2" "$T/out" >"$T/diff"; then ok "$1"; else
		not_ok "$1"; sed 's/^/#   /' "$T/diff"; fi
}
# json_check DESC PYTHON-EXPR (d is stdout parsed)
json_check() {
	if "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
		"$T/out" 2>>"$T/err"; then ok "$1"; else not_ok "$1"; fi
}
last_request() { tail -n 1 "$T/requests.log"; }


# --- usage -------------------------------------------------------------
expect "--help exits 0" 0 -- --help
grep -q '^Usage: devbrokerctl' "$T/out" && ok "--help prints the usage on stdout" || not_ok "--help prints the usage on stdout"
expect "--version exits 0" 0 -- --version
grep -qx 'devbrokerctl [0-9.]*' "$T/out" && ok "--version prints the version" || not_ok "--version prints the version"
expect "no command: usage error" 2 "no command" -- --socket "$S"
expect "unknown command: usage error" 2 "unknown command 'frobnicate'" -- -s "$S" frobnicate
expect "unknown option: usage error" 2 "unknown option '--frob'" -- --frob list
expect "--socket without a path: usage error" 2 "needs an argument" -- list --socket
expect "status without DEVICE: usage error" 2 "needs a DEVICE" -- -s "$S" status
expect "list with an extra argument: usage error" 2 "takes no argument" -- -s "$S" list 0000:00:04.0
expect "bind with two devices: usage error" 2 "takes one DEVICE" -- -s "$S" bind 0000:00:04.0 0000:00:05.0
expect "device 0x20 is not a PCI device number" 2 "not a device name" -- -s "$S" status 0000:00:20.0
expect "function 8 is not a PCI function" 2 "not a device name" -- -s "$S" status 0000:00:04.8
expect "garbage device name" 2 "not a device name.*USB name" -- -s "$S" unbind eth0
expect "empty usb: name" 2 "not a device name" -- -s "$S" unbind usb:
expect "USB name without a port" 2 "not a device name" -- -s "$S" unbind 1-
expect "USB name with a bad interface" 2 "not a device name" -- -s "$S" unbind 1-2:1
expect "USB name with letters" 2 "not a device name" -- -s "$S" unbind 1-2.x
expect "USB name with a trailing dot" 2 "not a device name" -- -s "$S" unbind 1-2.
expect "too long socket path: usage error" 2 "too long" -- -s "$T/$(printf 'x%.0s' $(seq 120))" list

# --- cannot reach the daemon -------------------------------------------
expect "no socket: exit 3" 3 "is devbrokerd running\? \(systemctl status devbrokerd\)" -- -s "$T/nonexistent" list
grep -qF "$T/nonexistent" "$T/err" && ok "exit 3 names the socket path" || not_ok "exit 3 names the socket path"
expect "socket nobody listens on: exit 3" 3 "Connection refused" -- -s "$T/dead" list
DEVBROKER_SOCKET=$T/nonexistent2 run list
[ "$RC" -eq 3 ] && grep -qF "$T/nonexistent2" "$T/err" && ok "DEVBROKER_SOCKET is honoured" || not_ok "DEVBROKER_SOCKET is honoured"
DEVBROKER_SOCKET=$T/nonexistent2 run --socket "$S" list
[ "$RC" -eq 0 ] && ok "--socket beats DEVBROKER_SOCKET" || not_ok "--socket beats DEVBROKER_SOCKET"

# --- list, drivers, status: human --------------------------------------
cat > "$T/want" <<'EOF'
DEVICE        BUS  VENDOR:DEVICE  DRIVER  STATE      PID   RESTARTS  FRONTEND
0000:00:04.0  pci  1234:11e8      edu     running    4242  2         /dev/edu0
0000:00:05.0  pci  8086:10d3      -       unmatched  -     0         -
EOF
expect "list exits 0" 0 -- -s "$S" list
same_out "list prints an aligned table" "$T/want"
[ "$(last_request)" = '{"cmd": "list"}' ] && ok "list sends {\"cmd\": \"list\"}" || not_ok "list sends {\"cmd\": \"list\"} (got $(last_request))"

cat > "$T/want" <<'EOF'
DRIVER  VALID  MATCH                    PATH
edu     yes    pci:v00001234d000011E8*  /usr/share/devbroker/drivers.d/edu.conf
broken  no     -                        /etc/devbroker/drivers.d/broken.conf

Invalid manifests (fix them, then: systemctl reload devbrokerd):
  broken: /etc/devbroker/drivers.d/broken.conf:3: unknown key 'Exek'
EOF
run -s "$S" drivers
same_out "drivers prints a table and the invalid manifests' errors" "$T/want"

cat > "$T/want" <<'EOF'
       Device: 0000:00:04.0
          Bus: pci
Vendor:Device: 1234:11e8
        Class: 00ff00
     Modalias: pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00
       Driver: edu
        State: running
          PID: 4242
     Restarts: 2
     Instance: 0
     Frontend: /dev/edu0
    Last exit: signal 9
       Rights: bars: 0 2
               map_bars: 0
               irqs: msi msix
               vectors: 4
               dma: 64 KiB
               unsafe_dma: no
               policy: edu-strict
         Cuts: dma 1048576 -> 65536
EOF
run -s "$S" status 00:04.0
same_out "status prints key: value lines" "$T/want"
[ "$(last_request)" = '{"cmd": "status", "device": "0000:00:04.0"}' ] && ok "BB:DD.F gets domain 0000" || not_ok "BB:DD.F gets domain 0000 (got $(last_request))"

for u in 1-4.1:1.1 usb:1-4.1:1.1; do
	run -s "$S" revoke "$u"
	[ "$(last_request)" = '{"cmd": "revoke", "device": "1-4.1:1.1"}' ] && ok "USB name $u is sent as 1-4.1:1.1" || not_ok "USB name $u is sent as 1-4.1:1.1 (got $(last_request))"
done
run -s "$S" status 0000:00:05.0
grep -qx '     Instance: -' "$T/out" && grep -qx '       Rights: none' "$T/out" &&
	grep -qx '         Cuts: none' "$T/out" && ok "status: no instance, no rights, no cuts" ||
	not_ok "status: no instance, no rights, no cuts"

# --- --json -------------------------------------------------------------
run --json -s "$S" list
json_check "list --json prints the daemon's reply" \
	'd["ok"] is True and [x["id"] for x in d["devices"]] == ["0000:00:04.0", "0000:00:05.0"] and d["devices"][1]["pid"] is None'
grep -q '"/dev/edu0"' "$T/out" && ok "--json does not escape slashes" || not_ok "--json does not escape slashes"
run -s "$S" status 0000:00:04.0 --json
json_check "status --json (option after the command)" 'd["device"]["cuts"] == ["dma 1048576 -> 65536"] and d["device"]["rights"]["bars"] == 5'

# --- daemon errors -------------------------------------------------------
expect "unknown device (ENODEV): exit 4" 4 "no device 0000:00:09.0" -- -s "$S" status 0000:00:09.0
run --json -s "$S" status 0000:00:09.0
[ "$RC" -eq 4 ] && json_check "ENODEV with --json: the reply on stdout" 'd["ok"] is False and d["errno"] == 19' || not_ok "ENODEV with --json: exit 4"
expect "refused (EBUSY): exit 1 with the daemon's text" 1 "quarantined: run devbrokerctl release" -- -s "$S" bind 0000:00:05.0
expect "EACCES reply: exit 5" 5 "root.*group devbroker" -- -s "$S" bind 0000:00:0D.0
[ "$(last_request)" = '{"cmd": "bind", "device": "0000:00:0d.0"}' ] && ok "device names are sent lower-case" || not_ok "device names are sent lower-case (got $(last_request))"
expect "refused on connection (SO_PEERCRED): exit 5" 5 "group devbroker" -- -s "$T/refuse" list
expect "reply not JSON: exit 1" 1 "not a JSON object" -- -s "$S" status 0000:00:0b.0

# --- message size --------------------------------------------------------
expect "a reply of exactly 64 KiB is read" 0 -- -s "$S" status 0000:00:0c.0
expect "a 70000-byte reply: MSG_TRUNC detected, exit 1" 1 "70000-byte message.*truncated" -- -s "$S" status 0000:00:0a.0
[ ! -s "$T/out" ] && ok "nothing printed from a truncated reply" || not_ok "nothing printed from a truncated reply"

# --- actions ---------------------------------------------------------------
for c in bind revoke; do
	run -s "$S" "$c" 0000:00:04.0
	if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ] &&
	   [ "$(last_request)" = "{\"cmd\": \"$c\", \"device\": \"0000:00:04.0\"}" ]; then
		ok "$c: request sent, silent success"
	else
		not_ok "$c: request sent, silent success"
	fi
done

run -s "$S" unbind 0000:00:04.0
[ "$RC" -eq 0 ] && [ ! -s "$T/out" ] &&
	[ "$(last_request)" = '{"cmd": "unbind", "device": "0000:00:04.0", "wait": true}' ] &&
	ok "unbind: asks devbrokerd to answer once the device is back, silent success" ||
	not_ok "unbind: asks devbrokerd to answer once the device is back, silent success"
run -s "$S" --no-block unbind 0000:00:04.0
[ "$RC" -eq 0 ] && [ "$(last_request)" = '{"cmd": "unbind", "device": "0000:00:04.0"}' ] &&
	ok "unbind --no-block: no wait asked" || not_ok "unbind --no-block: no wait asked"
expect "unbind answered at once (an older devbrokerd): exit 1, the race said" 1 "answered before the device was back" \
	-- -s "$S" unbind 0000:00:06.0
SECONDS=0
expect "unbind --timeout 1, the device not back: exit 1" 1 "not back with the kernel after 1 seconds" \
	-- -s "$S" --timeout 1 unbind 0000:00:0e.0
[ "$SECONDS" -le 3 ] && ok "... after about 1 s ($SECONDS s)" || not_ok "... after about 1 s ($SECONDS s)"
expect "--no-block is unbind's alone" 2 "options of 'unbind'" -- -s "$S" --no-block bind 0000:00:04.0
expect "--timeout 0: usage error" 2 "from 1 to 86400" -- -s "$S" --timeout 0 unbind 0000:00:04.0
expect "--no-block with --timeout: usage error" 2 "nothing to bound" -- -s "$S" --no-block --timeout 5 unbind 0000:00:04.0

run -s "$S" release 0000:00:04.0
[ "$RC" -eq 0 ] && [ "$(cat "$T/out")" = "0000:00:04.0: running (edu, pid 4242)" ] &&
	ok "release: prints the device's new state" || not_ok "release: prints the device's new state"
run -s "$S" revoke 0000:00:05.0
[ "$RC" -eq 0 ] && [ "$(cat "$T/out")" = "0000:00:05.0: revoked (edu)" ] &&
	ok "revoke: prints the device's new state" || not_ok "revoke: prints the device's new state"

# --- events ---------------------------------------------------------------
cat > "$T/want" <<'EOF'
2023-11-14 22:13:20.250 0000:00:04.0 started     edu[4242]: /usr/libexec/devbroker/edu-driver 0000:00:04.0
2023-11-14 22:13:21.500 0000:00:05.0 quarantined edu: 5 crashes within 600 s
2023-11-14 22:13:22.000 0000:00:06.0 removed     -
EOF
expect "events ends with exit 3 when the daemon closes" 3 "closed the event stream" -- -s "$T/closing" events
same_out "events: one line per event, local time" "$T/want"
grep -q "70000-byte message" "$T/err" && ok "events: an oversized event is reported and skipped" || not_ok "events: an oversized event is reported and skipped"

run --json -s "$T/closing" events
if [ "$RC" -eq 3 ] && [ "$(wc -l < "$T/out")" -eq 4 ] &&
   "$PY" -c 'import json,sys
ls=[json.loads(l) for l in open(sys.argv[1])]
assert ls[0] == {"ok": True}
assert [e["event"] for e in ls[1:]] == ["started","quarantined","removed"] and ls[1]["time"] == 1700000000.25' "$T/out"; then
	ok "events --json: the acknowledgement, then one compact object per event"
else
	not_ok "events --json: the acknowledgement, then one compact object per event"
fi

# Streaming (flushed per line) and SIGTERM: exit 0.
"$CTL" --json -s "$S" events >"$T/out" 2>"$T/err" &
EP=$!
PIDS+=($EP)
for _ in $(seq 100); do [ "$(wc -l < "$T/out")" -ge 4 ] && break; sleep 0.05; done
[ "$(wc -l < "$T/out")" -eq 4 ] && ok "events are flushed as they come" || { RC=-; not_ok "events are flushed as they come"; }
kill -TERM "$EP"
wait "$EP"; RC=$?
[ "$RC" -eq 0 ] && ok "events: SIGTERM ends the stream with exit 0" || not_ok "events: SIGTERM ends the stream with exit 0"

echo "1..$N"
[ "$FAILED" -eq 0 ]
