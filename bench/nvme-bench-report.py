#!/usr/bin/env python3
"""The table of bench/nvme-bench.sh: from its runs (JSON lines, one per fio
run), the medians per case and side, and the per-round ratios ours/kernel
(min / median / max over the rounds: each round's two runs ran back to back,
so they shared the host's load of the moment).
usage: bench/nvme-bench-report.py RUNS.jsonl"""
import json
import statistics
import sys

CASES = ["randread-4k-qd1", "randread-4k-qd32", "read-128k-qd8", "write-128k-qd8"]


def load(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def by(runs, phase, case, side):
    return {r["round"]: r for r in runs if r["phase"] == phase and r["case"] == case and r["side"] == side}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    if not xs:
        return "    -    -    -"
    return "%5.2f %5.2f %5.2f" % (min(xs), statistics.median(xs), max(xs))


def ratios(num, den, key):
    return [num[k][key] / den[k][key] for k in sorted(num) if k in den and den[k][key]]


def table(runs, phase, a, b):
    rounds = len({r["round"] for r in runs if r["phase"] == phase})
    print("%s: %s against %s, %d round(s); medians over the rounds" % (phase, a, b, rounds))
    print("  %-17s %-7s %8s %7s %7s %8s | %6s %6s %6s %6s | %5s" % (
        "case", "side", "IOPS", "MB/s", "p50 us", "p99 us",
        "CPU/IO", "driver", "fio", "rest", "busy"))
    for case in CASES:
        for side in (a, b):
            rs = list(by(runs, phase, case, side).values())
            if not rs:
                continue
            m = lambda k: med([r[k] for r in rs])
            rest = med([r["cpu_us_per_io"] - r["drv_us_per_io"] - r["fio_us_per_io"] for r in rs])
            print("  %-17s %-7s %8.0f %7.1f %7.0f %8.0f | %6.0f %6.0f %6.0f %6.0f | %4.0f%%" % (
                case, side, m("iops"), m("mbps"), m("p50_us"), m("p99_us"),
                m("cpu_us_per_io"), m("drv_us_per_io"), m("fio_us_per_io"), rest, m("busy_pct")))
    print("  (CPU/IO: guest CPU microseconds per I/O, all CPUs, user+nice+system+irq+softirq;"
          " driver: the nvme process; fio: fio's; rest: the kernel and everything else)")
    print("  ratios %s/%s per round (min median max):" % (a, b))
    print("  %-17s %17s %17s %17s %17s %17s" % ("case", "IOPS", "CPU/IO", "p50", "p99", "CPU/IO w/o driver"))
    out = {}
    for case in CASES:
        x, y = by(runs, phase, case, a), by(runs, phase, case, b)
        if not x or not y:
            continue
        nodrv = [(x[k]["cpu_us_per_io"] - x[k]["drv_us_per_io"]) / y[k]["cpu_us_per_io"]
                 for k in sorted(x) if k in y and y[k]["cpu_us_per_io"]]
        r = {k: ratios(x, y, k) for k in ("iops", "cpu_us_per_io", "p50_us", "p99_us")}
        out[case] = r
        print("  %-17s %17s %17s %17s %17s %17s" % (
            case, spread(r["iops"]), spread(r["cpu_us_per_io"]), spread(r["p50_us"]),
            spread(r["p99_us"]), spread(nodrv)))
    print("  where the CPU goes, %s and %s (microseconds per I/O over all rounds' windows, by task):" % (a, b))
    for case in CASES:
        for side in (a, b):
            rs = list(by(runs, phase, case, side).values())
            ios = sum(r["window_ios"] for r in rs)
            if not rs or not ios:
                continue
            tot = {}
            for r in rs:
                for name, t in r.get("top", []):
                    tot[name] = tot.get(name, 0) + t
            us = 1e6 / rs[0]["hz"]
            print("  %-17s %-7s %s" % (case, side, "  ".join(
                "%s %.0f" % (n, t * us / ios) for n, t in sorted(tot.items(), key=lambda kv: -kv[1])[:6])))
    return out


def main():
    runs = load(sys.argv[1])
    if any(r["phase"] == "cal" for r in runs):
        table(runs, "cal", "kernelA", "kernelB")
        print()
    out = table(runs, "main", "ours", "kernel")
    q = out.get("randread-4k-qd32")
    if q:
        i, c = med(q["iops"]), med(q["cpu_us_per_io"])
        print()
        print("goal (issue 14): >= 1.0x the kernel's IOPS at QD32 at no more CPU per I/O: "
              "IOPS %.2fx (%s), CPU per I/O %.2fx (%s)" % (
                  i, "met" if i >= 1.0 else "not met", c, "met" if c <= 1.0 else "not met"))


if __name__ == "__main__":
    main()
