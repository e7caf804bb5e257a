#!/bin/bash
# Factorials 0..12 computed by the edu device, through /dev/edu0 served by
# the unprivileged edu-driver (CUSE), read and written by an ordinary
# program of another uid.  usage: edu-fact.sh msi|intx [mmap|mediated]
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
mode=${1:-msi} access=${2:-mmap}
dev_setup
opts=(--"$mode")
DRV_OPTS=
[ "$mode" = intx ] && DRV_OPTS=--intx
[ "$access" = mediated ] && opts+=(--mmap 0)
iommu_on || opts+=(--unsafe-dma)

launch_ok=1
start_edu edu0 "${opts[@]}" || launch_ok=0
check "$mode/$access: dbk-launch starts edu-driver and /dev/edu0 appears" [ $launch_ok = 1 ]
[ $launch_ok = 1 ] || { finish; exit 1; }
check "/dev/edu0 is a character device, mode 0666" \
	bash -c '[ -c /dev/edu0 ] && [ "$(stat -c %a /dev/edu0)" = 666 ]'
check "the driver runs as uid $DRV_UID with no capabilities, no_new_privs, no device fd" check_unprivileged
echo "# driver fds: $(fd_list)"
grep -i 'edu-driver' "$LOG" | diag

# An ordinary program: echo/cat as another uid.
irqs_before=$(irq_total)
bad=
for n in $(seq 0 12); do
	want=$(fact $n)
	got=$(as_user bash -c "echo $n > /dev/edu0 && cat /dev/edu0" 2>&1)
	[ "$got" = "$want" ] || bad="$bad $n!=${got:-<nothing>}(want $want)"
done
check "$mode/$access: echo N > /dev/edu0; cat /dev/edu0 gives N! for N = 0..12 (uid $USER_UID)" [ -z "$bad" ]
[ -n "$bad" ] && echo "# wrong:$bad"

# The same through one open file, with the position ioctl.
got=$(as_user "$H/edu-client" fact /dev/edu0 10 2>&1)
check "$mode/$access: edu-client fact 10 = 3628800 (got $got)" [ "$got" = 3628800 ]
got=$(as_user "$H/edu-client" fact /dev/edu0 0 2>&1)
check "$mode/$access: edu-client fact 0 = 1 (got $got)" [ "$got" = 1 ]

# Refused input.
check_fails "13 does not fit the 32-bit register: the write fails" \
	as_user bash -c 'echo 13 > /dev/edu0'
check_fails "a non-number fails" as_user bash -c 'echo abc > /dev/edu0'
got=$(as_user cat /dev/edu0)
check "the previous result is still there (got $got)" [ "$got" = 1 ]
check "the driver still runs" kill -0 $CPID

# Completion came by interrupt: at least one per computation (15 so far).
irqs=$(( $(irq_total) - irqs_before ))
check "$mode: the device interrupted at least 15 times ($irqs)" [ "$irqs" -ge 15 ]
grep -i "devbroker\[$BDF\]" /proc/interrupts | diag

stop TERM
check "SIGTERM: the driver exits cleanly (status $LRC)" [ "$LRC" = 0 ]
check "/dev/edu0 is gone after the driver exits" wait_gone /dev/edu0 10
[ "$LRC" = 0 ] || diag < "$LOG"
finish
