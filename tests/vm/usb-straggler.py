#!/usr/bin/python3
"""usb-straggler PID FD DIR: try to become a process that keeps a copy of a
USB driver's usbfs fd past its revocation.  Takes a dup of fd FD of process
PID (pidfd_getfd, as root); if that is refused, writes "getfd ERRNO" to
DIR/straggler.before and exits.  Else it tries a 100 ms interrupt-IN read
on endpoint 0x81 through the copy and writes the errno to
DIR/straggler.before; then waits for DIR/straggler.go and does the same
into DIR/straggler.after.  0 means the read got data, ETIMEDOUT (110) means
the fd holds the interface (no key was pressed), anything else (EBUSY,
ENODEV...) that it does not.
"""
import ctypes
import errno
import fcntl
import os
import struct
import sys
import time

SYS_pidfd_getfd = 438
# _IOWR('U', 2, struct usbdevfs_bulktransfer): ep, len, timeout, data pointer
USBDEVFS_BULK = (3 << 30) | (24 << 16) | (ord("U") << 8) | 2


def read_once(fd):
    buf = ctypes.create_string_buffer(8)
    arg = struct.pack("IIIxxxxQ", 0x81, 8, 100, ctypes.addressof(buf))
    try:
        fcntl.ioctl(fd, USBDEVFS_BULK, arg)
        return 0
    except OSError as e:
        return e.errno


def main():
    pid, target, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    fd = libc.syscall(SYS_pidfd_getfd, pidfd, target, 0)
    if fd < 0:
        open(os.path.join(d, "straggler.before"), "w").write("getfd %d\n" % ctypes.get_errno())
        return 0
    open(os.path.join(d, "straggler.before"), "w").write("%d\n" % read_once(fd))
    while not os.path.exists(os.path.join(d, "straggler.go")):
        time.sleep(0.05)
    open(os.path.join(d, "straggler.after"), "w").write("%d\n" % read_once(fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
