#!/bin/bash
# Sequential throughput of QEMU's usb-storage stick (xHCI, TCG), the same
# device in one boot: through the kernel's usb-storage (/dev/sdX) and
# through drivers/usb-storage under devbrokerd, as a FUSE file and as a
# disk on the block frontend (Block=, the kernel's nbd), each with its
# default data per command (1 MiB for this SuperSpeed stick, both) and
# with 120 KiB (Linux's limit below SuperSpeed).  dd with O_DIRECT (no page cache on either side),
# $BENCH_MB MiB per run (16), $BENCH_RUNS rounds (5), each round running
# every path once; medians in MB/s (10^6 bytes/s), and the medians of the
# rounds' FUSE/kernel ratios (the host may be shared: a round's runs share
# its load).  Numbers only: it never fails on time.  TAP.
#   meson test -C BUILD --benchmark vm-bench-usb-storage -v
#   tests/vm-group BUILD bench-usb-storage --xhci -- bench/usb-storage-throughput.sh
. tests/vm/lib.sh
. tests/vm/broker-lib.sh
MB=${BENCH_MB:-16} RUNS=${BENCH_RUNS:-5}
for m in xhci_pci usb_storage sd_mod fuse; do modprobe "$m"; done

stick_disk() {	# the kernel's /dev/sdX of the stick (08/06/50)
	local d b
	for d in /sys/bus/usb/devices/*:*; do
		case "$(cat "$d/modalias" 2>/dev/null)" in *ic08isc06ip50*) ;; *) continue ;; esac
		for b in "$d"/host*/target*/*/block/*; do
			[ -b "/dev/$(basename "$b")" ] && echo "/dev/$(basename "$b")" && return 0
		done
	done
	return 1
}
export -f stick_disk

# rate read|write FILE: MB/s of one dd run, from its byte count and time.
rate() {
	local out
	if [ "$1" = read ]; then
		out=$(dd if="$2" of=/dev/null bs=1M count="$MB" iflag=direct 2>&1) || return 1
	else
		out=$(dd if=/dev/zero of="$2" bs=1M count="$MB" oflag=direct conv=fsync,notrunc 2>&1) || return 1
	fi
	awk '/copied/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "s,") { printf "%.2f\n", $1 / $i / 1e6; exit } }' <<<"$out"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One round: each path once, back to back, so that all of them share the
# host's load of the moment (the machine may be shared: paired ratios).
add() { eval "$1=\"\${$1:-} $2\""; }	# add LIST VALUE
one() {	# one NAME FILE: a read and a write run, appended to NAME_r, NAME_w
	local r w
	r=$(rate read "$2") || fail "dd read $2"
	w=$(rate write "$2") || fail "dd write $2"
	add "$1_r" "$r"; add "$1_w" "$w"
}
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
ratios() {	# ratios A B: the median of the per-round ratios A/B
	paste <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
		awk '{ print $1 / $2 }' | median
}

wait_for 20 stick_disk >/dev/null || fail "the kernel made no disk for the stick"
KMAX=$(cat "/sys/block/$(basename "$(stick_disk)")/queue/max_sectors_kb")
broker_setup
DISK=/run/devbroker/usb-storage/DBK0STICK/disk
BLK=/dev/devbroker/block/usb-DBK0STICK
for round in $(seq "$RUNS"); do
	SD=$(stick_disk) || fail "the kernel did not get the stick back"
	Q=/sys/block/${SD#/dev/}/queue/max_sectors_kb
	one k "$SD"
	echo 120 > "$Q"
	one k120 "$SD"
	echo "$KMAX" > "$Q"
	# The driver under devbrokerd: its default, then 120 KiB per command;
	# a FUSE file, then a disk.
	for fe in f b; do
		for opt in "" "--max-kib 120"; do
			# The installed manifest and driver (tests/vm/guest-install.sh).
			sed -e "s|^Exec=.*|Exec=$(manifest_exec usb-storage) $opt|" \
				-e "s|^AutoBind=no|AutoBind=yes|" \
				-e "$([ $fe = b ] && echo 's|^FUSEMount=.*|Block=usb-%s|')" \
				"$DBK_MANIFESTS/usb-storage.conf" > "$BRK/sys/usb-storage.conf"
			broker_start
			f=$DISK; [ $fe = b ] && f=$BLK
			wait_for 60 test -e "$f" || { cat "$BROKER_LOG"; fail "no $f"; }
			one "$fe${opt##* }" "$f"
			broker_stop
			wait_for 20 stick_disk >/dev/null
		done
	done
done

FMAX=$(grep -o 'up to [0-9]* blocks per command' "$BROKER_LOG" | head -n1 | awk '{ print $3 / 2 }')
echo "# $MB MiB sequential, O_DIRECT, $RUNS rounds; MB/s per round (read / write):"
echo "#   kernel usb-storage, $KMAX KiB per command (its default): $k_r / $k_w"
echo "#   kernel usb-storage, 120 KiB per command: $k120_r / $k120_w"
echo "#   FUSE file, $FMAX KiB per command (the driver's default): $f_r / $f_w"
echo "#   FUSE file, 120 KiB per command: $f120_r / $f120_w"
echo "#   disk (nbd), $FMAX KiB per command: $b_r / $b_w"
echo "#   disk (nbd), 120 KiB per command: $b120_r / $b120_w"
printf '# medians, MB/s           read   write\n'
printf '#   kernel, %4d KiB   %7.1f %7.1f\n' "$KMAX" "$(med "$k_r")" "$(med "$k_w")"
printf '#   FUSE,   %4d KiB   %7.1f %7.1f\n' "$FMAX" "$(med "$f_r")" "$(med "$f_w")"
printf '#   kernel,  120 KiB   %7.1f %7.1f\n' "$(med "$k120_r")" "$(med "$k120_w")"
printf '#   FUSE,    120 KiB   %7.1f %7.1f\n' "$(med "$f120_r")" "$(med "$f120_w")"
printf '#   disk,   %4d KiB   %7.1f %7.1f\n' "$FMAX" "$(med "$b_r")" "$(med "$b_w")"
printf '#   disk,    120 KiB   %7.1f %7.1f\n' "$(med "$b120_r")" "$(med "$b120_w")"
printf '# FUSE/kernel (median of the rounds'"'"' ratios): defaults: read %.2fx, write %.2fx; at 120 KiB: read %.2fx, write %.2fx\n' \
	"$(ratios "$f_r" "$k_r")" "$(ratios "$f_w" "$k_w")" \
	"$(ratios "$f120_r" "$k120_r")" "$(ratios "$f120_w" "$k120_w")"
printf '# disk/kernel: defaults: read %.2fx, write %.2fx; at 120 KiB: read %.2fx, write %.2fx\n' \
	"$(ratios "$b_r" "$k_r")" "$(ratios "$b_w" "$k_w")" \
	"$(ratios "$b120_r" "$k120_r")" "$(ratios "$b120_w" "$k120_w")"
printf '# disk/FUSE: defaults: read %.2fx, write %.2fx\n' "$(ratios "$b_r" "$f_r")" "$(ratios "$b_w" "$f_w")"
echo "ok 1 - usb-storage throughput benchmark ran"
