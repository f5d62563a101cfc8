#ifndef WARDEN_CDATAGRAMS_H
#define WARDEN_CDATAGRAMS_H
#include <stddef.h>

/// Sends `length` bytes from `bytes` on the connected datagram socket `descriptor` as
/// consecutive datagrams of `datagram_size` bytes (the last may be shorter), with as few
/// system calls as `sendmmsg(2)` allows, without waiting. Returns the datagrams the kernel
/// took, or -1 with errno set when it took none.
///
/// Swift's Glibc module is built without _GNU_SOURCE, so it does not declare sendmmsg.
int warden_send_datagrams(int descriptor, const void *bytes, size_t length, size_t datagram_size);

#endif
