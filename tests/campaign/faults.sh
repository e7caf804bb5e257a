#!/bin/bash
# Campaign faults (after MINIX 3): edu0's driver runs with
# tests/campaign/faulty.c preloaded, which makes one libdev register or DMA
# call in DBK_FAULT_RATE wrong (another offset, a flipped bit, a lost
# acknowledgement, a DMA address off by pages, a skipped unmask); edu1's
# driver is sound.  Under load for SECONDS: the kernel stays clean, edu1
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
# One manifest; its Exec starts edu0's driver (the first edu, %i = 0) with the faults preloaded.
cat > "$DBK_VM_DIR/faulty-exec" <<EOT
#!/bin/sh
[ "\$1" = "${edus[0]}" ] && export LD_PRELOAD=$DBK_BUILD/tests/campaign/libdbk-faulty.so \
	DBK_FAULT_RATE=${DBK_FAULT_RATE:-4} DBK_FAULT_SEED=$RANDOM
shift
exec "\$@"
EOT
chmod 755 "$DBK_VM_DIR/faulty-exec"
EDU_POLICY=edu_dma_guard EDU_DMA=64K \
EDU_EXEC="$DBK_VM_DIR/faulty-exec %d $DBK_BUILD/drivers/edu/edu-driver --grant-fd 3 --cuse-fd 4 --name edu%i" \
	edu_manifest "$BRK/sys/edu.conf"
sed -i 's/^UnsafeDMA=yes$/UnsafeDMA=no/; s/^Restart=on-failure$/Restart=on-failure\nRestartBurst=16\nRestartWindowSec=2/' \
	"$BRK/sys/edu.conf"
dbk_load
camp_baseline
broker_start
CAMP_BROKER_PID=$BROKER_PID
wait_for 60 test -e /dev/edu1 || fail "the sound driver never came up: $(tail -5 "$BROKER_LOG")"
head -c 3000 /dev/urandom > /tmp/faults-in; chmod 644 /tmp/faults-in
( end=$((SECONDS + secs)); while [ $SECONDS -lt $end ]; do
	[ "$(fact /dev/edu0 9)" = 362880 ] || echo wrong >> "$DBK_VM_DIR/faulty-wrong"
	as_user "$DBK_BUILD/tests/helpers/edu-client" dma /dev/edu0 /tmp/faults-in /dev/null >/dev/null 2>&1
	sleep 0.05; done ) &
fl=$!
good=0 bad=0
end=$((SECONDS + secs))
while [ $SECONDS -lt $end ]; do
	if [ "$(fact /dev/edu1 8)" = 40320 ] &&
	   as_user "$DBK_BUILD/tests/helpers/edu-client" dma /dev/edu1 /tmp/faults-in "$DBK_VM_DIR/faults-out" &&
	   cmp -s /tmp/faults-in "$DBK_VM_DIR/faults-out"; then
		good=$((good + 1))
	else
		bad=$((bad + 1))
	fi
done
wait $fl
injected=$(grep -c "dbk-faulty: injecting" "$BROKER_LOG")
wrong=$(cat "$DBK_VM_DIR/faulty-wrong" 2>/dev/null | wc -l)
state=$(dev_field "${edus[0]}" state)
echo "# faulty driver: state $state, $injected instances injected faults, $wrong wrong or failed answers"
if [ "$injected" -ge 1 ] && [ "$wrong" -ge 1 ]; then
	echo "ok - faults: the faulty driver did make faults ($injected instances, $wrong wrong answers)"
else
	echo "not ok - faults: no fault was made (injected $injected, wrong $wrong): the test proves nothing"
fi
if [ "$good" -ge 1 ] && [ "$bad" = 0 ]; then
	echo "ok - faults: the sound driver answered $good times byte-exact, beside the faulty one"
else
	echo "not ok - faults: the sound driver answered $good times, failed $bad"
fi
broker_stop
CAMP_BROKER_PID=
camp_end "${secs} s of a faulty edu driver beside a sound one" "${edus[@]}"
