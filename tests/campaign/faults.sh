#!/bin/bash
# Campaign faults (after MINIX 3): the first edu's driver runs with
# tests/campaign/faulty.c preloaded, which makes one libdev register or DMA
# call in DBK_FAULT_RATE wrong (another offset, a flipped bit, a lost
# acknowledgement, a DMA address off by pages, a skipped unmask); the other
# edu's driver is sound.  Under load for SECONDS: the kernel stays clean, the other
# keeps its service, and devbrokerd restarts or quarantines the faulty one.
# Its DMA registers are guarded (edu_dma_guard, no unsafe DMA): a wrong
# DMA address is refused, never carried out.  Usage: faults.sh SECONDS
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
CAMP_NAME=faults
. tests/campaign/lib.sh
secs=${1:-20}
mapfile -t edus < <(edu_bdfs)
[ ${#edus[@]} -ge 2 ] || fail "needs two edu devices"
broker_setup
# One manifest; its Exec starts the first edu's driver with the faults preloaded.
cat > "$DBK_VM_DIR/faulty-exec" <<EOT
#!/bin/sh
[ "\$1" = "${edus[0]}" ] && export LD_PRELOAD=$DBK_HELPERS/libdbk-faulty.so \
	DBK_FAULT_RATE=${DBK_FAULT_RATE:-4} DBK_FAULT_SEED=$RANDOM
shift
exec "\$@"
EOT
chmod 755 "$DBK_VM_DIR/faulty-exec"
EDU_POLICY=edu_dma_guard EDU_DMA_GUARD=edu_dma_guard EDU_DMA=64K \
EDU_EXEC="$DBK_VM_DIR/faulty-exec %d $(manifest_exec edu)" \
	edu_manifest "$BRK/sys/edu.conf"
sed -i 's/^UnsafeDMA=yes$/UnsafeDMA=no/; s/^Restart=on-failure$/Restart=on-failure\nRestartBurst=16\nRestartWindowSec=2/' \
	"$BRK/sys/edu.conf"
dbk_load
camp_baseline
log0=$(cat "$BROKER_LOG" 2>/dev/null | wc -l)	# the log is the boot's: count from here
broker_start
CAMP_BROKER_PID=$BROKER_PID
# Instances go in the broker's discovery order, which after a replug need
# not be the order of the addresses: find the faulty one's node.
wait_for 60 bash -c "[ \"\$(dev_field ${edus[0]} instance)\" -ge 0 ]" 2>/dev/null
bad_i=$(dev_field "${edus[0]}" instance)
case "$bad_i" in 0) ok_i=1 ;; 1) ok_i=0 ;; *) fail "the faulty driver's instance is '$bad_i'" ;; esac
wait_for 60 test -e /dev/edu$ok_i || fail "the sound driver never came up: $(tail -5 "$BROKER_LOG")"
head -c 3000 /dev/urandom > /tmp/faults-in; chmod 644 /tmp/faults-in
( end=$((SECONDS + secs)); while [ $SECONDS -lt $end ]; do
	[ "$(fact /dev/edu$bad_i 9)" = 362880 ] || echo wrong >> "$DBK_VM_DIR/faulty-wrong"
	as_user "$DBK_HELPERS/edu-client" dma /dev/edu$bad_i /tmp/faults-in /dev/null >/dev/null 2>&1
	sleep 0.05; done ) &
fl=$!
good=0 bad=0
end=$((SECONDS + secs))
while [ $SECONDS -lt $end ]; do
	if [ "$(fact /dev/edu$ok_i 8)" = 40320 ] &&
	   as_user "$DBK_HELPERS/edu-client" dma /dev/edu$ok_i /tmp/faults-in "$DBK_VM_DIR/faults-out" &&
	   cmp -s /tmp/faults-in "$DBK_VM_DIR/faults-out"; then
		good=$((good + 1))
	else
		bad=$((bad + 1))
	fi
done
wait $fl
log=$(tail -n +$((log0 + 1)) "$BROKER_LOG")
injected=$(grep -c "dbk-faulty: injecting" <<<"$log")
wrong=$(cat "$DBK_VM_DIR/faulty-wrong" 2>/dev/null | wc -l)
# The faults' effects: wrong answers, and what the driver and the policy
# reported (a fault that loses interrupts hangs the driver, not the answer).
seen=$(grep -c ": edu-driver: \|: denied: " <<<"$log")
state=$(dev_field "${edus[0]}" state)
echo "# faulty driver: ${edus[0]} as edu$bad_i, state $state, $injected instances injected faults, $wrong wrong or failed answers, $seen errors and denials logged"
if [ "$injected" -ge 1 ] && [ $((wrong + seen)) -ge 1 ]; then
	echo "ok - faults: the faulty driver did make faults ($injected instances, $wrong wrong answers, $seen errors logged)"
else
	echo "not ok - faults: no fault was made (injected $injected, wrong $wrong, logged $seen): the test proves nothing"
fi
if [ "$good" -ge 1 ] && [ "$bad" = 0 ]; then
	echo "ok - faults: the sound driver answered $good times byte-exact, beside the faulty one"
else
	echo "not ok - faults: the sound driver answered $good times, failed $bad"
fi
broker_stop
CAMP_BROKER_PID=
camp_end "${secs} s of a faulty edu driver beside a sound one" "${edus[@]}"
