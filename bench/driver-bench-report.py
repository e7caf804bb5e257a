#!/usr/bin/env python3
"""A driver benchmark's raw runs (JSON lines: bench/nvme-bench.sh's,
bench/e1000e-bench.sh's, bench/nvme-vfio-bench.sh's, bench/usb-key-latency.sh's,
bench/usb-storage-throughput.sh's, bench/frontend-bench.sh's) into its result set,
bench/results/<date>-<host>-<bench>.json: per case and figure, each side's
summary over the rounds (min, p50: the median, max, n, and the rounds'
own values) and
the ratio ours / kernel of the p50s over the rounds both sides completed
(paired_rounds) and round by round (each round's two runs ran back to
back: they shared the host's load of the moment); the
guest CPU per operation on both sides; the host's and the guest's facts
and the host's load before and after the boot; the raw runs as they came.

usage: bench/driver-bench-report.py --bench nvme|nvme-vfio|e1000e|usb-hid|usb-storage|frontends
           --runs RUNS.jsonl
           [--console CONSOLE.log] --load-before "1m 5m 15m"
           --load-after "1m 5m 15m" [--param KEY=VALUE...] --out OUT.json
"""
import argparse
import importlib.util
import json
import os
import statistics
import time

from bench_report_lib import guest_kernel, host_facts, load, summary

HERE = os.path.dirname(os.path.abspath(__file__))


def nvme_fix():
    """bench/nvme-bench-report.py's fix(): CPU per I/O, and whether its window counts."""
    spec = importlib.util.spec_from_file_location("nvme_bench_report",
                                                  os.path.join(HERE, "nvme-bench-report.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.fix


# Per benchmark: its phases (name, the raw runs' phase or None for all, side
# ours, side reference), its cases, and per case the figures (raw key, unit,
# which way is better, CPU or not).  Two phases may share a side's runs:
# usb-storage's FUSE file and disk are each set against the same kernel runs.
STORAGE_FIGS = [("mbps", "MB/s", "higher", False), ("cpu_us_per_mb", "us", "lower", True)]
# The frontends (bench/frontend-bench.sh): a case each, libdev's frontend
# ("ours") against its kernel-native equivalent ("kernel"); uinput has none.
FRONTEND_FIGS = [("p50_us", "us", "lower", False), ("p90_us", "us", "lower", False),
                 ("p99_us", "us", "lower", False), ("ops_per_s", "ops/s", "higher", False),
                 ("cpu_us_per_op", "us", "lower", True)]
BENCHES = {
    "nvme": {
        "phases": [("main", "main", "ours", "kernel"), ("cal", "cal", "kernelA", "kernelB"),
                   ("ceiling", "ceiling", "ceiling", "kernel")],
        "cases": {c: [("iops", "IO/s", "higher", False), ("mbps", "MB/s", "higher", False),
                      ("p50_us", "us", "lower", False), ("p99_us", "us", "lower", False),
                      ("cpu_us_per_io", "us", "lower", True), ("drv_us_per_io", "us", "lower", True),
                      ("fio_us_per_io", "us", "lower", True)]
                  for c in ("randread-4k-qd1", "randread-4k-qd32", "read-128k-qd8", "write-128k-qd8")},
    },
    "e1000e": {
        # Result sets before the ceiling phase have no "phase": all main.
        "phases": [("main", "main", "ours", "kernel"), ("ceiling", "ceiling", "ceiling", "kernel")],
        "cases": {
            "tcp-tx": [("mbps", "Mbit/s", "higher", False), ("cpu_us_per_mb", "us", "lower", True)],
            "tcp-rx": [("mbps", "Mbit/s", "higher", False), ("cpu_us_per_mb", "us", "lower", True)],
            "udp-64": [("pps", "packets/s", "higher", False), ("lost_percent", "%", "lower", False),
                       ("cpu_us_per_pkt", "us", "lower", True)],
            "ping": [("p50_ms", "ms", "lower", False), ("p99_ms", "ms", "lower", False),
                     ("lost", "packets", "lower", False), ("cpu_us_per_ping", "us", "lower", True)],
        },
    },
    "nvme-vfio": {
        "phases": [("main", None, "dbk", "vfio")],
        "cases": {c: [("iops", "IO/s", "higher", False), ("mbps", "MB/s", "higher", False),
                      ("drv_us_per_io", "us", "lower", True)]
                  for c in ("read-4k-qd1", "read-4k-qd16", "read-128k-qd8")},
    },
    "usb-hid": {
        "phases": [("main", None, "ours", "kernel")],
        "cases": {"key": [("urb_p50_us", "us", "lower", False), ("urb_p90_us", "us", "lower", False),
                          ("req_p50_ms", "ms", "lower", False),
                          ("cpu_us_per_event", "us", "lower", True)]},
    },
    "usb-storage": {
        "phases": [("main", None, "block", "kernel"), ("fuse", None, "fuse", "kernel")],
        "cases": {c: STORAGE_FIGS for c in ("read", "write", "read-120k", "write-120k")},
    },
    "frontends": {
        "phases": [("main", None, "ours", "kernel")],
        "cases": {c: FRONTEND_FIGS for c in ("nbd-4k-randread", "tap-ping", "fuse-4k-randread",
                                             "cuse-read", "cuse-bare-read", "uinput-event")},
    },
}


def valid(bench, r, cpu):
    """Whether a run's figure counts: no error; for CPU, a window that saw its I/O."""
    if bench == "nvme":
        return r["fio_rc"] == 0 and not r.get("errors") and (r["cpu_valid"] or not cpu)
    return not r.get("rc") and "error" not in r and "value" in r


def figure(bench, runs, phase, case, key, a, b, cpu):
    def rounds(side):
        return {r["round"]: r[key] for r in runs
                if (phase is None or r.get("phase", "main") == phase) and r["case"] == case and r["side"] == side
                and r.get(key) is not None and valid(bench, r, cpu)}
    x, y = rounds(a), rounds(b)
    out = {}
    for side, v in ((a, x), (b, y)):
        # The median over the rounds (of two, their mean), beside the range.
        s = summary(list(v.values()))
        for k in ("p90", "p99"):
            s.pop(k, None)
        if v:
            s["p50"] = statistics.median(v.values())
        s["rounds"] = [v.get(k) for k in sorted(set(x) | set(y))]
        out[side] = s
    # The ratio of the medians over the rounds both sides ran: a round one
    # side failed would otherwise set a median of other rounds' load
    # against one of different rounds.
    both = sorted(set(x) & set(y))
    pa = statistics.median(x[k] for k in both) if both else None
    pb = statistics.median(y[k] for k in both) if both else None
    out["ratio"] = round(pa / pb, 4) if pa is not None and pb else None
    out["paired_rounds"] = len(both)
    out["round_ratios"] = [round(x[k] / y[k], 4) for k in both if y[k]]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, choices=sorted(BENCHES))
    ap.add_argument("--runs", required=True)
    ap.add_argument("--console", default="")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    raw = [json.loads(l) for l in open(a.runs) if l.strip()]
    runs = [dict(r) for r in raw]
    if a.bench == "nvme":
        fix = nvme_fix()
        for r in runs:
            fix(r)
    else:
        for r in runs:
            if r.get("case") == "ping" and r.get("n"):
                r["cpu_us_per_ping"] = r["cpu_ms"] * 1000.0 / r["n"]
    spec = BENCHES[a.bench]
    phases = {}
    for name, phase, ours, ref in spec["phases"]:
        if phase is not None and not any(r.get("phase", "main") == phase for r in runs):
            continue
        cases = {}
        for case, figs in spec["cases"].items():
            fs = {}
            for key, unit, better, cpu in figs:
                f = figure(a.bench, runs, phase, case, key, ours, ref, cpu)
                if f[ours]["n"] or f[ref]["n"]:
                    fs[key] = dict(unit=unit, better=better, **f)
            if fs:
                cases[case] = fs
        phases[name] = {"ours": ours, "reference": ref, "cases": cases}
    host = host_facts()
    release, build = guest_kernel(a.console) if a.console else (None, None)
    guest = {"guest_kernel": release, "guest_kernel_build": build,
             "rounds": max((r["round"] for r in runs if r.get("phase", "main") == "main"), default=0)}
    for p in a.param:
        k, _, v = p.partition("=")
        guest[k] = int(v) if v.isdigit() else v
    res = {
        "schema": 1,
        "bench": a.bench,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": host,
        "guest": guest,
        "load": load(a.load_before, a.load_after, host["cpus"]),
        "phases": phases,
        "errors": sum(1 for r in runs if not valid(a.bench, r, False)),
        "raw": raw,
    }
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
