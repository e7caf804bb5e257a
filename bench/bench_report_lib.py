"""What the result sets of bench/ share (bench/side-bench-report.py,
bench/driver-bench-report.py): percentiles, a sample's summary, the host's
facts and its load around the boot."""
import os
import platform
import re
import socket
import subprocess


def pct(sorted_xs, p):
    """The p-th percentile (p a whole percent), nearest rank: the
    ceil(p * n / 100)-th sample, no interpolation (a sample seen)."""
    if not sorted_xs:
        return None
    # Integer ceil: round(x + 0.5) rounded half to even, one rank high
    # whenever p * n / 100 was an odd whole number.
    k = max(0, min(len(sorted_xs) - 1, (p * len(sorted_xs) + 99) // 100 - 1))
    return sorted_xs[k]


def summary(xs):
    s = sorted(xs)
    return {"n": len(s), "min": s[0], "p50": pct(s, 50), "p90": pct(s, 90),
            "p99": pct(s, 99), "max": s[-1]} if s else {"n": 0}


def host_facts():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                              text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        qemu = "unknown"
    return {"name": socket.gethostname().split(".")[0], "kernel": platform.release(),
            "cpu": cpu, "cpus": os.cpu_count(), "qemu": qemu, "accel": "tcg"}


def load(before, after, cpus):
    """The host's load averages ("1m 5m 15m") before and after the boot."""
    la = [float(x) for x in before.split()[:3]] if before else []
    lb = [float(x) for x in after.split()[:3]] if after else []
    # Loaded: more runnable work than the host has CPUs, beyond the VM's own
    # (one QEMU process, up to its vCPUs in threads).
    busiest = max(la + lb) if la or lb else 0.0
    return {"before": la, "after": lb, "loaded": busiest > max(cpus or 1, 1) * 0.75,
            "note": "load averages (1, 5, 15 min) on the host before and after the boot"}


def guest_kernel(console_log):
    """The guest's kernel release and build, from its console log."""
    try:
        with open(console_log, errors="replace") as fh:
            for line in fh:
                m = re.search(r"Linux version (\S+) .*?(#\d+ .*)$", line)
                if m:
                    return m.group(1), m.group(2).strip()
    except OSError:
        pass
    return None, None
