#!/usr/bin/env python3
"""The table of bench/nvme-bench.sh: from its runs (JSON lines, one per fio
run), the medians per case and side, and the per-round ratios ours/kernel
(min / median / max over the rounds: each round's two runs ran back to back,
so they shared the host's load of the moment); the same for the calibration
(kernelA/kernelB) and the frontend's ceiling (ceiling/kernel) where they ran.
usage: bench/nvme-bench-report.py RUNS.jsonl"""
import json
import statistics
import sys

CASES = ["randread-4k-qd1", "randread-4k-qd32", "read-128k-qd8", "write-128k-qd8"]


def load(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    for r in runs:
        fix(r)
    return runs


def fix(r):
    """Guest CPU time from the window's wall time and /proc/stat's idle.

    Under TCG on a busy host the guest loses timer ticks: /proc/stat's
    user/system/irq counts (tick samples) fall short, while its idle and
    iowait (NO_HZ: measured, not sampled) and the tasks' utime+stime
    (scaled to their measured runtime) do not.  So busy = window x CPUs -
    idle - iowait; the tick-sampled figure stays as cpu_tick_us_per_io."""
    hz, ios = r["hz"], max(r["window_ios"], 1)
    # A window that saw no I/O, or outlived fio, says nothing of CPU per I/O.
    r["cpu_valid"] = r["window_ios"] > 0 and r["window_ok"] and r["fio_rc"] == 0
    ncpu = r.get("ncpu", 2)
    idle = r.get("idle_ticks", r["all_ticks"] - r["busy_ticks"])
    wall_us = r["window_ms"] * 1000.0 * ncpu
    busy_us = max(wall_us - idle * 1e6 / hz, 0.0)
    r["cpu_tick_us_per_io"] = r["busy_ticks"] * 1e6 / hz / ios
    r["cpu_us_per_io"] = busy_us / ios
    r["busy_pct"] = 100.0 * busy_us / wall_us if wall_us else 0.0
    # The tasks' own measured CPU (utime+stime of the 8 busiest, fio and the
    # driver among them): what is left of busy is interrupts and softirqs
    # that came while a CPU idled, and what the guest lost to the host.
    r["task_us_per_io"] = sum(t for _, t in r.get("top", [])) * 1e6 / hz / ios


def by(runs, phase, case, side):
    return {r["round"]: r for r in runs if r["phase"] == phase and r["case"] == case and r["side"] == side}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    if not xs:
        return "    -    -    -"
    return "%5.2f %5.2f %5.2f" % (min(xs), statistics.median(xs), max(xs))


CPU_KEYS = ("cpu_us_per_io", "cpu_tick_us_per_io", "drv_us_per_io", "fio_us_per_io", "busy_pct",
            "task_us_per_io")


def ratios(num, den, key):
    cpu = key in CPU_KEYS
    return [num[k][key] / den[k][key] for k in sorted(num)
            if k in den and den[k][key] and not (cpu and not (num[k]["cpu_valid"] and den[k]["cpu_valid"]))]


def table(runs, phase, a, b):
    rounds = len({r["round"] for r in runs if r["phase"] == phase})
    print("%s: %s against %s, %d round(s); medians over the rounds" % (phase, a, b, rounds))
    print("  %-17s %-7s %8s %7s %7s %8s | %6s %6s %6s %6s | %5s" % (
        "case", "side", "IOPS", "MB/s", "p50 us", "p99 us",
        "CPU/IO", "tasks", "driver", "fio", "busy"))
    for case in CASES:
        for side in (a, b):
            rs = list(by(runs, phase, case, side).values())
            if not rs:
                continue
            m = lambda k: med([r[k] for r in rs if r["cpu_valid"] or k not in CPU_KEYS])
            print("  %-17s %-7s %8.0f %7.1f %7.0f %8.0f | %6.0f %6.0f %6.0f %6.0f | %4.0f%%" % (
                case, side, m("iops"), m("mbps"), m("p50_us"), m("p99_us"),
                m("cpu_us_per_io"), m("task_us_per_io"), m("drv_us_per_io"), m("fio_us_per_io"), m("busy_pct")))
    print("  (CPU/IO: guest CPU microseconds per I/O, all CPUs: the window's wall time x CPUs - idle - iowait"
          " (/proc/stat); tasks: the 8 busiest tasks' utime+stime (measured), of which driver: the nvme"
          " process, fio: fio's; busy: of all CPUs; medians of the rounds)")
    print("  ratios %s/%s per round (min median max):" % (a, b))
    print("  %-17s %17s %17s %17s %17s %17s %17s" % ("case", "IOPS", "CPU/IO", "CPU/IO tasks", "CPU/IO ticks",
                                                "p50", "p99"))
    out = {}
    for case in CASES:
        x, y = by(runs, phase, case, a), by(runs, phase, case, b)
        if not x or not y:
            continue
        r = {k: ratios(x, y, k) for k in ("iops", "cpu_us_per_io", "task_us_per_io", "cpu_tick_us_per_io",
                                           "p50_us", "p99_us")}
        out[case] = r
        print("  %-17s %17s %17s %17s %17s %17s %17s" % (
            case, spread(r["iops"]), spread(r["cpu_us_per_io"]), spread(r["task_us_per_io"]),
            spread(r["cpu_tick_us_per_io"]), spread(r["p50_us"]), spread(r["p99_us"])))
    print("  where the CPU goes, %s and %s (microseconds per I/O over all rounds' windows, by task):" % (a, b))
    for case in CASES:
        for side in (a, b):
            rs = [r for r in by(runs, phase, case, side).values() if r["cpu_valid"]]
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
            irq = {}
            for r in rs:
                for name, n in r.get("irqs", {}).items():
                    irq[name] = irq.get(name, 0) + n
            if irq:
                print("  %-17s %-7s interrupts per I/O: %s" % ("", "", ", ".join(
                    "%s %.2f" % (n, c / ios) for n, c in sorted(irq.items(), key=lambda kv: -kv[1])[:6])))
    return out


def main():
    runs = load(sys.argv[1])
    if any(r["phase"] == "cal" for r in runs):
        table(runs, "cal", "kernelA", "kernelB")
        print()
    out = table(runs, "main", "ours", "kernel")
    ceil = {}
    if any(r["phase"] == "ceiling" for r in runs):
        print()
        ceil = table(runs, "ceiling", "ceiling", "kernel")
    q = out.get("randread-4k-qd32")
    if q:
        i, c = med(q["iops"]), med(q["cpu_us_per_io"])
        print()
        print("goal (issue 14): >= 1.0x the kernel's IOPS at QD32 at no more CPU per I/O: "
              "IOPS %.2fx (%s), CPU per I/O %.2fx (%s)" % (
                  i, "met" if i >= 1.0 else "not met", c, "met" if c <= 1.0 else "not met"))
    q = ceil.get("randread-4k-qd32")
    if q:
        print("the frontend's ceiling at QD32 (no device behind nbd): IOPS %.2fx the kernel's, "
              "CPU per I/O %.2fx: %s" % (med(q["iops"]), med(q["cpu_us_per_io"]),
                                        "reachable through nbd" if med(q["iops"]) >= 1.0 else
                                        "in this boot no driver behind nbd could reach 1.0x"))


if __name__ == "__main__":
    main()
