/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file sdk.h
 * @brief libdevbroker, the devbroker driver SDK: its version and conventions.
 *
 * The SDK is one library, libdevbroker.so.1, with one header per concern;
 * a driver includes the ones it uses (each includes this one):
 *
 *  - <devbroker/handover.h>: what devbrokerd handed the driver at start
 *    (grant, usbfs and frontend fds, the device, the instance);
 *  - <devbroker/device.h>: a PCI device on a grant fd (registers, config
 *    space, interrupts, DMA, revocation);
 *  - <devbroker/usb.h>: a USB device on a brokered usbfs fd (libusb);
 *  - <devbroker/frontend.h>: the frontends ordinary programs use (CUSE
 *    character devices, uinput input devices, FUSE files);
 *  - <devbroker/block.h>: a disk served through the block frontend (nbd);
 *  - <devbroker/net.h>: a network interface served through the network
 *    frontend (a TAP);
 *  - <devbroker/fdpass.h>: fds over AF_UNIX sockets;
 *  - <devbroker/cuse-client.h>: for programs that *use* a CUSE device
 *    (no library needed).
 *
 * Conventions (as in libevdev and libfuse):
 *  - objects are opaque and created and freed by the library;
 *  - functions that can fail return 0 (or a non-negative count) on success
 *    and a negative errno on failure; errno itself is not part of the API;
 *  - structs from <linux/devbroker.h> that the library fills are sized by
 *    the caller: set @c argsz to sizeof the struct first (as with
 *    <linux/vfio.h>), and a library newer than the program never writes
 *    past it;
 *  - the library never exits the process, never prints to stdout and
 *    installs no signal handler unless asked (dbk_catch_revocation());
 *  - every fd the library creates is O_CLOEXEC.
 *
 * Compatibility: the ABI is versioned by symbol (DEVBROKER_1.0, then one
 * node per release that adds symbols); a driver built against an older
 * SDK keeps working with every later libdevbroker.so.1.
 *
 * Building a driver:
 * @code
 *   cc -o mydriver mydriver.c $(pkg-config --cflags --libs devbroker)
 * @endcode
 * (add libevdev to the pkg-config line when the driver calls it itself),
 * or with meson: dependency('devbroker').  See libdev/examples/.
 */
#ifndef DEVBROKER_SDK_H
#define DEVBROKER_SDK_H

#ifdef __cplusplus
extern "C" {
#endif

/** The SDK's major version: the library's SONAME is libdevbroker.so.MAJOR. */
#define DBK_SDK_VERSION_MAJOR	1
/** The SDK's minor version: grows with each release that adds to the API. */
#define DBK_SDK_VERSION_MINOR	7

/**
 * Return the version of the library in use, such as "1.0.0" (which may be
 * newer than the headers the program was built with).
 *
 * @return a static string; never NULL.
 */
const char *dbk_sdk_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_SDK_H */
