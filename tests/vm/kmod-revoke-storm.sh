#!/bin/bash
# Revocation while a device sends MSI-X messages as fast as it can: an
# unprivileged program makes QEMU's e1000e raise every cause in a loop
# (e1000e-msix --storm) and the launcher revokes its grant under it
# (DBK_DEVICE_REVOKE), ROUNDS times.  QEMU 7.2's e1000e throttles each
# vector with a timer (EITR) that asserts MSI-X is still on when it fires:
# a revocation that turns MSI-X off while one runs aborts the whole VM
# (hw/net/e1000e_core.c, e1000e_intrmgr_on_msix_throttling_timer).  The
# revocation first stops the device's messages (bus mastering off), and
# lets them drain (20 ms: the longest EITR interval is 16.8 ms), before
# the vectors go.
# usage: kmod-revoke-storm.sh [ROUNDS [EITR]]
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
ROUNDS=${1:-20} EITR=${2:-0}
dev_setup 0x8086 0x10d3
opts=(--msix --max-vectors 5)
iommu_on || opts+=(--dma-quota 4096 --unsafe-dma)
done_=0
for i in $(seq "$ROUNDS"); do
	if ! launch storm "${opts[@]}" -- "$H/e1000e-msix" --storm "$EITR" 5; then
		notok "round $i: dbk-launch e1000e-msix --storm"; break
	fi
	for _ in $(seq 300); do grep -q '^# storm' "$OUT" && break; sleep 0.1; done
	grep -q '^# storm' "$OUT" || { notok "round $i: no storm"; diag < "$LOG"; stop KILL; break; }
	sleep 0.$((RANDOM % 5))
	kill -USR1 $LPID
	for _ in $(seq 100); do grep -q 'grant revoked' "$LOG" && break; sleep 0.1; done
	grep -q 'grant revoked' "$LOG" || { notok "round $i: the launcher did not revoke"; diag < "$LOG"; stop KILL; break; }
	stop KILL
	done_=$i
done
check "$done_ of $ROUNDS revocations under an MSI-X storm (EITR $EITR), and the VM lives" [ "$done_" = "$ROUNDS" ]
dmesg | grep -c 'grant revoked' | sed 's/^/# grants revoked: /'
finish
