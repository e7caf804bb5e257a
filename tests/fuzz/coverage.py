#!/usr/bin/env python3
"""coverage.py MODULE.ko PCS...: the kmod/ source lines a fuzzing run reached.

MODULE.ko is devbroker.ko as built against the KCOV kernel (build-debug/);
PCS are dbk-fuzz --pcs files: absolute return addresses of the module's
__sanitizer_cov_trace_pc calls, after a "# .text 0x..." line with where its
.text was.  Every such call site in .text is a place KCOV can see; the
report is the share of source lines with one that the run reached, per file
and in all, and with --missed, the lines never reached.
"""
import collections
import re
import subprocess
import sys


def call_sites(ko):
    """.text offsets KCOV records (return addresses of the trace calls)."""
    out = subprocess.run(['objdump', '-dr', '-j', '.text', ko], capture_output=True, text=True,
                         check=True).stdout
    sites = []
    for m in re.finditer(r'^\s*([0-9a-f]+):\s+R_X86_64_PLT32\s+__sanitizer_cov_trace_pc-0x4',
                         out, re.M):
        sites.append(int(m.group(1), 16) + 4)
    return sites


def lines_of(ko, offsets):
    if not offsets:
        return {}
    out = subprocess.run(['addr2line', '-e', ko, '-j', '.text'] + ['0x%x' % o for o in offsets],
                         capture_output=True, text=True, check=True).stdout.split('\n')
    res = {}
    for off, loc in zip(offsets, out):
        m = re.match(r'(.*/)?([^/]+\.[ch]):(\d+)', loc)
        if m:
            res[off] = (m.group(2), int(m.group(3)))
    return res


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if len(args) < 2:
        sys.exit('usage: coverage.py [--missed] MODULE.ko PCS...')
    ko, pcs_files = args[0], args[1:]
    hit = set()
    for path in pcs_files:
        text = None
        for line in open(path):
            if line.startswith('# .text'):
                text = int(line.split()[2], 16)
            elif line.strip() and text:
                hit.add(int(line, 16) - text)
    sites = call_sites(ko)
    where = lines_of(ko, sites)
    total, reached = collections.defaultdict(set), collections.defaultdict(set)
    for off, (f, ln) in where.items():
        if f.endswith('.h') and f not in ('dbk.h', 'dbk_trace.h'):
            continue
        total[f].add(ln)
        if off in hit:
            reached[f].add(ln)
    all_t = sum(len(v) for v in total.values())
    all_r = sum(len(v) for v in reached.values())
    for f in sorted(total):
        print('%-14s %4d of %4d lines (%3.0f%%)' % (f, len(reached[f]), len(total[f]),
                                                  100.0 * len(reached[f]) / len(total[f])))
        if '--missed' in sys.argv:
            for ln in sorted(total[f] - reached[f]):
                print('    missed %s:%d' % (f, ln))
    print('coverage: kmod/ %d of %d instrumented lines (%.1f%%), %d call sites of %d reached'
          % (all_r, all_t, 100.0 * all_r / max(all_t, 1), len(hit & set(sites)), len(sites)))


main()
