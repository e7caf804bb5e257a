#!/bin/bash
# bench/render-performance.py on the newest committed side-by-side result
# set (bench/results/*.json, the drivers' -nvme.json, -nvme-vfio.json,
# -e1000e.json, -usb-hid.json, -usb-storage.json and -frontends.json of the same date and
# host with it): it renders, the report has its table's rows,
# the plots are made where gnuplot is installed, and the committed
# docs/performance.md is that rendering; and the drivers' rows from small raw
# runs (tests/bench-render-fixtures: bench/driver-bench-report.py, then the
# renderer, by name and beside the side-by-side set), "not measured" without
# them (TAP).  Not a benchmark: nothing here runs a VM or looks at a timing.
# usage: bench-render.sh SRC_ROOT
src=$1 n=0 failed=0
json=$(python3 "$src/bench/render-performance.py" --newest-set "$src/bench/results" 2> /dev/null)
DRIVERS=$(python3 "$src/bench/render-performance.py" --list-drivers)
t() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
if [ -z "$json" ]; then
	echo "1..0 # SKIP no result set in bench/results"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/np" "$tmp/p"
t "renders ${json#"$src/"} without plots" python3 "$src/bench/render-performance.py" "$json" "$tmp/np" --no-plots
for row in 'Mapped MMIO read' 'Mediated read, no policy' 'MSI wake of a sleeping driver' 'INTx cycle' \
	   'DMA map 4 KiB' 'Setup: open to first MSI' '## Revocation' 'NVMe fio'; do
	t "the report has '$row'" grep -qF -- "$row" "$tmp/np/performance.md"
done
t "the report gives the host's load average" grep -q 'Host load average' "$tmp/np/performance.md"
if command -v gnuplot > /dev/null; then
	t "renders with gnuplot's plots" python3 "$src/bench/render-performance.py" "$json" "$tmp/p"
	for s in performance-msi-cdf.svg performance-dma-map.svg; do
		t "$s is an SVG" grep -q '<svg' "$tmp/p/$s"
	done
	t "docs/performance.md is the rendering of ${json#"$src/"}" cmp -s "$tmp/p/performance.md" "$src/docs/performance.md"
else
	n=$((n + 1)); echo "ok $n - # SKIP no gnuplot: plots not checked"
fi

# The drivers' rows, from the fixtures' raw runs.
fx=$src/tests/bench-render-fixtures
mkdir "$tmp/d" "$tmp/s"
for b in $DRIVERS; do
	t "driver-bench-report.py makes the $b result set" python3 "$src/bench/driver-bench-report.py" --bench $b \
		--runs "$fx/$b-runs.jsonl" --console "$fx/console.log" --load-before "9.50 8.00 7.00" \
		--load-after "10.00 9.00 8.00" --param rounds=2 --out "$tmp/d/$b.json"
done
t "the usb-storage result set: the FUSE file and the disk each against the same kernel runs, a failed run and its pair left out" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m, f = d["phases"]["main"], d["phases"]["fuse"]
assert (m["ours"], m["reference"], f["ours"], f["reference"]) == ("block", "kernel", "fuse", "kernel")
assert m["cases"]["read"]["mbps"]["kernel"] == f["cases"]["read"]["mbps"]["kernel"]
assert f["cases"]["read"]["mbps"]["round_ratios"] == [0.6, 0.6], f["cases"]["read"]
w = m["cases"]["write-120k"]["mbps"]
assert w["block"]["n"] == 1 and d["errors"] == 1
assert w["ratio"] == 0.8 and w["paired_rounds"] == 1, w  # 12 / 15: round 2 (kernel 20) has no pair
' "$tmp/d/usb-storage.json"
t "the nvme result set: QD32's per-round IOPS ratios and CPU per I/O on both sides" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["phases"]["main"]["cases"]["randread-4k-qd32"]
assert c["iops"]["round_ratios"] == [0.375, 0.4048], c["iops"]
assert c["cpu_us_per_io"]["ours"]["n"] == 2 and c["cpu_us_per_io"]["kernel"]["p50"] > 0
assert d["phases"]["cal"]["ours"] == "kernelA" and d["guest"]["guest_kernel"] == "6.1.0-99-amd64"
assert d["load"]["before"] == [9.5, 8.0, 7.0] and d["load"]["loaded"] and len(d["raw"]) == 12
k = d["phases"]["ceiling"]
assert (k["ours"], k["reference"]) == ("ceiling", "kernel")
assert k["cases"]["randread-4k-qd32"]["iops"]["round_ratios"] == [0.5], k
assert c["iops"]["kernel"]["n"] == 2  # the ceiling phase: its kernel runs stay out of the main phase
' "$tmp/d/nvme.json"
t "the e1000e result set: runs without a phase are main; the ceiling phase's kernel pings stay out of it" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["phases"]["main"]["cases"]["ping"]["p50_ms"]
assert p["kernel"]["n"] == 2 and p["ratio"] == 3.0, p
k = d["phases"]["ceiling"]["cases"]["ping"]["p50_ms"]
assert k["ratio"] == 1.5 and k["ceiling"]["n"] == 1, k
' "$tmp/d/e1000e.json"
t "renders the drivers' result sets named" python3 "$src/bench/render-performance.py" "$json" "$tmp/d" \
	--no-plots --nvme "$tmp/d/nvme.json" --e1000e "$tmp/d/e1000e.json" --nvme-vfio "$tmp/d/nvme-vfio.json" \
	--usb-hid "$tmp/d/usb-hid.json" --usb-storage "$tmp/d/usb-storage.json" --frontends "$tmp/d/frontends.json"
md=$tmp/d/performance.md
for row in 'NVMe fio 4 KiB random read, QD1 (IOPS) | 900 IOPS | 1000 IOPS | **0.90×** | 0.90–0.90 |' \
	   'NVMe fio 4 KiB random read, QD32 (IOPS) | 1600 IOPS | 4100 IOPS | **0.39×** ✗ | 0.38–0.40 |' \
	   'NVMe fio 128 KiB sequential read, QD8 (MB/s) | not measured |' \
	   'e1000e iperf3 TCP transmit (Mbit/s) | 380 Mbit/s | 400 Mbit/s | **0.95×** ✓' \
	   'e1000e iperf3 TCP receive (Mbit/s) | 200 Mbit/s | 400 Mbit/s | **0.50×** ✗' \
	   'e1000e iperf3 UDP, 64-byte payloads, received (packets/s) | 8750 packets/s (1% lost) | 10000 packets/s (0% lost) | **0.88×** ≈ | 0.80–0.95' \
	   'e1000e ping RTT p50 (ms) | 3.00 ms | 1.00 ms | **3.00×** ✗' \
	   'e1000e ping RTT p99 (ms) | 6.00 ms | 6.00 ms | **1.00×** ✓' \
	   '38.0 ms · 36.0 ms per MB | 1.06× |' \
	   '- NVMe fio 4 KiB random read, QD32: 0.39× the kernel' \
	   'Rows without a goal of their own: NVMe fio 4 KiB random read, QD1 0.90× (CPU per I/O 1.11×)' \
	   'gave IOPS ratios of 0.98× to 0.98× between two identical controllers' \
	   'The frontend'"'"'s ceiling, ceiling / kernel IOPS (tests/helpers/dbk-ramdisk serving memory through the same nbd frontend: what no driver behind nbd can beat): randread-4k-qd32 0.50×.' \
	   'reached 0.50× of the kernel'"'"'s IOPS at QD32 (per round 0.50–0.50), where drivers/nvme reached 0.39×: in this boot no driver behind nbd, however fast, could have reached the goal of 1.0×.' \
	   'The TAP frontend'"'"'s ceiling, ceiling / kernel ping RTT (tests/helpers/dbk-netecho answering through a TAP: what no driver behind a TAP can beat): p50 1.50×, p99 0.80×.' \
	   'ping p50 1.50× the kernel'"'"'s (per round 1.50–1.50), where drivers/e1000e had 3.00×: the TAP hop alone costs more than the goal of 1.2× allows.' \
	   'Host load average (1, 5, 15 min): 9.50 8.00 7.00 before, 10.00 9.00 8.00 after. **The host was loaded' \
	   'USB HID key, URB completion → evdev event, p50 (µs) | 1000 µs | 300 µs | **3.33×** | 3.00–3.67 | – | 40.0 ms · 20.0 ms per event | 2.00× |' \
	   'USB HID key, QMP request → evdev event, p50 (ms) | 40.00 ms | 38.00 ms | **1.05×** |' \
	   'USB storage sequential read, 1 MiB per command, FUSE file (MB/s) | 24.0 MB/s | 40.0 MB/s | **0.60×** | 0.60–0.60 |' \
	   'USB storage sequential read, 120 KiB per command, nbd disk (MB/s) | 27.0 MB/s | 30.0 MB/s | **0.90×** |' \
	   'USB storage sequential write, 120 KiB per command, nbd disk (MB/s) | 12.0 MB/s | 17.5 MB/s | **0.80×** | 0.80–0.80 (1 of 2 rounds paired) |' \
	   'drivers/usb-hid (usbfs, uinput) against the kernel'"'"'s usbhid, no goal set: USB HID key' \
	   '**1 run(s) failed** and are left out of the figures.' \
	   'Frontend nbd: 4 KiB O_DIRECT random read, depth 1, p50 (dbk-ramdisk on Block=; brd) (µs) | 220 µs | 55.0 µs | **4.00×** | 4.00–4.00 | – | 420 µs · 105 µs per read | 4.00× |' \
	   'Frontend nbd: 4 KiB O_DIRECT random reads, depth 1 (dbk-ramdisk on Block=; brd) (IOPS) | 4200 IOPS | 16800 IOPS | **0.25×** |' \
	   'Frontend TAP: ping RTT p50 (dbk-netecho on Network=; a veth pair into a namespace) (µs) | 300 µs | 100 µs | **3.00×** |' \
	   'Frontend CUSE: 8-byte read round trip p50 (edu-driver'"'"'s /dev/edu0; /dev/zero, only a floor) (µs) | 80.0 µs | 0.5 µs | **160.00×** |' \
	   'Frontend CUSE, bare: 8-byte read round trip p50 (dbk-fe-driver'"'"'s /dev/dbkfe0, a read callback that only returns; /dev/zero, only a floor) (µs) | 40.0 µs | 0.5 µs | **80.00×** |' \
	   'Frontend uinput: dbk_input_emit() and sync to the evdev read, p50 (no kernel equivalent) (µs) | 120 µs | none | – | – | – | 240 µs · – per event | – |' \
	   'NVMe, the driver'"'"'s own loop: 4 KiB reads, QD16, on devbroker against vfio-pci (IOPS) | 9400 IOPS | 9550 IOPS | **0.98×** | 0.95–1.02 | – | 50.0 µs · 55.0 µs per I/O | 0.91× |'; do
	t "the drivers' table has '$row'" grep -qF -- "$row" "$md"
done
# shellcheck disable=SC2317
no_driver_left() { ! grep -q '^| drivers/' "$1"; }
t "no measured driver in 'Not in this report'" no_driver_left "$md"
t "... nor the measured frontends" bash -c '! grep -q "^| libdev'"'"'s frontends" "$1"' _ "$md"
t "with every benchmark measured, no 'Not in this report' section" bash -c '! grep -q "^## Not in this report" "$1"' _ "$md"
cp "$json" "$tmp/s/x.json"
t "renders with no driver result set" python3 "$src/bench/render-performance.py" "$tmp/s/x.json" "$tmp/s" --no-plots
t "every driver row says 'not measured'" test "$(grep -c '| not measured |' "$tmp/s/performance.md")" = 30
t "the five drivers' benchmarks are in 'Not in this report'" test "$(grep -c '^| drivers/' "$tmp/s/performance.md")" = 5
t "... and the frontends' benchmark" test "$(grep -c "^| libdev's frontends" "$tmp/s/performance.md")" = 1
for b in $DRIVERS; do cp "$tmp/d/$b.json" "$tmp/s/x-$b.json"; done
t "renders the drivers' result sets of the same name" python3 "$src/bench/render-performance.py" "$tmp/s/x.json" "$tmp/s" --no-plots
t "... with their rows" test "$(grep -c '| not measured |' "$tmp/s/performance.md")" = 2

# Both sides measured but never in the same round: no ratio, no crash.
mkdir "$tmp/u"
python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if (r["side"], r["round"]) in (("ours", 2), ("kernel", 1)):
        r.update(rc=1, error="failed")
    print(json.dumps(r))' "$fx/frontends-runs.jsonl" > "$tmp/u/runs.jsonl"
python3 "$src/bench/driver-bench-report.py" --bench frontends --runs "$tmp/u/runs.jsonl" \
	--console "$fx/console.log" --load-before "1 1 1" --load-after "1 1 1" --param rounds=2 \
	--out "$tmp/u/x-frontends.json"
cp "$json" "$tmp/u/x.json"
t "renders a set whose two sides completed no round in common (no ratio)" \
	bash -c 'python3 "$1" "$2/x.json" "$2" --no-plots && grep -q "no ratio (no round both sides completed)" "$2/performance.md"' _ \
	"$src/bench/render-performance.py" "$tmp/u"

# The result-set lookup bench/run and this test share.
mkdir "$tmp/r"
for f in 2026-01-02-a.json 2026-01-03-a.json 2026-01-03-a.notes.md hook; do : > "$tmp/r/$f"; done
for b in $DRIVERS; do : > "$tmp/r/2026-01-04-a-$b.json"; done
t "--newest-set: the newest side-by-side set, no driver's" \
	test "$(python3 "$src/bench/render-performance.py" --newest-set "$tmp/r")" = "$tmp/r/2026-01-03-a.json"
t "--newest-set: fails where there is none" bash -c '! python3 "$1" --newest-set "$2" 2> /dev/null' _ \
	"$src/bench/render-performance.py" "$tmp/s"
t "--list-drivers: each a fixture here ($(echo $DRIVERS))" bash -c 'for b in $1; do [ -s "$2/$b-runs.jsonl" ] || exit 1; done; [ -n "$1" ]' _ \
	"$DRIVERS" "$fx"
echo "1..$n"
exit $failed
