#!/usr/bin/env python3
"""Render docs/performance.md and its plots from one result set of
bench/side-bench-run (bench/results/<date>-<host>.json).

usage: bench/render-performance.py RESULTS.json OUT_DIR [--no-plots]

OUT_DIR gets performance.md, performance-msi-cdf.svg and
performance-dma-map.svg (gnuplot, Debian's gnuplot-nox; without it, or with
--no-plots, the report says the plots were not made).  A hand-written
analysis beside the result set (RESULTS.notes.md: the misses and their
causes) is included as is.  Ratios are devbroker / vfio-pci, of medians
measured side by side in one boot; under TCG only ratios mean anything.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SIZES_K = [4, 16, 64, 256, 1024, 4096, 16384, 65536]


def fmt_ns(ns):
    if ns is None:
        return "–"
    if ns >= 10_000_000:
        return "%.0f ms" % (ns / 1e6)
    if ns >= 1_000_000:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 10_000:
        return "%.1f µs" % (ns / 1e3)
    return "%.2f µs" % (ns / 1e3)


def fmt_size(k):
    return "%d MiB" % (k // 1024) if k >= 1024 else "%d KiB" % k


class Results:
    def __init__(self, data):
        self.d = data
        self.f = data.get("figures", {})

    def get(self, fig, be):
        return self.f.get(fig, {}).get("backends", {}).get(be)

    def p50(self, fig, be):
        s = self.get(fig, be)
        return s.get("p50") if s and s.get("n") else None

    def ratio(self, fig, be, ref_fig=None, ref="vfio"):
        a, b = self.p50(fig, be), self.p50(ref_fig or fig, ref)
        return a / b if a and b else None

    def round_range(self, fig, be):
        s = self.get(fig, be)
        rr = [x for x in (s or {}).get("round_ratio_to_vfio", []) if x]
        if not rr:
            return "–"
        return "%.2f–%.2f" % (min(rr), max(rr))

    def cpu(self, fig, be):
        s = self.get(fig, be)
        return (s.get("cpu_ns_p50") or None) if s and s.get("n") else None


def ratio_s(r):
    return "**%.2f×**" % r if r is not None else "–"


def meets(r, goal):
    op, v = goal
    return r <= v if op == "<=" else r < v


def goal_mark(R, fig, be, r, goal):
    """✓ the median ratio meets @goal ((op, value) or None); ≈ it misses,
    but some rounds meet it (within the noise); ✗ every round misses."""
    if r is None or goal is None:
        return ""
    if meets(r, goal):
        return " ✓"
    rr = [x for x in (R.get(fig, be) or {}).get("round_ratio_to_vfio", []) if x]
    return " ≈" if any(meets(x, goal) for x in rr) else " ✗"


def main_table(R):
    rows = [
        # label, figure, devbroker backend, goal
        ("Mapped MMIO read (liveness, 0x04)", "mmio_read", "dbk", ("<=", 1.0), "1.00×"),
        ("Mapped MMIO write (liveness, 0x04)", "mmio_write", "dbk", ("<=", 1.0), "1.00×"),
        ("Mediated read, no policy (pread)", "pread", "dbk", ("<=", 1.1), "≤ 1.1×"),
        ("Mediated read, `default` policy", "pread", "dbk-default", ("<=", 1.1), "≤ 1.1×"),
        ("Mediated read, an access program that returns at once", "pread", "dbk-hook", ("<=", 1.1), "≤ 1.1×"),
        ("Mediated read, `edu_firewall`", "pread", "dbk-edu_firewall", ("<=", 1.1), "≤ 1.1×"),
        ("MSI raise → eventfd, driver on the vector's vCPU", "msi_raise", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("MSI raise → eventfd, driver on the other vCPU", "msi_raise_cross", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("MSI wake of a sleeping driver, vector's vCPU", "msi_wake", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("MSI wake of a sleeping driver, other vCPU", "msi_wake_cross", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("… of which above the kernel's handler (vector's vCPU)", "msi_wake_above_isr", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("… of which above the kernel's handler (other vCPU)", "msi_wake_above_isr_cross", "dbk", ("<=", 1.0), "≤ 1.0×"),
        ("INTx cycle (raise, wake, ack, unmask)", "intx", "dbk", None, "–"),
    ]
    for k in (4, 1024, 65536):
        rows.append(("DMA map %s" % fmt_size(k), "dma_map_%dk" % k, "dbk", ("<=", 1.0), "≤ 1.0×"))
    for k in (4, 1024, 65536):
        rows.append(("DMA unmap %s" % fmt_size(k), "dma_unmap_%dk" % k, "dbk", None, "–"))
    rows += [
        ("Setup: open to first MSI", "setup", "dbk", ("<", 1.0), "< 1.0×"),
        ("Setup: open only (grant + adopt / group + container + device)", "setup_open", "dbk", ("<", 1.0), "< 1.0×"),
    ]
    out = ["| Case | devbroker | vfio-pci | uio_pci_generic | devbroker / vfio | per round | goal | guest CPU/op devbroker · vfio |",
           "|---|---:|---:|---:|---:|---:|---|---:|"]
    for label, fig, be, goal, goal_s in rows:
        if R.p50(fig, be) is None:
            continue
        r = R.ratio(fig, be)
        uio = R.p50(fig, "uio")
        c1, c2 = R.cpu(fig, be), R.cpu(fig, "vfio")
        out.append("| %s | %s | %s | %s | %s%s | %s | %s | %s · %s |" % (
            label, fmt_ns(R.p50(fig, be)), fmt_ns(R.p50(fig, "vfio")),
            fmt_ns(uio) if uio else "–", ratio_s(r), goal_mark(R, fig, be, r, goal),
            R.round_range(fig, be), goal_s, fmt_ns(c1), fmt_ns(c2)))
    return out


def dma_slope(R, be, kind="map"):
    """ns per 4 KiB page, from the p50s at 1 MiB and 64 MiB."""
    a, b = R.p50("dma_%s_1024k" % kind, be), R.p50("dma_%s_65536k" % kind, be)
    if not a or not b:
        return None
    return (b - a) / ((65536 - 1024) / 4)


def revocation_rows(R):
    out = []
    rv, ub = R.get("revoke", "dbk"), R.get("unbind", "dbk")
    vu, vx = R.get("unbind", "vfio"), R.get("unbind_after_exit", "vfio")
    if rv and rv.get("n"):
        out.append("- devbroker `DBK_DEVICE_REVOKE`, with the user's BAR mapping, MSI vector "
                   "and 1 MiB DMA mapping live: p50 %s (min %s, max %s, n %d)."
                   % (fmt_ns(rv["p50"]), fmt_ns(rv["min"]), fmt_ns(rv["max"]), rv["n"]))
    if ub and ub.get("n"):
        out.append("- devbroker unbind (sysfs) under the same live user: p50 %s (max %s, n %d): "
                   "it revokes and returns, the user is left with `-ENODEV`/SIGBUS."
                   % (fmt_ns(ub["p50"]), fmt_ns(ub["max"]), ub["n"]))
    if vu or vx:
        s = vu if vu else vx
        blocked = s.get("blocked", 0)
        total = blocked + (vu.get("n", 0) if vu else 0)
        out.append("- vfio-pci unbind under a live user: **blocked in %d of %d tries** until the "
                   "%d s limit (vfio waits for the user to close the device; with no request "
                   "channel registered it only logs)." % (blocked, total, s.get("limit_s", 0)))
        if vx and vx.get("n"):
            out.append("  Once the user was killed, the unbind returned after p50 %s (max %s, n %d)."
                       % (fmt_ns(vx["p50"]), fmt_ns(vx["max"]), vx["n"]))
    return out


def policy_rows(R):
    out = []
    base, null = R.p50("pread", "dbk"), R.p50("null_syscall", "dbk")
    for be, name in (("dbk-default", "`default` (no access program)"),
                     ("dbk-hook", "an access program that returns at once"),
                     ("dbk-edu_firewall", "`edu_firewall`")):
        p = R.p50("pread", be)
        if base and null and p:
            out.append("| %s | %s | %s | %.2f | ≤ 0.1%s |" % (
                name, fmt_ns(p - base), fmt_ns(null), (p - base) / null,
                " ✓" if (p - base) / null <= 0.1 else " ✗"))
    if out:
        out = ["| Policy | cost per decision (pread with − without) | null syscall (getppid) | ratio | goal |",
               "|---|---:|---:|---:|---|"] + out
    return out


def gq(text):
    """A gnuplot single-quoted string (a quote inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def gnuplot(script, tmp):
    path = os.path.join(tmp, "plot.gp")
    with open(path, "w") as fh:
        fh.write(script)
    subprocess.run(["gnuplot", path], check=True, cwd=tmp)


def plot_cdf(R, out_svg, tmp):
    cdf = R.d.get("cdf", {}).get("figures", {})
    series = []
    for fig, title in (("msi_wake", "wake, vector's vCPU"), ("msi_wake_cross", "wake, other vCPU"),
                       ("msi_wake_above_isr", "above the handler, vector's vCPU")):
        for be, name in (("dbk", "devbroker"), ("vfio", "vfio-pci")):
            pts = cdf.get(fig, {}).get(be)
            if not pts:
                continue
            fn = os.path.join(tmp, "%s-%s.dat" % (fig, be))
            with open(fn, "w") as fh:
                for i, ns in enumerate(pts):
                    fh.write("%.3f %.2f\n" % (ns / 1e3, i / 100.0))
            series.append((fn, "%s, %s" % (name, title)))
    if not series:
        return False
    plots = ", ".join("%s using 1:2 with steps lw 2 title %s" % (gq(f), gq(t)) for f, t in series)
    gnuplot("""set terminal svg size 760,460 dynamic noenhanced font 'sans,11'
set output %s
set title 'edu MSI to the driver running (TCG guest): CDF of the samples'
set xlabel 'latency (µs, log scale)'
set ylabel 'fraction of samples'
set logscale x
set key bottom right
set grid
plot %s
""" % (gq(out_svg), plots), tmp)
    return True


def plot_dma(R, out_svg, tmp):
    series = []
    for kind in ("map", "unmap"):
        for be, name in (("dbk", "devbroker DMA_MAP" if kind == "map" else "devbroker DMA_UNMAP"),
                         ("vfio", "vfio type1 MAP_DMA" if kind == "map" else "vfio type1 UNMAP_DMA")):
            rows = [(k, R.p50("dma_%s_%dk" % (kind, k), be)) for k in SIZES_K]
            rows = [(k, v) for k, v in rows if v]
            if not rows:
                continue
            fn = os.path.join(tmp, "dma-%s-%s.dat" % (kind, be))
            with open(fn, "w") as fh:
                for k, v in rows:
                    fh.write("%d %.3f\n" % (k, v / 1e3))
            series.append((fn, name, "lines" if kind == "map" else "lines dashtype 2"))
    if not series:
        return False
    plots = ", ".join("%s using 1:2 with %s lw 2 title %s" % (gq(f), w, gq(t)) for f, t, w in series)
    gnuplot("""set terminal svg size 760,460 dynamic noenhanced font 'sans,11'
set output %s
set title 'DMA map and unmap of the caller''s memory against its size (p50, TCG guest, intel-iommu)'
set key top left box opaque
set xlabel 'size (KiB, log scale)'
set ylabel 'time per call (µs, log scale)'
set logscale xy
set grid
plot %s
""" % (gq(out_svg), plots), tmp)
    return True


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    no_plots = "--no-plots" in sys.argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out_dir = args
    R = Results(json.load(open(src)))
    d = R.d
    h, g, load = d.get("host", {}), d.get("guest", {}), d.get("load", {})
    rel = os.path.relpath(src, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    L = ["# Performance: devbroker side by side with vfio-pci and uio_pci_generic", "",
         "<!-- Generated by bench/render-performance.py from %s: do not edit; "
         "rerun `make bench` (or bench/side-bench-run BUILD with BENCH_RENDER=1). -->" % rel, "",
         "One boot of a q35 + intel-iommu guest under QEMU TCG with three identical edu "
         "devices, one bound to each backend for the whole boot, every case run through each "
         "backend in interleaved rounds, each starting with the next backend (A, B, C; B, C, A; …; "
         "bench/side-bench.sh).  The "
         "same binary (bench/side-bench.c) and the same libdev calls drive devbroker and "
         "vfio-pci (libdev's VFIO backend); uio_pci_generic is driven through sysfs and "
         "/dev/uioN.  **Under TCG only the ratios of figures measured side by side mean "
         "anything**: device emulation costs microseconds per access.  No figure here is a "
         "pass or a fail of anything.", "",
         "- Result set: `%s` (%s)" % (rel, d.get("date", "?")),
         "- Host: %s, %s CPUs, kernel %s; %s, accel %s" % (h.get("cpu"), h.get("cpus"), h.get("kernel"),
                                                           h.get("qemu"), h.get("accel")),
         "- Guest: kernel %s, %s vCPUs, %d MiB; %s round(s), samples × %s; in-kernel floor "
         "from `irq_handler_entry`: %s; policies: %s" % (
             g.get("guest_kernel"), g.get("guest_cpus"), g.get("guest_mem_kib", 0) // 1024,
             g.get("rounds"), g.get("scale"), "yes" if g.get("trace_floor") else "no",
             "yes" if g.get("policies") else "no"),
         "- Host load average (1, 5, 15 min): %s before, %s after%s" % (
             " ".join("%.2f" % x for x in load.get("before", [])) or "?",
             " ".join("%.2f" % x for x in load.get("after", [])) or "?",
             "" if not load.get("loaded") else
             ". **The host was loaded during this run**: absolute figures are inflated and "
             "noisier; the per-round ratios, measured minutes apart at most, are what to read."),
         ""]
    if d.get("errors"):
        L += ["**%d run(s) failed** and are missing from the figures: %s." % (
            len(d["errors"]), ", ".join("%s/%s round %s (status %s)" % (
                e.get("case"), e.get("backend"), e.get("round"), e.get("status")) for e in d["errors"])), ""]
    L += ["## The table", "",
          "Medians (p50) over all rounds; *devbroker / vfio* is the ratio of those medians; "
          "*per round* is the range of the same ratio taken round by round (each round's two "
          "runs shared the host's load of the moment).  Guest CPU per operation is the "
          "median over the samples of the benchmark process's own CPU time "
          "(`CLOCK_PROCESS_CPUTIME_ID` around each sample; the guest kernel has no IRQ time "
          "accounting, so the handlers of its own vector count when they interrupt it on its "
          "vCPU; the result set also holds the mean, and all vCPUs' busy time for loops of a "
          "second or more).  Against issue 16's goals: ✓ the median ratio meets it; ≈ it "
          "does not, but some rounds do (the rounds' spread covers the goal); ✗ no round does.", ""]
    L += main_table(R)
    s1, s2 = dma_slope(R, "dbk"), dma_slope(R, "vfio")
    if s1 and s2:
        L += ["", "DMA map slope (1 MiB to 64 MiB, per 4 KiB page): devbroker %s, vfio %s (%.2f×)." % (
            fmt_ns(s1), fmt_ns(s2), s1 / s2)]
    u1, u2 = dma_slope(R, "dbk", "unmap"), dma_slope(R, "vfio", "unmap")
    if u1 and u2:
        L += ["DMA unmap slope: devbroker %s, vfio %s (%.2f×)." % (fmt_ns(u1), fmt_ns(u2), u1 / u2)]
    pol = policy_rows(R)
    if pol:
        L += ["", "## The policy hook", "", "Its cost per decision against a null system call "
              "(goal: ≤ 0.1 null syscall), from the mediated reads above.", ""] + pol
    rv = revocation_rows(R)
    if rv:
        L += ["", "## Revocation", ""] + rv
    L += ["", "## Plots", ""]
    have_gp = shutil.which("gnuplot") is not None and not no_plots
    if have_gp:
        with tempfile.TemporaryDirectory() as tmp:
            cdf_ok = plot_cdf(R, os.path.join(os.path.abspath(out_dir), "performance-msi-cdf.svg"), tmp)
            dma_ok = plot_dma(R, os.path.join(os.path.abspath(out_dir), "performance-dma-map.svg"), tmp)
        if cdf_ok:
            L += ["![CDF of the MSI wake latencies](performance-msi-cdf.svg)", ""]
        if dma_ok:
            L += ["![DMA map and unmap cost against size](performance-dma-map.svg)", ""]
    else:
        L += ["(Not made: gnuplot is not installed, or --no-plots.)", ""]
    L += ["## Not in this result set", "",
          "Rows of issue 16 that this harness does not measure yet; their own side-by-side "
          "benchmarks exist and run as separate configurations.", "",
          "| Row | devbroker | reference | how to run it |", "|---|---|---|---|",
          "| NVMe fio (ours against the kernel's nvme; ours over vfio) | – | – | `bench/run BUILD nvme` |",
          "| e1000e iperf3 and ping against the kernel's e1000e | – | – | `bench/run BUILD e1000e` |",
          "| USB HID key latency against usbhid | – | – | `meson test -C BUILD --benchmark vm-bench-usb-hid` |",
          "| USB storage throughput against usb-storage | – | – | `meson test -C BUILD --benchmark vm-bench-usb-storage` |",
          "| Frontends: CUSE round trip, uinput event, FUSE file, nbd request, TAP frame | – | – | `bench/run BUILD edu` (CUSE round trip only, no native reference) |",
          ""]
    notes = os.path.splitext(src)[0] + ".notes.md"
    if os.path.exists(notes):
        L += ["## Analysis", "", "(Written by hand for this result set: %s.)" % os.path.relpath(
            notes, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")), ""]
        L += [open(notes).read().rstrip(), ""]
    L += ["## Reproducing", "",
          "`make bench` (all of this: `bench/run BUILD all`), or `bench/side-bench-run BUILD "
          "[CASE...]` with BENCH_ROUNDS, BENCH_SCALE and BENCH_RENDER=1; "
          "`bench/render-performance.py RESULTS.json docs` renders a result set again.", ""]
    with open(os.path.join(out_dir, "performance.md"), "w") as fh:
        fh.write("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
