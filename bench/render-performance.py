#!/usr/bin/env python3
"""Render docs/performance.md and its plots from one result set of
bench/side-bench-run (bench/results/<date>-<host>.json).

usage: bench/render-performance.py RESULTS.json OUT_DIR [--no-plots]
           [--nvme NVME.json] [--nvme-vfio NVME-VFIO.json] [--e1000e E1000E.json]
           [--usb-hid USB-HID.json] [--usb-storage USB-STORAGE.json]
           [--frontends FRONTENDS.json]
       bench/render-performance.py --list-drivers
       bench/render-performance.py --newest-set DIR

--list-drivers prints the drivers' result-set suffixes, one a line (the
shell scripts that look for result sets take them from here); --newest-set
prints the newest side-by-side result set in DIR (by name, <date>-<host>.json,
a driver's set not counted) and fails if there is none.

The drivers' result sets (bench/nvme-bench-run's, bench/e1000e-bench-run's,
bench/usb-bench-run's: drivers/nvme, drivers/e1000e, drivers/usb-hid and
drivers/usb-storage against the kernel's nvme, e1000e, usbhid and
usb-storage; and bench/nvme-bench-run vfio's: drivers/nvme on devbroker
against the same driver on vfio-pci; and bench/frontend-bench-run's:
libdev's frontends against their kernel-native equivalents) are
RESULTS-nvme.json, RESULTS-e1000e.json, RESULTS-usb-hid.json,
RESULTS-usb-storage.json, RESULTS-nvme-vfio.json and RESULTS-frontends.json
beside RESULTS.json (the same date and host) unless named; their rows say
"not measured" without one.

OUT_DIR gets performance.md, performance-msi-cdf.svg and
performance-dma-map.svg (gnuplot, Debian's gnuplot-nox; without it, or with
--no-plots, the report says the plots were not made).  A hand-written
analysis beside the result set (RESULTS.notes.md: the misses and their
causes) is included as is.  Ratios are devbroker / vfio-pci, of medians
measured side by side in one boot; under TCG only ratios mean anything.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SIZES_K = [4, 16, 64, 256, 1024, 4096, 16384, 65536]
# The drivers' benchmarks, in the report's order (their result sets'
# suffixes, bench/driver-bench-report.py's --bench).
DRIVERS = ("nvme", "nvme-vfio", "e1000e", "usb-hid", "usb-storage", "frontends")


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


def rf(r):
    """A ratio: two decimals, or two significant digits below 0.01 (the
    frontends' IOPS against the kernel's), never a bare 0.00."""
    return "%.2f" % r if r >= 0.01 or r == 0 else "%.2g" % r


def ratio_s(r):
    return "**%s×**" % rf(r) if r is not None else "–"


def meets(r, goal):
    op, v = goal
    return {"<=": r <= v, "<": r < v, ">=": r >= v}[op]


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


# The drivers' rows: (label, benchmark[:phase], case, figure, unit, goal,
# goal text, CPU figure, CPU unit); goal (op, ratio) on ours / kernel, or
# None (issue 16 sets none for USB: the rows report what is).
DRIVER_ROWS = [
    ("NVMe fio 4 KiB random read, QD1", "nvme", "randread-4k-qd1", "iops", "IOPS", None, "–",
     "cpu_us_per_io", "I/O"),
    ("NVMe fio 4 KiB random read, QD32", "nvme", "randread-4k-qd32", "iops", "IOPS", (">=", 1.0),
     "≥ 1.0×, CPU/IO ≤ 1.0×", "cpu_us_per_io", "I/O"),
    ("NVMe fio 128 KiB sequential read, QD8", "nvme", "read-128k-qd8", "mbps", "MB/s", None, "–",
     "cpu_us_per_io", "I/O"),
    ("NVMe fio 128 KiB sequential write, QD8", "nvme", "write-128k-qd8", "mbps", "MB/s", None, "–",
     "cpu_us_per_io", "I/O"),
    ("NVMe, the driver's own loop: 4 KiB reads, QD1, on devbroker against vfio-pci", "nvme-vfio",
     "read-4k-qd1", "iops", "IOPS", None, "–", "drv_us_per_io", "I/O"),
    ("NVMe, the driver's own loop: 4 KiB reads, QD16, on devbroker against vfio-pci", "nvme-vfio",
     "read-4k-qd16", "iops", "IOPS", None, "–", "drv_us_per_io", "I/O"),
    ("NVMe, the driver's own loop: 128 KiB reads, QD8, on devbroker against vfio-pci", "nvme-vfio",
     "read-128k-qd8", "mbps", "MB/s", None, "–", "drv_us_per_io", "I/O"),
    ("e1000e iperf3 TCP transmit", "e1000e", "tcp-tx", "mbps", "Mbit/s", (">=", 0.9), "≥ 0.9×",
     "cpu_us_per_mb", "MB"),
    ("e1000e iperf3 TCP receive", "e1000e", "tcp-rx", "mbps", "Mbit/s", (">=", 0.9), "≥ 0.9×",
     "cpu_us_per_mb", "MB"),
    ("e1000e iperf3 UDP, 64-byte payloads, received", "e1000e", "udp-64", "pps", "packets/s",
     (">=", 0.9), "≥ 0.9×", "cpu_us_per_pkt", "packet"),
    ("e1000e ping RTT p50", "e1000e", "ping", "p50_ms", "ms", ("<=", 1.2), "≤ 1.2×",
     "cpu_us_per_ping", "ping"),
    ("e1000e ping RTT p99", "e1000e", "ping", "p99_ms", "ms", ("<=", 1.2), "≤ 1.2×", None, None),
    ("USB HID key, URB completion → evdev event, p50", "usb-hid", "key", "urb_p50_us", "µs", None, "–",
     "cpu_us_per_event", "event"),
    ("USB HID key, URB completion → evdev event, p90", "usb-hid", "key", "urb_p90_us", "µs", None, "–",
     None, None),
    ("USB HID key, QMP request → evdev event, p50", "usb-hid", "key", "req_p50_ms", "ms", None, "–",
     None, None),
] + [("USB storage sequential %s, %s per command, %s" % (op, kib, fe), "usb-storage" + ph, case,
      "mbps", "MB/s", None, "–", "cpu_us_per_mb", "MB")
     for op, case, kib in (("read", "read", "1 MiB"), ("write", "write", "1 MiB"),
                           ("read", "read-120k", "120 KiB"), ("write", "write-120k", "120 KiB"))
     for fe, ph in (("FUSE file", ":fuse"), ("nbd disk", ""))] + [
    # libdev's frontends, each served by a test driver under devbrokerd,
    # against the kernel-native equivalent (bench/frontend-bench.sh).
    ("Frontend nbd: 4 KiB O_DIRECT random read, depth 1, p50 (dbk-ramdisk on Block=; brd)",
     "frontends", "nbd-4k-randread", "p50_us", "µs", None, "–", "cpu_us_per_op", "read"),
    ("Frontend nbd: 4 KiB O_DIRECT random reads, depth 1 (dbk-ramdisk on Block=; brd)",
     "frontends", "nbd-4k-randread", "ops_per_s", "IOPS", None, "–", None, None),
    ("Frontend TAP: ping RTT p50 (dbk-netecho on Network=; a veth pair into a namespace)",
     "frontends", "tap-ping", "p50_us", "µs", None, "–", "cpu_us_per_op", "ping"),
    ("Frontend FUSE file: 4 KiB random read p50 (O_DIRECT, dbk_fuse_file_* on a tmpfs file; "
     "the tmpfs file read directly)", "frontends", "fuse-4k-randread", "p50_us", "µs", None, "–",
     "cpu_us_per_op", "read"),
    ("Frontend CUSE: 8-byte read round trip p50 (edu-driver's /dev/edu0; /dev/zero, only a floor)",
     "frontends", "cuse-read", "p50_us", "µs", None, "–", "cpu_us_per_op", "read"),
    ("Frontend CUSE, bare: 8-byte read round trip p50 (dbk-fe-driver's /dev/dbkfe0, a read callback "
     "that only returns; /dev/zero, only a floor)",
     "frontends", "cuse-bare-read", "p50_us", "µs", None, "–", "cpu_us_per_op", "read"),
    ("Frontend uinput: dbk_input_emit() and sync to the evdev read, p50 (no kernel equivalent)",
     "frontends", "uinput-event", "p50_us", "µs", None, "–", "cpu_us_per_op", "event"),
]
# Rows with no reference: ours alone, never "not measured" for the want of one.
NO_REFERENCE = {("frontends", "uinput-event")}
DRIVER_NAMES = {"nvme": ("drivers/nvme (through nbd)", "the kernel's nvme", "bench/run BUILD nvme"),
                "nvme-vfio": ("drivers/nvme on a devbroker grant", "the same driver on vfio-pci",
                              "bench/run BUILD nvme-vfio"),
                "e1000e": ("drivers/e1000e (TAP)", "the kernel's e1000e", "bench/run BUILD e1000e"),
                "usb-hid": ("drivers/usb-hid (usbfs, uinput)", "the kernel's usbhid",
                            "bench/run BUILD usb-hid"),
                "usb-storage": ("drivers/usb-storage (FUSE file, nbd disk)", "the kernel's usb-storage",
                                "bench/run BUILD usb-storage"),
                "frontends": ("libdev's frontends (nbd, TAP, FUSE file, CUSE, uinput; test drivers)",
                              "their kernel-native equivalents (brd, veth, tmpfs, /dev/zero; none "
                              "for uinput)", "bench/run BUILD frontends")}
# What each goal says was not met, for the generated misses.
WHY = {
    "nvme": "an I/O of ours goes through the guest's block layer to the nbd disk, over a "
            "socket to the driver's process, and only then to the controller through the "
            "driver's own queue pair; the kernel's nvme goes from the block layer to the "
            "doorbell: two more wake-ups per I/O at least, which is most of QD1's miss.  "
            "The driver copies no data (its command slots' DMA buffers are lent to the "
            "frontend, dbk_block_set_buffers()); at 128 KiB the nbd socket bounds the path "
            "(a write arrives a page per socket buffer), and the frontend's ceiling is "
            "little faster there (bench/results/2026-12-04-vm.notes.md has the profiles)",
    "nvme-vfio": "the same binary and the same loop on both; what differs is the backend: "
                 "the doorbells' and registers' mappings, the interrupts' eventfds and the DMA "
                 "mappings",
    "e1000e": "each frame crosses the TAP device to the driver's process and back, a wake-up "
              "of that process per interrupt (and per transmit) where the kernel's e1000e "
              "handles it in its interrupt and NAPI poll; on a loaded host each wake-up can "
              "wait for a host CPU, which shows most in the RTT.  For throughput, a TAP "
              "without offloads (result sets before 2026-12-05; since, NetworkOffloads=yes) "
              "has the guest's kernel checksum and segment in software what the kernel's "
              "e1000e hands the NIC (profiled: E1000E_BENCH_PERF=1); on receive, the guest's "
              "IP and TCP stack runs inside the driver's TAP writes",
    "usb-hid": "a report goes from usbfs to the driver's process (libusb), then through "
               "uinput back into the kernel's input layer, two wake-ups where usbhid handles "
               "it in the URB's completion",
    "usb-storage": "each command crosses to the driver's process (FUSE or nbd) and back, and "
                   "the data is copied through it",
    "frontends": "each operation crosses from the kernel to the driver's process and back "
                 "(two wake-ups and copies) where the native equivalent stays in the kernel",
}


def fmt_val(v, unit):
    if v is None:
        return "–"
    if unit == "ms":
        return "%.2f ms" % v
    if unit == "MB/s":
        return "%.1f MB/s" % v
    if unit == "µs":
        return "%.0f µs" % v if v >= 100 else "%.1f µs" % v
    return "%.0f %s" % (v, unit)


def fmt_us(v):
    if v is None:
        return "–"
    if v >= 10000:
        return "%.1f ms" % (v / 1000)
    if v >= 1000:
        return "%.2f ms" % (v / 1000)
    return "%.0f µs" % v if v >= 100 else "%.1f µs" % v


def driver_fig(D, bench, case, key):
    """A figure of a driver's result set, its sides as "ours" and "kernel";
    bench may name a phase other than main ("usb-storage:fuse")."""
    bench, _, phase = bench.partition(":")
    d = D.get(bench)
    if not d:
        return None
    p = d.get("phases", {}).get(phase or "main", {})
    f = p.get("cases", {}).get(case, {}).get(key)
    if not f:
        return None
    f = dict(f)
    f["ours"], f["kernel"] = f.get(p.get("ours"), {}), f.get(p.get("reference"), {})
    return f


def driver_mark(f, c, goal, with_cpu):
    """✓ the ratio of the medians meets the goal (and, @with_cpu, CPU per
    operation is no more than the kernel's); ≈ it does not, but some round
    does; ✗ no round does."""
    r = f.get("ratio")
    if r is None or goal is None:
        return ""
    cr = (c or {}).get("ratio")
    if meets(r, goal) and (not with_cpu or (cr is not None and cr <= 1.0)):
        return " ✓"
    rr, cc = f.get("round_ratios", []), (c or {}).get("round_ratios", [])
    if with_cpu:
        ok = any(meets(x, goal) and y <= 1.0 for x, y in zip(rr, cc))
    else:
        ok = any(meets(x, goal) for x in rr)
    return " ≈" if ok else " ✗"


def driver_rows(D):
    out = ["| Case | ours | reference (the kernel's driver; vfio-pci where named) | ours / reference "
           "| per round | goal | guest CPU/op ours · reference | CPU ours / reference |",
           "|---|---:|---:|---:|---:|---|---:|---:|"]
    misses = []
    for label, bench, case, key, unit, goal, goal_s, ckey, cunit in DRIVER_ROWS:
        f = driver_fig(D, bench, case, key)
        alone = (bench, case) in NO_REFERENCE
        if f and alone and f.get("ours", {}).get("n"):
            c = driver_fig(D, bench, case, ckey) if ckey else None
            cpu = "%s · – per %s" % (fmt_us(c["ours"].get("p50")), cunit) if c and c["ours"].get("n") else "–"
            out.append("| %s (%s) | %s | none | – | – | %s | %s | – |" % (
                label, unit, fmt_val(f["ours"].get("p50"), unit), goal_s, cpu))
            continue
        if not f or not f.get("ours", {}).get("n") or not f.get("kernel", {}).get("n"):
            out.append("| %s (%s) | not measured | – | – | – | %s | – | – |" % (label, unit, goal_s))
            continue
        c = driver_fig(D, bench, case, ckey) if ckey else None
        mark = driver_mark(f, c, goal, "CPU" in goal_s)
        rr = f.get("round_ratios", [])
        cpu, cpu_r = "–", "–"
        if c:
            cpu = "%s · %s per %s" % (fmt_us(c["ours"].get("p50")), fmt_us(c["kernel"].get("p50")), cunit)
            cpu_r = "%.2f×" % c["ratio"] if c.get("ratio") is not None else "–"
        vals = [fmt_val(f[side].get("p50"), unit) for side in ("ours", "kernel")]
        loss = driver_fig(D, bench, case, "lost_percent")
        if loss and loss["ours"].get("n") and loss["kernel"].get("n"):
            # What the peer received of what iperf3 offered: the rest was lost.
            vals = ["%s (%.0f%% lost)" % (v, loss[side]["p50"]) for v, side in zip(vals, ("ours", "kernel"))]
        rng = "%s–%s" % (rf(min(rr)), rf(max(rr))) if rr else "–"
        per_round = rng
        most = max(f["ours"]["n"], f["kernel"]["n"])
        if f.get("paired_rounds", most) < most:
            # The ratio is of the rounds both sides completed; the medians
            # beside it are of each side's own.
            per_round += " (%d of %d rounds paired)" % (f["paired_rounds"], most)
        out.append("| %s (%s) | %s | %s | %s%s | %s | %s | %s | %s |" % (
            label, unit, vals[0], vals[1],
            ratio_s(f.get("ratio")), mark, per_round, goal_s, cpu, cpu_r))
        cpu_s = "CPU per %s %.2f×" % (cunit, c["ratio"]) if c and c.get("ratio") is not None else ""
        bench = bench.partition(":")[0]
        if mark in (" ✗", " ≈"):
            misses.append((bench, "%s: %.2f× the kernel's (per round %s; goal %s)%s%s" % (
                label, f["ratio"], rng, goal_s,
                "; " + cpu_s if cpu_s else "", "" if mark == " ✗" else ": some rounds met it")))
        elif goal is None:
            # No ratio when the two sides completed no round in common.
            misses.append((bench, None, "%s %s%s" % (label, rf(f["ratio"]) + "×" if f.get("ratio") is not None
                                                     else "no ratio (no round both sides completed)",
                                                     " (%s)" % cpu_s if cpu_s else "")))
    return out, misses


def nvme_notes(d):
    """Where ours' CPU per I/O went, and the calibration's noise floor."""
    L = []
    cases = d.get("phases", {}).get("main", {}).get("cases", {})
    split = []
    for label, bench, case, *_ in DRIVER_ROWS:
        if bench != "nvme":
            continue
        c = cases.get(case, {})
        tot, drv = c.get("cpu_us_per_io", {}).get("ours", {}), c.get("drv_us_per_io", {}).get("ours", {})
        fio = c.get("fio_us_per_io", {}).get("ours", {})
        if tot.get("n") and drv.get("n"):
            split.append("%s %s of %s (fio %s)" % (label.replace("NVMe fio ", ""), fmt_us(drv["p50"]),
                                                   fmt_us(tot["p50"]), fmt_us(fio.get("p50"))))
    if split:
        L.append("  - Ours' guest CPU per I/O, the driver's process (all its threads, measured) of "
                 "the whole: %s; the rest is nbd's kernel threads, the block layer and interrupts."
                 % "; ".join(split))
    cal = [f["iops"]["ratio"] for f in d.get("phases", {}).get("cal", {}).get("cases", {}).values()
           if f.get("iops") and f["iops"].get("ratio")]
    if cal:
        lo = min(min(cal), 1 / max(cal))
        L.append("  - The calibration rounds (the kernel's nvme on both controllers) gave IOPS ratios "
                 "of %.2f× to %.2f× between two identical controllers: on this host one run's ratio "
                 "between %.2f× and %.2f× says nothing by itself; only ratios beyond that, or the "
                 "same in every round, do." % (min(cal), max(cal), lo, 1 / lo))
    L += ceiling_note(d, "randread-4k-qd32", "iops",
                      "The frontend's ceiling (the same nbd path served from memory by a driver that "
                      "does no device I/O, tests/helpers/dbk-ramdisk, against the kernel's nvme in the "
                      "same boot) reached %s of the kernel's IOPS at QD32 (per round %s)%s: %s",
                      "drivers/nvme reached", lambda r: r < 1.0,
                      "in this boot no driver behind nbd, however fast, could have reached the goal of 1.0×.",
                      "the frontend itself leaves room for the goal.")
    return L


def e1000e_notes(d):
    """The TAP frontend's ceiling for ping against the RTT goal."""
    return ceiling_note(d, "ping", "p50_ms",
                        "The TAP frontend's ceiling (tests/helpers/dbk-netecho answering the same pings "
                        "itself through a TAP: no device, no wire, no peer, against the kernel's e1000e and "
                        "its peer in the same boot): ping p50 %s the kernel's (per round %s)%s: %s",
                        "drivers/e1000e had", lambda r: r > 1.2,
                        "the TAP hop alone costs more than the goal of 1.2× allows.",
                        "the TAP hop alone leaves room for the goal.")


def ceiling_note(d, case, key, text, ours_what, misses, missed, room):
    """A frontend's ceiling phase (bench/nvme-bench.sh, bench/e1000e-bench.sh) against the goal:
    TEXT with the ceiling's ratio, its rounds' range, ours beside it and the verdict."""
    q = d.get("phases", {}).get("ceiling", {}).get("cases", {}).get(case, {}).get(key, {})
    if q.get("ratio") is None:
        return []
    ours = d.get("phases", {}).get("main", {}).get("cases", {}).get(case, {}).get(key, {}).get("ratio")
    rr = q.get("round_ratios")
    return ["  - " + text % (rf(q["ratio"]) + "×", "–".join(rf(x) for x in (min(rr), max(rr))) if rr else "–",
                             ", where %s %s×" % (ours_what, rf(ours)) if ours is not None else "",
                             missed if misses(q["ratio"]) else room)]


def driver_facts(D, bench, path):
    d = D.get(bench)
    ours, ref, how = DRIVER_NAMES[bench]
    if not d:
        return ["- %s against %s: not measured (no result set; `%s`)." % (ours, ref, how)]
    g, h, load = d.get("guest", {}), d.get("host", {}), d.get("load", {})
    extra = ""
    if bench == "nvme":
        extra = ", %s calibration round(s) (the kernel's nvme on both controllers), %s s of fio per run" % (
            g.get("cal_rounds", "?"), g.get("runtime_s", "?"))
        if g.get("ceil_rounds"):
            extra += ", %s round(s) of the frontend's ceiling (a no-device nbd server against the kernel's nvme)" % (
                g["ceil_rounds"])
    elif bench == "e1000e":
        extra = ", %s s per iperf3 run, %s pings; driver options '%s'" % (
            g.get("runtime_s", "?"), g.get("pings", "?"), g.get("driver_args", ""))
        if g.get("ceil_rounds"):
            extra += "; %s round(s) of the TAP frontend's ceiling for ping" % g["ceil_rounds"]
    elif bench == "nvme-vfio":
        extra = ", %s s per case, the driver's own I/O loop (`nvme --bench`) on one queue pair" % (
            g.get("runtime_s", "?"))
    elif bench == "usb-hid":
        extra = ", %s keystrokes (a press and a release each) per side and round" % g.get("keys", "?")
    elif bench == "usb-storage":
        extra = ", %s MiB per dd run (O_DIRECT)" % g.get("mb", "?")
    elif bench == "frontends":
        extra = ", %s s per run (reads and input events; 200 pings a second); %s MiB disks and file" % (
            g.get("secs", "?"), g.get("mb", "?"))
    L = ["- %s against %s: `%s` (%s), %s round(s)%s; guest kernel %s; %s; host kernel %s" % (
        ours, ref, path, d.get("date", "?"), g.get("rounds", "?"), extra, g.get("guest_kernel"),
        h.get("qemu"), h.get("kernel")),
        "  - Host load average (1, 5, 15 min): %s before, %s after%s" % (
            " ".join("%.2f" % x for x in load.get("before", [])) or "?",
            " ".join("%.2f" % x for x in load.get("after", [])) or "?",
            ". **The host was loaded during this run.**" if load.get("loaded") else "")]
    if d.get("errors"):
        L.append("  - **%d run(s) failed** and are left out of the figures." % d["errors"])
    cal = d.get("phases", {}).get("cal", {}).get("cases", {})
    if cal:
        L.append("  - Calibration, kernelA / kernelB IOPS (the same driver on both controllers: "
                 "the noise floor of a ratio): %s." % ", ".join(
                     "%s %s" % (case, ratio_s(f["iops"].get("ratio")).strip("*"))
                     for case, f in cal.items() if f.get("iops")))
    ceil = d.get("phases", {}).get("ceiling", {}).get("cases", {})
    if ceil and bench == "e1000e" and ceil.get("ping", {}).get("p50_ms"):
        f = ceil["ping"]
        L.append("  - The TAP frontend's ceiling, ceiling / kernel ping RTT (tests/helpers/dbk-netecho "
                 "answering through a TAP: what no driver behind a TAP can beat): p50 %s, p99 %s." % (
                     ratio_s(f["p50_ms"].get("ratio")).strip("*"),
                     ratio_s(f.get("p99_ms", {}).get("ratio")).strip("*")))
    elif ceil and bench == "nvme":
        L.append("  - The frontend's ceiling, ceiling / kernel IOPS (tests/helpers/dbk-ramdisk serving "
                 "memory through the same nbd frontend: what no driver behind nbd can beat): %s." % ", ".join(
                     "%s %s" % (case, ratio_s(f["iops"].get("ratio")).strip("*"))
                     for case, f in ceil.items() if f.get("iops")))
    return L


def drivers_section(D, paths):
    L = ["## Drivers", "",
         "Our userspace drivers against the kernel's driver of the same device, side by side in "
         "one boot each: NVMe, fio on two identical QEMU controllers, one under drivers/nvme "
         "(served through the block frontend, an nbd disk) and one under the kernel's nvme "
         "(bench/nvme-bench.sh); e1000e, iperf3 and ping on three identical NICs of one hub "
         "(ours, the kernel's, and a peer under the kernel's driver: bench/e1000e-bench.sh); "
         "NVMe again, drivers/nvme's own I/O loop (`nvme --bench`, no frontend) on a devbroker "
         "grant against the same binary on vfio-pci (libdev's VFIO backend), two identical "
         "controllers behind intel-iommu (bench/nvme-vfio-bench.sh): there the reference is "
         "VFIO, not the kernel's driver, and the CPU per I/O is the driver process's own; "
         "USB HID, a key typed into QEMU's usb-kbd (QMP) to its evdev event, through the "
         "kernel's usbhid and through drivers/usb-hid (usbfs, uinput), timed from the "
         "interrupt URB's completion (usbmon) and from the request (bench/usb-key-latency.sh); "
         "USB storage, dd with O_DIRECT on QEMU's usb-storage stick through the kernel's "
         "usb-storage, and through drivers/usb-storage as a FUSE file and as an nbd disk "
         "(bench/usb-storage-throughput.sh); "
         "libdev's frontends on their own, each served by a test driver under devbrokerd "
         "(which owns the frontend) against its kernel-native equivalent: 4 KiB O_DIRECT random "
         "reads at depth 1 on tests/helpers/dbk-ramdisk's nbd disk (a tmpfs file) and on brd; "
         "ping through dbk-netecho's TAP (it answers ICMP itself) and through a veth pair into "
         "a namespace; 4 KiB random reads of one tmpfs file through dbk-fe-driver's FUSE file "
         "(O_DIRECT, each read reaches the driver) and directly (its page cache is its "
         "storage); an 8-byte read(2) of edu-driver's /dev/edu0 (answered without touching the "
         "device), of dbk-fe-driver's bare /dev/dbkfe0 and of /dev/zero, only a floor; and, with no equivalent, dbk_input_emit() "
         "and sync to the evdev reader (bench/frontend-bench.sh).  "
         "Each case runs once on each side per round, back to back, the side going first "
         "alternating.  Medians over the rounds; *ours / reference* is the ratio of those medians, "
         "*per round* the range of the same ratio round by round.  Guest CPU per operation is "
         "all guest CPUs' busy time over the run (wall time × CPUs − idle, from /proc/stat) "
         "divided by the I/Os, megabytes, packets, pings or key events: the driver's process, "
         "the kernel's work for both and the load generator (fio, iperf3, dd, the key "
         "requests' polling) all count, on either side.  "
         "Marks as above: ✓ the median ratio meets the goal (at QD32 with no more CPU per "
         "I/O), ≈ some rounds do, ✗ none does.", ""]
    for bench in DRIVERS:
        L += driver_facts(D, bench, paths.get(bench))
    L += [""]
    rows, misses = driver_rows(D)
    L += rows
    if misses:
        L += ["", "What missed (generated from the result sets):", ""]
    for bench in DRIVERS:
        ms = [m[1] for m in misses if m[0] == bench and len(m) == 2]
        other = [m[2] for m in misses if m[0] == bench and len(m) == 3]
        if not ms:
            if other:
                L.append("- %s against %s, no goal set: %s." % (
                    DRIVER_NAMES[bench][0], DRIVER_NAMES[bench][1], "; ".join(other)))
            continue
        L += ["- %s." % m for m in ms]
        if other:
            L.append("  - Rows without a goal of their own: %s." % "; ".join(other))
        if bench == "nvme":
            L += nvme_notes(D["nvme"])
        elif bench == "e1000e":
            L += e1000e_notes(D["e1000e"])
        load = D[bench].get("load", {})
        L.append("  - Likely cause: %s.%s" % (
            WHY[bench], "  The host was loaded (load average up to %.1f on %s CPUs): "
            "its stalls widen the per-round range." % (
                max(load.get("before", []) + load.get("after", []) or [0]),
                D[bench].get("host", {}).get("cpus", "?")) if load.get("loaded") else ""))
    return L


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


def is_driver_set(path):
    """A driver's result set (<date>-<host>-<driver>.json), not a side-by-side one."""
    return any(path.endswith("-%s.json" % b) for b in DRIVERS)


def newest_set(d):
    """The newest side-by-side result set in D, by name, or None."""
    names = sorted(f for f in os.listdir(d)
                   if re.match(r"\d{4}-\d\d-\d\d-.+\.json$", f) and not is_driver_set(f))
    return os.path.join(d, names[-1]) if names else None


def main():
    if sys.argv[1:] == ["--list-drivers"]:
        print("\n".join(DRIVERS))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--newest-set":
        path = newest_set(sys.argv[2]) if os.path.isdir(sys.argv[2]) else None
        if not path:
            print("render-performance.py: no result set in %s" % sys.argv[2], file=sys.stderr)
            return 1
        print(path)
        return 0
    argv, args, named = sys.argv[1:], [], {}
    while argv:
        a = argv.pop(0)
        if a in ["--" + b for b in DRIVERS] and argv:
            named[a[2:]] = argv.pop(0)
        elif not a.startswith("--"):
            args.append(a)
    no_plots = "--no-plots" in sys.argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out_dir = args
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    D, paths = {}, {}
    for bench in DRIVERS:
        p = named.get(bench) or "%s-%s.json" % (os.path.splitext(src)[0], bench)
        if os.path.exists(p):
            D[bench] = json.load(open(p))
            paths[bench] = os.path.relpath(p, top)
    R = Results(json.load(open(src)))
    d = R.d
    h, g, load = d.get("host", {}), d.get("guest", {}), d.get("load", {})
    rel = os.path.relpath(src, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    L = ["# Performance: devbroker side by side with vfio-pci and uio_pci_generic; "
         "its drivers against the kernel's", "",
         "<!-- Generated by bench/render-performance.py from %s: do not edit; "
         "rerun `make bench` (or bench/side-bench-run BUILD with BENCH_RENDER=1). -->" % ", ".join(
             [rel] + [paths[b] for b in DRIVERS if b in paths]), "",
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
    L += drivers_section(D, paths) + [""]
    missing = [b for b in DRIVERS if b not in D]
    if missing:
        L += ["## Not in this report", "",
              "Rows of issue 16 that these result sets do not hold; their own side-by-side "
              "benchmarks exist and run as separate configurations.", "",
              "| Row | devbroker | reference | how to run it |", "|---|---|---|---|"]
        for bench in missing:
            ours, ref, how = DRIVER_NAMES[bench]
            L.append("| %s against %s | – | – | `%s` |" % (ours, ref, how))
        L += [""]
    notes = os.path.splitext(src)[0] + ".notes.md"
    if os.path.exists(notes):
        L += ["## Analysis", "", "(Written by hand for this result set: %s.)" % os.path.relpath(
            notes, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")), ""]
        L += [open(notes).read().rstrip(), ""]
    L += ["## Reproducing", "",
          "`make bench` (all of this: `bench/run BUILD all`), or `bench/side-bench-run BUILD "
          "[CASE...]` with BENCH_ROUNDS, BENCH_SCALE and BENCH_RENDER=1; the drivers' rows: "
          "`BENCH_CONFIGS=\"%s\" make bench`, or `bench/run BUILD %s` "
          "(bench/nvme-bench-run [vfio], bench/e1000e-bench-run, bench/usb-bench-run, "
          "bench/frontend-bench-run: a boot each, their result sets %s and %s); "
          "`bench/render-performance.py RESULTS.json docs %s` renders the result sets again." % (
              " ".join(("side",) + DRIVERS), "|".join(DRIVERS),
              ", ".join("RESULTS-%s.json" % b for b in DRIVERS[:-1]), "RESULTS-%s.json" % DRIVERS[-1],
              " ".join("[--%s F]" % b for b in DRIVERS)), ""]
    with open(os.path.join(out_dir, "performance.md"), "w") as fh:
        fh.write("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
