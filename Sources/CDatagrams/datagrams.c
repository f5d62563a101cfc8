#define _GNU_SOURCE
#include "CDatagrams.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/// Datagrams handed to the kernel per call.
enum { WARDEN_DATAGRAMS_PER_CALL = 64 };

int warden_send_datagrams(int descriptor, const void *bytes, size_t length, size_t datagram_size) {
    if (datagram_size == 0) {
        errno = EINVAL;
        return -1;
    }
    const char *next = bytes;
    const char *end = next + length;
    int sent = 0;
    while (next < end) {
        struct iovec pieces[WARDEN_DATAGRAMS_PER_CALL];
        struct mmsghdr messages[WARDEN_DATAGRAMS_PER_CALL];
        memset(messages, 0, sizeof messages);
        unsigned int count = 0;
        for (; count < WARDEN_DATAGRAMS_PER_CALL && next < end; count++) {
            size_t size = (size_t)(end - next) < datagram_size ? (size_t)(end - next) : datagram_size;
            pieces[count].iov_base = (void *)next;
            pieces[count].iov_len = size;
            messages[count].msg_hdr.msg_iov = &pieces[count];
            messages[count].msg_hdr.msg_iovlen = 1;
            next += size;
        }
        int taken = sendmmsg(descriptor, messages, count, MSG_DONTWAIT);
        if (taken < 0) return sent > 0 ? sent : -1;
        sent += taken;
        if ((unsigned int)taken < count) break;
    }
    return sent;
}
