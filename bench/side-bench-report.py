#!/usr/bin/env python3
"""bench/side-bench.sh's raw figures (JSON lines of bench/side-bench) into
the result set bench/results/<date>-<host>.json: per figure and backend the
samples' summary over all rounds (min, p50, p90, p99, max, n), the guest CPU
per operation, and each round's p50 (the rounds were interleaved: a ratio of
two backends' p50 in one round shares the host's load of that moment); the
CDF points of the interrupt figures; the guest's and the host's facts.

usage: bench/side-bench-report.py --runs RUNS.jsonl --meta META.json
           --load-before "1m 5m 15m" --load-after "1m 5m 15m" --out OUT.json
"""
import argparse
import json
import os
import time

from bench_report_lib import host_facts, load, pct, summary

# Figures whose per-sample latencies are kept as a CDF (101 points).
CDF_FIGS = ("msi_wake", "msi_wake_cross", "msi_raise", "msi_raise_cross", "msi_wake_above_isr",
            "msi_wake_above_isr_cross", "intx")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    meta = json.load(open(a.meta)) if os.path.exists(a.meta) else {}
    errors = [r for r in runs if r.get("fig") == "error"]
    figs = {}
    for r in runs:
        if r.get("fig") == "error":
            continue
        f = figs.setdefault(r["fig"], {})
        b = f.setdefault(r["backend"], {"samples": [], "cpu_samples": [], "ops": 0, "cpu_ns": 0,
                                        "busy_ns": 0, "wall_ns": 0, "rounds": {}, "extra": {}})
        b["samples"] += r["samples"]
        b["cpu_samples"] += r.get("cpu_samples", [])
        b["wall_ns"] += r.get("wall_ns", 0)
        b["ops"] += r["ops"]
        b["cpu_ns"] += r["cpu_ns"]
        b["busy_ns"] += r["busy_ns"]
        if r["samples"]:
            b["rounds"][r["round"]] = pct(sorted(r["samples"]), 50)
        for k in ("size", "blocked", "limit_s", "trace"):
            if k in r:
                b["extra"][k] = b["extra"].get(k, 0) + r[k] if k == "blocked" else r[k]

    out_figs, cdf = {}, {}
    for name, bs in sorted(figs.items()):
        of = out_figs[name] = {"unit": "ns", "backends": {}}
        for be, b in sorted(bs.items()):
            s = summary(b["samples"])
            ops = max(b["ops"], 1)
            # CPU per operation: the median of the per-sample CPU times
            # (robust to the host stealing a vCPU mid-sample), and the mean
            # over the loops; all vCPUs' busy time only from loops long
            # enough for /proc/stat's 10 ms units (a second in all).
            cs = sorted(b["cpu_samples"])
            s["cpu_ns_p50"] = pct(cs, 50) if cs and cs[-1] else None
            s["cpu_ns_per_op"] = round(b["cpu_ns"] / ops) if b["cpu_ns"] else None
            s["busy_ns_per_op"] = round(b["busy_ns"] / ops) if b["wall_ns"] >= 1e9 else None
            s["round_p50"] = [b["rounds"][k] for k in sorted(b["rounds"])]
            s.update(b["extra"])
            of["backends"][be] = s
            if name in CDF_FIGS and b["samples"]:
                xs = sorted(b["samples"])
                cdf.setdefault(name, {})[be] = [pct(xs, p) for p in range(0, 101)]
        # Per-round ratio of each backend to vfio (same round: same load).
        v = bs.get("vfio")
        if v:
            for be, b in bs.items():
                common = sorted(set(b["rounds"]) & set(v["rounds"]))
                if be != "vfio" and common:
                    of["backends"][be]["round_ratio_to_vfio"] = [
                        round(b["rounds"][k] / v["rounds"][k], 3) if v["rounds"][k] else None
                        for k in common]

    host = host_facts()
    res = {
        "schema": 1,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": host,
        "guest": meta,
        "load": load(a.load_before, a.load_after, host["cpus"]),
        "figures": out_figs,
        "cdf": {"points": "percentiles 0..100 of the samples, ns", "figures": cdf},
        "errors": errors,
    }
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1, sort_keys=False)
        fh.write("\n")


if __name__ == "__main__":
    main()
