#!/bin/bash
# bench/render-performance.py on the newest committed result set
# (bench/results/*.json): it renders, the report has its table's rows, the
# plots are made where gnuplot is installed, and the committed
# docs/performance.md is that rendering (TAP).  Not a benchmark: nothing
# here runs a VM or looks at a timing.
# usage: bench-render.sh SRC_ROOT
src=$1 n=0 failed=0
json=
for f in "$src"/bench/results/*.json; do [ -e "$f" ] && json=$f; done
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
echo "1..$n"
exit $failed
