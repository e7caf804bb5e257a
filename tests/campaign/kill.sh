#!/bin/bash
# Campaign kill: SIGKILL of edu drivers under load, at random moments (mid
# MMIO, mid-interrupt, mid-DMA through /dev/eduN, mid-fault), through
# devbrokerd, which restarts each one.  Usage: kill.sh KILLS
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=kill
. tests/campaign/lib.sh
kills=${1:-50}
mapfile -t edus < <(edu_bdfs)
n=${#edus[@]}
[ "$n" -ge 1 ] || fail "no edu device"
broker_setup
cat > "$BRK/sys/edu.conf" <<EOT
[Driver]
Name=edu
Exec=$(manifest_exec edu)
User=nobody
Restart=on-failure
RestartBurst=16
RestartWindowSec=1
[Match]
PCI=pci:v00001234d000011E8*
[Rights]
BARs=0
MapBARs=0
Interrupts=msi
Vectors=1
DMA=64K
DMABits=28
UnsafeDMA=yes
[Frontend]
CUSE=edu%i
CUSEMode=0666
EOT
dbk_load
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
for i in $(seq 0 $((n - 1))); do
	wait_for 60 test -e "/dev/edu$i" || fail "edu$i never came up: $(tail -5 "$BROKER_LOG")"
done
# Load: factorials (MMIO, an interrupt each) and DMA round trips, as a user.
head -c 4000 /dev/urandom > /tmp/kill-in
chmod 644 /tmp/kill-in
loaders=()
for i in $(seq 0 $((n - 1))); do
	# One process a device (a fork a round, no exec): the load, not the
	# loaders' execs, takes the guest's CPU.
	setpriv --reuid 1000 --regid 1000 --clear-groups "$DBK_HELPERS/edu-client" \
		load "/dev/edu$i" /tmp/kill-in >"$DBK_VM_DIR/load.$i" 2>/dev/null &
	loaders+=($!)
done
driver_pid() { pgrep -f -- "--name edu$1\$" | head -n1; }
# One killer per device, so that the kills of one overlap the restarts of
# another; each writes its count when done.
killer() {
	local i=$1 quota=$2 kills=0 releases=0 pid
	while [ "$kills" -lt "$quota" ]; do
		pid=$(driver_pid "$i")
		if [ -z "$pid" ]; then
			if ! wait_for 30 bash -c "pgrep -f -- '--name edu$i\$' >/dev/null"; then
				# Quarantined after too many crashes too fast: release it.
				for b in "${edus[@]}"; do
					[ "$(dev_field "$b" state)" = quarantined ] &&
						ctl release "$b" >/dev/null 2>&1 && releases=$((releases + 1))
				done
				wait_for 30 bash -c "pgrep -f -- '--name edu$i\$' >/dev/null" ||
					{ echo "not ok - kill: edu$i was not restarted: $(tail -5 "$BROKER_LOG")"; break; }
			fi
			continue
		fi
		sleep "0.$((RANDOM % 400))"
		kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		# Each batch: the pins and vectors the live drivers hold, for the log.
		[ $((kills % 250)) = 0 ] && camp_progress "edu$i: $kills kills; pinned pages $(camp_pins), vectors $(camp_vectors)"
	done
	echo "$kills $releases" > "$DBK_VM_DIR/killer.$i"
}
killers=()
for i in $(seq 0 $((n - 1))); do
	killer "$i" $(((kills + n - 1 - i) / n)) & killers+=($!)
done
wait "${killers[@]}"
done_kills=0 releases=0
for i in $(seq 0 $((n - 1))); do
	read -r k r < "$DBK_VM_DIR/killer.$i" || k=0 r=0
	done_kills=$((done_kills + k)) releases=$((releases + r))
done
kill "${loaders[@]}" 2>/dev/null; wait "${loaders[@]}" 2>/dev/null
for i in $(seq 0 $((n - 1))); do echo "# kill: load on edu$i: $(cat "$DBK_VM_DIR/load.$i")"; done
# Each driver came back, and works.
ok=0
for i in $(seq 0 $((n - 1))); do
	wait_for 60 bash -c "[ \"\$(fact /dev/edu$i 5)\" = 120 ]" && ok=$((ok + 1))
done
[ "$ok" = "$n" ] && echo "ok - kill: every driver restarted and serves /dev/eduN" ||
	echo "not ok - kill: $ok of $n drivers serve again"
broker_stop
CAMP_BROKER_PID=
camp_end "$done_kills kills of $n drivers under load ($releases quarantines released)" "${edus[@]}"
