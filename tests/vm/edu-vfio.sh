#!/bin/bash
# The same edu-driver binary on vfio-pci instead of devbroker (libdev's VFIO
# backend, dbk_dev_open_vfio(); q35 + intel-iommu): the edu bound to
# vfio-pci with driver_override, its group node /dev/vfio/N chowned to the
# driver's user as a VFIO user's administrator would, and the driver run
# unprivileged with --vfio BDF.  Factorials 0..12 and DMA round trips from
# an ordinary program of another uid, completion by MSI and by INTx, the
# interrupts counted on vfio's lines; the device handed back afterwards.
# Before that, tests/helpers/libdev-vfiotest checks the SDK calls one by one.
# usage: edu-vfio.sh [msi|intx]...
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(msi intx)

iommu_on || skip "no IOMMU: VFIO's type1 needs one (vm-run --iommu)"
modprobe vfio-pci 2>/dev/null || skip "no vfio-pci module"
modprobe cuse 2>/dev/null || true
BDF=$(edu_bdfs | head -n1)
[ -n "$BDF" ] || fail "no edu device"
D=/sys/bus/pci/devices/$BDF
GROUP=$(iommu_group "$BDF")
echo "# edu at $BDF, IOMMU group $GROUP: $(ls "$D/iommu_group/devices" | tr '\n' ' ')"

# Run the driver as DRV_UID: another uid, no groups, no capabilities, no
# new privileges; /dev/cuse opened for it (fd 3), as a launcher would.
# Sets CPID, OUT, LOG.
run_driver() {
	local tag=$1; shift
	OUT=/tmp/vfio-$tag.out LOG=/tmp/vfio-$tag.err
	setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs -- \
		"$EDU_DRIVER" --cuse-fd 3 --verbose "$@" 3<>/dev/cuse > "$OUT" 2> "$LOG" &
	CPID=$!
}

# Before binding: the driver must fail cleanly, not hang.
if [ -e "$D/driver" ]; then
	echo "# $BDF was bound to $(basename "$(readlink "$D/driver")")"
fi
run_driver unbound --name eduv0 --vfio "$BDF"
wait $CPID; rc=$?
check "not bound to vfio-pci: edu-driver --vfio fails (status $rc)" [ "$rc" != 0 ]
diag < "$LOG"

# Bind to vfio-pci as a VFIO user's administrator does.
check "$BDF is bound to vfio-pci" vfio_bind "$BDF"
check "/dev/vfio/$GROUP exists" [ -c "/dev/vfio/$GROUP" ]

# Without access to the group node the user cannot open it.
run_driver noaccess --name eduv0 --vfio "$BDF"
wait $CPID; rc=$?
check "the group node still root's: edu-driver --vfio fails (status $rc)" [ "$rc" != 0 ]
check "... saying permission denied" grep -q 'Permission denied' "$LOG"
diag < "$LOG"

# As a launcher hands it over: the group opened by root (fd 4, the node
# stays root's 0600), adopted unprivileged with dbk_dev_adopt_vfio().
OUT=/tmp/vfio-handed.out LOG=/tmp/vfio-handed.err
setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs -- \
	"$EDU_DRIVER" --cuse-fd 3 --verbose --name eduv0 --vfio "$BDF" --vfio-group-fd 4 \
	3<>/dev/cuse 4<>"/dev/vfio/$GROUP" > "$OUT" 2> "$LOG" &
CPID=$!
up=0
for _ in $(seq 300); do
	[ -c /dev/eduv0 ] && { up=1; break; }
	kill -0 $CPID 2>/dev/null || break
	sleep 0.1
done
check "handed-over group fd: edu-driver --vfio-group-fd runs unprivileged, /dev/eduv0 appears" [ $up = 1 ]
if [ $up = 1 ]; then
	chmod 0666 /dev/eduv0
	got=$(as_user "$H/edu-client" fact /dev/eduv0 12 2>&1)
	check "handed-over group fd: edu-client fact 12 = 479001600 (got $got)" [ "$got" = 479001600 ]
	head -c 2000 /dev/urandom > /tmp/vdma-in.h; chmod 0644 /tmp/vdma-in.h; rm -f /tmp/vdma-out.h
	as_user "$H/edu-client" dma /dev/eduv0 /tmp/vdma-in.h /tmp/vdma-out.h 2>&1 | diag
	check "handed-over group fd: a DMA round trip of 2000 bytes is byte-exact" \
		cmp /tmp/vdma-in.h /tmp/vdma-out.h
	check "handed-over group fd: the node is still root's ($(stat -c '%U %a' /dev/vfio/$GROUP))" \
		[ "$(stat -c '%u %a' /dev/vfio/$GROUP)" = "0 600" ]
	kill -TERM $CPID
fi
wait $CPID; rc=$?
check "handed-over group fd: the driver exits cleanly (status $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || diag < "$LOG"
wait_gone /dev/eduv0 10

chown $DRV_UID:$DRV_UID "/dev/vfio/$GROUP"

# The SDK calls themselves, unprivileged: tests/helpers/libdev-vfiotest.c.
setpriv --reuid=$DRV_UID --regid=$DRV_UID --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs -- "$H/libdev-vfiotest" "$BDF" > /tmp/vfiotest.out 2>&1
rc=$?
sed "s/^\(not \)\?ok - /&libdev: /" /tmp/vfiotest.out
grep -q '^not ok' /tmp/vfiotest.out && FAILS=$((FAILS + 1))
check "libdev-vfiotest exits 0 (status $rc)" [ "$rc" = 0 ]

for mode in "${modes[@]}"; do
	name=eduv0
	opts=(--name $name --vfio "$BDF")
	[ "$mode" = intx ] && opts+=(--intx)
	pattern="vfio-msi[0]($BDF)"
	[ "$mode" = intx ] && pattern="vfio-intx($BDF)"
	run_driver $mode "${opts[@]}"
	up=0
	for _ in $(seq 300); do
		[ -c /dev/$name ] && { up=1; break; }
		kill -0 $CPID 2>/dev/null || break
		sleep 0.1
	done
	check "$mode: edu-driver --vfio $BDF runs unprivileged and /dev/$name appears" [ $up = 1 ]
	if [ $up != 1 ]; then diag < "$LOG"; kill $CPID 2>/dev/null; wait $CPID; continue; fi
	chmod 0666 /dev/$name
	grep 'edu-driver' "$LOG" | diag
	check "$mode: the driver says it serves through VFIO with BAR0 mmap()ed" \
		bash -c "grep -q 'through VFIO' $LOG && grep -q 'BAR0 access mmap' $LOG"
	st=/proc/$CPID/status
	check "$mode: the driver runs as uid $DRV_UID with no capabilities" \
		bash -c "grep -q '^Uid:[[:space:]]*$DRV_UID[[:space:]]*$DRV_UID' $st &&
			 grep -q '^CapEff:[[:space:]]*0000000000000000' $st &&
			 grep -q '^NoNewPrivs:[[:space:]]*1' $st"
	fds=$(for f in /proc/$CPID/fd/*; do readlink "$f"; done | sort | tr '\n' ' ')
	echo "# driver fds: $fds"
	check "$mode: it holds /dev/vfio/vfio and /dev/vfio/$GROUP, no devbroker fd" \
		bash -c "[[ '$fds' == */dev/vfio/$GROUP* && '$fds' == */dev/vfio/vfio* && '$fds' != */dev/devbroker* ]]"

	irq_before=$(awk -v tag="$pattern" 'index($0, tag) { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)
	bad=
	for n in $(seq 0 12); do
		want=$(fact $n)
		got=$(as_user bash -c "echo $n > /dev/$name && cat /dev/$name" 2>&1)
		[ "$got" = "$want" ] || bad="$bad $n!=${got:-<nothing>}(want $want)"
	done
	check "$mode: echo N > /dev/$name; cat gives N! for N = 0..12, over VFIO" [ -z "$bad" ]
	[ -n "$bad" ] && echo "# wrong:$bad"
	got=$(as_user "$H/edu-client" fact /dev/$name 10 2>&1)
	check "$mode: edu-client fact 10 = 3628800 (got $got)" [ "$got" = 3628800 ]

	for size in 4095 1000 1; do
		head -c $size /dev/urandom > /tmp/vdma-in.$size
		chmod 0644 /tmp/vdma-in.$size
		rm -f /tmp/vdma-out.$size
		out=$(as_user "$H/edu-client" dma /dev/$name /tmp/vdma-in.$size /tmp/vdma-out.$size 2>&1)
		check "$mode: DMA round trip of $size random bytes through type1 is byte-exact" \
			cmp /tmp/vdma-in.$size /tmp/vdma-out.$size
		[ -n "$out" ] && echo "$out" | diag
	done
	as_user "$H/edu-client" seekread /dev/$name 0x40000 4096 > /tmp/vdma-again
	check "$mode: a second EDU -> RAM read returns the device buffer" \
		cmp <(tail -c +1001 /tmp/vdma-again) <(tail -c +1001 /tmp/vdma-in.4095)

	irqs=$(( $(awk -v tag="$pattern" 'index($0, tag) { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts) - irq_before ))
	check "$mode: vfio-pci delivered at least 18 interrupts ($irqs on $pattern)" [ "$irqs" -ge 18 ]
	grep -F "($BDF)" /proc/interrupts | diag
	check "$mode: the driver still runs" kill -0 $CPID
	kill -TERM $CPID
	wait $CPID; rc=$?
	check "$mode: SIGTERM: the driver exits cleanly (status $rc)" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || diag < "$LOG"
	check "$mode: /dev/$name is gone after the driver exits" wait_gone /dev/$name 10
	check "$mode: no vfio interrupt line is left ($pattern)" \
		bash -c "! grep -qF '$pattern' /proc/interrupts"
done

# Hand the device back: the group node reopens for the next user.
vfio_unbind "$BDF"
check "$BDF unbound from vfio-pci" [ ! -e "$D/driver" ]
dmesg | grep -iE 'dmar|vfio' | tail -n 20 | diag
check "no DMAR fault was logged" bash -c "! dmesg | grep -q 'DMAR:.*fault'"
finish
