# Shared by the NVMe and e1000e campaigns (kill-nvme.sh, unplug-nvme.sh,
# kill-net.sh, unplug-net.sh).  Source after tests/vm/lib.sh,
# tests/vm/broker-lib.sh and tests/campaign/lib.sh.
#
# The loads prove that nothing acknowledged is lost: on the disk,
# tests/campaign/disk-churn.py (fsynced 4 KiB writes and reads to a 4 MiB
# zone of the nbd disk, every block checked at the end); on dbk0,
# tests/campaign/net-churn.py (a TCP stream and UDP datagrams to the
# kernel's NIC in a network namespace, every byte checked).
# DBK_CAMP_INJECT=corrupt is the dry run showing those checks fire: a
# block of the disk's zone overwritten behind the churn's back (O_DIRECT),
# or one byte of the TCP stream flipped by its sender; the run must then
# end "not ok".

# "STATE PID" of a device's entry, in one devbrokerctl call and no python
# (the killers poll it; under TCG each process start counts).
state_pid() { ctl status "$1" 2>/dev/null | awk '$1 == "State:" { s = $2 } $1 == "PID:" { p = $2 } END { print s, p }'; }
running() { [[ $(state_pid "$1") == "running "[0-9]* ]]; }
# alive PID: running, not a zombie awaiting wait (kill -0 succeeds on those).
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [[ $s != Z* ]]; }
pci_driver() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
export -f state_pid running pci_driver alive

# camp_manifest NAME: the installed manifest, with the restart budget of
# kill.sh (a kill every few hundred ms is the point).
camp_manifest() {
	sed -e 's|^Restart=on-failure|&\nRestartBurst=16\nRestartWindowSec=1|' \
		"$DBK_MANIFESTS/$1.conf" > "$BRK/sys/$1.conf"
}

# camp_kill_loop ID DRIVER QUOTA SPAN_MS [HOOK]: kill -9 ID's driver QUOTA
# times, each a random 0..SPAN_MS ms after it is seen running (a new pid:
# never the one just killed, which may linger until devbrokerd reaps it).
# A driver quarantined for crashing faster than its budget is released, as
# in kill.sh.  HOOK, if given, runs just before each kill (it may count
# what the kill met).  Sets KILLS_DONE and RELEASES; 1 if the driver did
# not come back.
camp_kill_loop() {
	local id=$1 drv=$2 quota=$3 span=$4 hook=${5:-} st pid last=
	KILLS_DONE=0 RELEASES=0
	while [ "$KILLS_DONE" -lt "$quota" ]; do
		read -r st pid <<<"$(state_pid "$id")"
		if [ "$st" != running ] || ! [ "${pid:-0}" -gt 0 ] 2>/dev/null || [ "$pid" = "$last" ]; then
			if ! wait_for 30 bash -c "[[ \$(state_pid $id) == 'running '[0-9]* ]] && [ \"\$(state_pid $id)\" != 'running $last' ]"; then
				[ "$(dev_field "$id" state)" = quarantined ] &&
					ctl release "$id" >/dev/null 2>&1 && RELEASES=$((RELEASES + 1))
				wait_for 30 bash -c "[[ \$(state_pid $id) == 'running '[0-9]* ]] && [ \"\$(state_pid $id)\" != 'running $last' ]" ||
					{ echo "not ok - $CAMP_NAME: $drv was not restarted after kill $KILLS_DONE: $(tail -n 5 "$BROKER_LOG" | tr '\n' '|')"; return 1; }
			fi
			continue
		fi
		sleep "$(printf '0.%03d' $((RANDOM % span)))"
		[ -n "$hook" ] && $hook
		kill -KILL "$pid" 2>/dev/null && KILLS_DONE=$((KILLS_DONE + 1)) last=$pid
		[ $((KILLS_DONE % 50)) = 0 ] && camp_progress "$KILLS_DONE kills; pinned pages $(camp_pins), vectors $(camp_vectors)"
	done
	return 0
}

# Restarts devbrokerd made of DRIVER on ID (its "started" events, but the first).
camp_starts() { grep -c "^.*$1: started: $2 " "$BROKER_LOG"; }

# ---- NVMe ----------------------------------------------------------------
LINK=/dev/devbroker/block/dbknvme0
export LINK
nvme_bdf() {	# QEMU's NVMe controller (1b36:0010), once it is on the bus
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x0010 ] && { basename "$d"; return 0; }
	done
	return 1
}
# The disk served: the link to a /dev/nbdN holding at least the churn's zone (8..12 MiB).
disk_up() { [ -b "$LINK" ] && [ "$(blockdev --getsize64 "$LINK" 2>/dev/null || echo 0)" -ge $((12 << 20)) ]; }
export -f nvme_bdf disk_up

# nvme_camp_bed: devbrokerd's manifest (AutoBind=no: bound by hand), the
# module loaded, BDF set.  The kernel's nvme is never loaded here.
nvme_camp_bed() {
	BDF=$(nvme_bdf) || fail "no NVMe controller 1b36:0010 (vm-run --nvme)"
	broker_setup
	camp_manifest nvme
	dbk_load
}

# churn_start [expect]: the disk's load, until churn_end: disk-churn.py on
# its zone (8..12 MiB), in CHURN (expect: some operations must fail, as
# when the disk is pulled); and beside it, to keep requests in flight at
# every moment, fio's O_DIRECT random reads and writes of 16 KiB at depth
# 16 on the first 8 MiB (unchecked: the churn checks), in runs of 5 s
# started again whenever one fails (FIO_LOAD; its runs and failed runs in
# fio.out).  fio must never create a file where the link was (it would, on
# devtmpfs, in the moment the disk is gone): --allow_file_create=0.
churn_start() {
	rm -f "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out" "$DBK_VM_DIR/fio.out"
	python3 tests/campaign/disk-churn.py "$LINK" "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out" \
		--block ${1:+--expect-failures} &
	CHURN=$!
	(
		runs=0 fails=0
		while [ ! -e "$DBK_VM_DIR/churn.stop" ]; do
			if ! disk_up; then sleep 0.2; continue; fi
			fio --name=camp --filename="$LINK" --ioengine=libaio --direct=1 --rw=randrw --bs=16k \
				--iodepth=16 --offset=0 --size=8M --allow_file_create=0 --time_based --runtime=5 > "$DBK_VM_DIR/fio.last" 2>&1 ||
				{ fails=$((fails + 1)); grep -m1 -E 'err=|error' "$DBK_VM_DIR/fio.last" > "$DBK_VM_DIR/fio.err"; }
			runs=$((runs + 1))
		done
		echo "$runs $fails" > "$DBK_VM_DIR/fio.out"
	) &
	FIO_LOAD=$!
}
# churn_end: stopped, its verdict as a TAP point; CHURN_FAILED: the
# operations that failed (the I/O errors the load saw).
churn_end() {
	local crc verdict writes reads checked uncertain bad
	if [ "${DBK_CAMP_INJECT:-}" = corrupt ]; then
		wait_for 60 disk_up
		dd if=/dev/urandom of="$LINK" bs=4096 seek=$(((8 << 20) / 4096 + 517)) count=1 \
			oflag=direct conv=notrunc status=none && echo "# $CAMP_NAME: DBK_CAMP_INJECT=corrupt: block 517 of the zone overwritten behind the churn"
	fi
	touch "$DBK_VM_DIR/churn.stop"
	# The churn ends within its 120 s wait for the disk, fio's runs
	# within 5 s: past that, a request of theirs never completed.  Say
	# where they wait, then end them, so that the campaign reports rather
	# than hangs.
	if ! wait_for 180 bash -c "! alive $CHURN && ! alive $FIO_LOAD"; then
		camp_not_ok "the disk's load did not stop within 180 s of being asked (a request never completed?)"
		stack_report $(pgrep -f disk-churn.py) $(pgrep -x fio)
		blk_report
		pkill -KILL -f disk-churn.py; pkill -KILL -x fio
	fi
	wait "$CHURN"; crc=$?
	wait "$FIO_LOAD"
	read -r FIO_RUNS FIO_FAILS < "$DBK_VM_DIR/fio.out" || FIO_RUNS=? FIO_FAILS=?
	echo "# $CAMP_NAME: fio beside it: $FIO_RUNS runs of 5 s, $FIO_FAILS failed$([ -s "$DBK_VM_DIR/fio.err" ] && echo ", the last with: $(cat "$DBK_VM_DIR/fio.err")")"
	read -r verdict writes reads CHURN_FAILED checked uncertain bad < "$DBK_VM_DIR/churn.out" || verdict=none
	echo "# $CAMP_NAME: disk churn: $(cat "$DBK_VM_DIR/churn.out" 2>/dev/null | tr '\n' ' ')"
	CHURN_SUMMARY="$writes fsynced writes, $reads reads checked, $CHURN_FAILED failed; fio $FIO_RUNS runs, $FIO_FAILS failed"
	if [ "$crc" = 0 ] && [ "$verdict" = ok ]; then
		echo "ok - $CAMP_NAME: nothing acknowledged on the disk was lost: $CHURN_SUMMARY; $checked blocks checked, $uncertain torn held the old or the new data"
	else
		echo "not ok - $CAMP_NAME: disk churn: $verdict ($bad blocks hold what no write put there; idle: no write or read succeeded, or none failed or none after a failure when expected)"
	fi
}

# ---- e1000e --------------------------------------------------------------
IF=dbk0 NS=peer
export IF NS
# net_camp_bed: two e1000e NICs on one QEMU hub: ours (OURS, kept from the
# kernel's e1000e) and the kernel's (THEIRS) in the namespace peer at
# 10.88.0.2; devbrokerd's manifest (AutoBind=no); the module loaded.
net_camp_bed() {
	local nics
	nics=($(e1000e_nics))
	[ ${#nics[@]} = 2 ] || fail "want two e1000e NICs, found ${#nics[@]}"
	OURS=${nics[0]} THEIRS=${nics[1]}
	e1000e_ours "$OURS"
	netns_nic "$THEIRS" "$NS" 10.88.0.2
	broker_setup
	camp_manifest e1000e
	# DBK_CAMP_E1000E_ARGS: options for the driver (e.g. --itr N, --poll
	# always).  Note that QEMU 7.2's e1000e may abort the whole VM at a
	# kill or unplug: a vector's throttling timer firing after MSI-X was
	# turned off (hw/net/e1000e_core.c:169,
	# e1000e_intrmgr_on_msix_throttling_timer: Assertion
	# `msix_enabled(timer->core->owner)' failed).  --itr 0 does not avoid
	# it: QEMU throttles every vector at least 128 us (7,813 a second)
	# whatever EITR says.  docs/reliability.md has the runs it ended.
	sed -i -e "s|^Exec=.*|& ${DBK_CAMP_E1000E_ARGS:-}|" "$BRK/sys/e1000e.conf"
	dbk_load
}
# net_up: dbk0 there, configured, carrier, a ping through.
net_up() {
	wait_for 60 bash -c 'ip link show $IF > /dev/null 2>&1' || return 1
	ip -4 addr show dev $IF | grep -q 'inet 10.88.0.1/24' || ip addr add 10.88.0.1/24 dev $IF
	ip link set $IF up &&
	wait_for 40 bash -c '[ "$(cat /sys/class/net/$IF/carrier)" = 1 ] && busybox ping -c 1 -W 2 10.88.0.2 > /dev/null'
}
# net_load_start: net-churn.py's receiver in the namespace, its sender here.
net_load_start() {
	local W=$DBK_VM_DIR
	rm -f "$W/net.stop" "$W/net.ready" "$W/net.recv" "$W/net.send"
	ip netns exec "$NS" python3 tests/campaign/net-churn.py recv 10.88.0.2 "$W/net.stop" "$W/net.recv" "$W/net.ready" &
	NET_RECV=$!
	wait_for 60 test -e "$W/net.ready" || fail "net-churn's receiver did not start"
	python3 tests/campaign/net-churn.py send 10.88.0.2 "$W/net.stop" "$W/net.send" \
		$([ "${DBK_CAMP_INJECT:-}" = corrupt ] && echo --corrupt) &
	NET_SEND=$!
}
# net_load_end: stopped; the receiver's verdict as a TAP point.
# NET_ERRORS: the sender's failed connections and sends (what the load saw).
net_load_end() {
	local W=$DBK_VM_DIR verdict rbytes rconns rbad rudp rudpbad sbytes sconns serr sudp sudperr
	touch "$W/net.stop"
	wait "$NET_SEND"; wait "$NET_RECV"
	read -r verdict rbytes rconns rbad rudp rudpbad < "$W/net.recv" || verdict=none
	read -r sbytes sconns serr sudp sudperr < "$W/net.send" || sbytes=?
	echo "# $CAMP_NAME: net churn: received $(cat "$W/net.recv" 2>/dev/null | tr '\n' ' '); sent $(cat "$W/net.send" 2>/dev/null | tr '\n' ' ')"
	NET_ERRORS=$((${serr:-0} + ${sudperr:-0}))
	NET_SUMMARY="TCP $((${rbytes:-0} >> 20)) MiB in $rconns connection(s) ($serr failed connects or sends), UDP $rudp of $sudp datagrams received ($sudperr sends failed)"
	if [ "$verdict" = ok ]; then
		echo "ok - $CAMP_NAME: every byte through $IF as sent: $NET_SUMMARY; 0 differed"
	else
		echo "not ok - $CAMP_NAME: net churn: $verdict ($rbad TCP connection(s) and $rudpbad datagram(s) differed from what was sent; idle: nothing received)"
	fi
}
