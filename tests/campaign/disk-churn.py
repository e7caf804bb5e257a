#!/usr/bin/python3
"""disk-churn: the load on usb-storage's FUSE file in the USB campaigns, and
the proof that nothing acknowledged is lost while its driver is killed or
its stick pulled.

usage: disk-churn.py FILE STOPFILE REPORT [--expect-failures] [--block]

Until STOPFILE exists it writes 4 KiB blocks (each stamped with its block
number and a generation) to a 4 MiB zone of FILE, each followed by fsync,
and reads blocks back (the zone's first contents, read at the start, are
generation 0), reopening FILE whenever it fails or vanishes (the
driver died, the stick went: devbrokerd mounts a new file system when it
starts the next driver).  A block whose write and fsync both succeeded
must hold that generation from then on; a block whose write failed part
way may hold the old or the new one (the driver may have sent it before
it died), never anything else.  After STOPFILE it waits for FILE to come
back, reads the whole zone, and writes one line to REPORT:

    ok|lost|idle WRITES READS FAILED_OPS CHECKED UNCERTAIN MISMATCHES

Every read during the run is checked the same way (through the page cache,
which the file's reopen after a failure drops).  It exits 1 when a block
holds what no acknowledged or attempted write put there (data lost or
corrupted), and ("idle") when it proved nothing: no write or no read
succeeded, or, with --expect-failures (the driver was killed or the stick
pulled under it), no operation failed or none succeeded after a failure.
With --block FILE must be a block device (the NVMe campaigns' nbd disk,
through devbrokerd's link): anything else at its path counts as absent,
so that a stray regular file there (a tool creating it while the link was
gone) can never stand in for the disk.
"""
import os
import random
import stat
import struct
import sys
import time

BLOCK = 4096
ZONE_OFF = 8 << 20	# away from the FAT image's structures the other tests use
ZONE_BLOCKS = 1024	# 4 MiB
RUN = int(time.time() * 1e6) & 0xffffffff	# tells this run's stamps from an earlier one's


def content(block, gen, first):
    if gen == 0:
        return first[block * BLOCK:(block + 1) * BLOCK]
    head = struct.pack("<QII", block, gen, RUN)
    return (head * (BLOCK // len(head)))


def read_zone(path, fd, deadline):
    """The whole zone, once FILE answers (a driver may still be starting)."""
    while True:
        fd = reopen(path, fd)
        if fd is not None:
            try:
                zone = os.pread(fd, ZONE_BLOCKS * BLOCK, ZONE_OFF)
                if len(zone) == ZONE_BLOCKS * BLOCK:
                    return fd, zone
            except OSError:
                pass
        if time.time() > deadline:
            return fd, None
        time.sleep(0.2)


BLOCK_ONLY = "--block" in sys.argv[4:]


def reopen(path, fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    if BLOCK_ONLY and not stat.S_ISBLK(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def main():
    path, stop, report = sys.argv[1:4]
    expect_failures = "--expect-failures" in sys.argv[4:]
    # possible[b]: the generations block b may hold; one after an
    # acknowledged write.
    possible = [{0} for _ in range(ZONE_BLOCKS)]
    gen = 0
    writes = reads = failed = after_failure = 0
    bad = []
    fd, first = read_zone(path, None, time.time() + 120)
    if first is None:
        with open(report, "w") as f:
            f.write("lost 0 0 0 0 0 0 (the file never answered)\n")
        return 1
    rng = random.Random(0xdb4)
    while not os.path.exists(stop):
        if fd is None:
            fd = reopen(path, fd)
            if fd is None:
                time.sleep(0.05)
                continue
        b = rng.randrange(ZONE_BLOCKS)
        off = ZONE_OFF + b * BLOCK
        try:
            if rng.random() < 0.5:
                gen += 1
                possible[b].add(gen)
                if os.pwrite(fd, content(b, gen, first), off) != BLOCK:
                    raise OSError("short write")
                os.fsync(fd)
                possible[b] = {gen}
                writes += 1
            else:
                os.posix_fadvise(fd, off, BLOCK, os.POSIX_FADV_DONTNEED)
                data = os.pread(fd, BLOCK, off)
                if len(data) == BLOCK:
                    reads += 1
                    if not any(data == content(b, g, first) for g in possible[b]):
                        bad.append(b)
            if failed:
                after_failure += 1
        except OSError:
            failed += 1
            fd = reopen(path, fd)
            time.sleep(0.02)
    # The check, once the file is back.
    fd, zone = read_zone(path, fd, time.time() + 120)
    if zone is None:
        with open(report, "w") as f:
            f.write("lost %d %d %d 0 0 0 (the file never came back)\n" % (writes, reads, failed))
        return 1
    uncertain = sum(1 for p in possible if len(p) > 1)
    for b in range(ZONE_BLOCKS):
        got = zone[b * BLOCK:(b + 1) * BLOCK]
        if not any(got == content(b, g, first) for g in possible[b]):
            bad.append(b)
    idle = not writes or not reads or (expect_failures and (not failed or not after_failure))
    verdict = "lost" if bad else "idle" if idle else "ok"
    with open(report, "w") as f:
        f.write("%s %d %d %d %d %d %d\n" % (verdict, writes, reads, failed,
                                              ZONE_BLOCKS, uncertain, len(bad)))
        for b in bad[:5]:
            head = struct.unpack("<QII", zone[b * BLOCK:b * BLOCK + 16])
            f.write("# block %d holds (block %d, gen %d, run %08x; this run %08x); expected one of %s\n"
                    % (b, head[0], head[1], head[2], RUN, sorted(possible[b])))
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
