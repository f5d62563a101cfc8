#ifndef WARDEN_CDATAGRAMS_H
#define WARDEN_CDATAGRAMS_H
#include <stddef.h>

/// Sends `length` bytes from `bytes` on the connected datagram socket `descriptor` as
/// consecutive datagrams of `datagram_size` bytes (the last may be shorter), with as few
/// system calls as the kernel allows and without waiting. While `*segmenting` is set, the
/// kernel cuts them from larger sends (UDP generic segmentation offload: one trip through
/// the network stack for many datagrams); where the socket's path cannot do that, it is
/// cleared and `sendmmsg(2)` sends them one by one in batches. Returns the datagrams the
/// kernel took, or -1 with errno set when it took none.
///
/// Swift's Glibc module is built without _GNU_SOURCE, so it declares neither sendmmsg nor
/// the control-message macros in a form Swift can use.
int warden_send_datagrams(int descriptor, const void *bytes, size_t length, size_t datagram_size, int *segmenting);

#endif
