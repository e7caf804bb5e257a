#!/bin/bash
# Revoking a running edu-driver's grant (DBK_DEVICE_REVOKE from the
# launcher, SIGUSR1): the driver survives the zapped mapping, the client's
# request fails, the driver stops serving and exits with status 3, and
# /dev/edu0 disappears.  The device can then be granted again.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
dev_setup
opts=(--msi)
iommu_on || opts+=(--unsafe-dma)
if ! start_edu edu0 "${opts[@]}"; then notok "start edu-driver"; finish; exit 1; fi
got=$(as_user bash -c 'echo 5 > /dev/edu0 && cat /dev/edu0')
check "before revocation: 5! = 120 (got $got)" [ "$got" = 120 ]
kill -USR1 $LPID
for _ in $(seq 50); do grep -q 'grant revoked' "$LOG" && break; sleep 0.1; done
check "the launcher revoked the grant" grep -q 'grant revoked' "$LOG"
check_fails "after revocation a factorial request fails" as_user bash -c 'echo 6 > /dev/edu0'
check "/dev/edu0 disappears" wait_gone /dev/edu0 20
for _ in $(seq 100); do kill -0 $LPID 2>/dev/null || break; sleep 0.1; done
stop TERM
check "the driver exited by itself with status 3 (revoked; got $LRC)" [ "$LRC" = 3 ]
grep -i 'edu-driver' "$LOG" | diag
check "no SIGBUS death: the driver did not die by a signal" [ "$LRC" -lt 128 ]
# Granted again, it works again.
if start_edu edu0 "${opts[@]}"; then
	got=$(as_user bash -c 'echo 7 > /dev/edu0 && cat /dev/edu0')
	check "after a new grant: 7! = 5040 (got $got)" [ "$got" = 5040 ]
	stop TERM
	check "and that driver exits cleanly (status $LRC)" [ "$LRC" = 0 ]
else
	notok "a new grant after revocation"
fi
finish
