#!/bin/bash
# libdev against a real grant (libdev-granttest, unprivileged): register
# access through mmap() and mediated, 64-bit accesses, config space,
# argument checks, MSI and INTx through the raise register; then forced
# revocation while it runs: it must survive (SIGBUS caught) and see -ENODEV
# from every call.  Also: without a DMA right (and no IOMMU) devbroker.ko
# refuses bus mastering and MSI with EPERM.
. tests/vm/lib.sh
. tests/vm/edu-lib.sh
dev_setup
# run TAG LAUNCHER-OPTS... -- TEST-OPTS...: relay the program's TAP points.
run() {
	local tag=$1; shift
	local lopts=() topts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do lopts+=("$1"); shift; done
	shift
	topts=("$@")
	if ! launch "$tag" "${lopts[@]}" -- "$H/libdev-granttest" "${topts[@]}"; then
		notok "$tag: dbk-launch"; return
	fi
	if [ -n "${REVOKE_READY:-}" ]; then
		for _ in $(seq 300); do [ -e "$REVOKE_READY" ] && break; sleep 0.1; done
		check "$tag: the program got ready for revocation" [ -e "$REVOKE_READY" ]
		kill -USR1 $LPID
	fi
	wait $LPID; LRC=$?
	sed "s/^\(not \)\?ok - /&$tag: /" "$OUT"
	grep -q '^not ok' "$OUT" && FAILS=$((FAILS + 1))
	check "$tag: libdev-granttest exits 0 (status $LRC)" [ "$LRC" = 0 ]
	[ "$LRC" = 0 ] || diag < "$LOG"
}
dma=(--dma-quota 65536 --dma-bits 28)
iommu_on || dma+=(--unsafe-dma)
run mmap --msi "${dma[@]}" -- --expect mapped
run mediated --msi --mmap 0 "${dma[@]}" -- --expect mediated
run intx --intx -- --expect mapped --intx
run msi-nodma --msi -- --expect mapped
rm -f /tmp/revoke-ready
REVOKE_READY=/tmp/revoke-ready run revoke --msi "${dma[@]}" -- \
	--expect mapped --revoke /tmp/revoke-ready
grep -q 'grant revoked' "$LOG" && ok "the launcher revoked the grant" || notok "the launcher revoked the grant"
# The device can be granted again after a revocation.
unset REVOKE_READY
run regrant --msi "${dma[@]}" -- --expect mapped
finish
