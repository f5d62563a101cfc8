#define _GNU_SOURCE
#include "CDatagrams.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/// Datagrams handed to the kernel per sendmmsg call.
enum { WARDEN_DATAGRAMS_PER_CALL = 64 };
/// Datagrams per segmented send: the kernel's UDP_MAX_SEGMENTS was 64 before Linux 5.x.
enum { WARDEN_SEGMENTS_PER_CALL = 64 };
/// The largest UDP payload, which bounds a segmented send's bytes.
enum { WARDEN_LARGEST_PAYLOAD = 65507 };

/// Whether a failed send says the socket cannot take more now (or the peer is gone),
/// rather than that it cannot segment.
static int is_transient(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == ECONNREFUSED || error == EINTR;
}

/// One sendmsg of `length` bytes that the kernel cuts into datagrams of `segment_size`
/// bytes (UDP generic segmentation offload): they cross the network stack as one packet.
static ssize_t send_segmented(int descriptor, const char *bytes, size_t length, size_t segment_size) {
    struct iovec piece = {.iov_base = (void *)bytes, .iov_len = length};
    union {
        char buffer[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &piece, .msg_iovlen = 1, .msg_control = control.buffer, .msg_controllen = sizeof control.buffer};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t size = (uint16_t)segment_size;
    memcpy(CMSG_DATA(header), &size, sizeof size);
    return sendmsg(descriptor, &message, MSG_DONTWAIT);
}

/// Up to WARDEN_DATAGRAMS_PER_CALL datagrams from `next` in one sendmmsg, `*offered` of
/// them; the datagrams taken, or -1.
static int send_each(int descriptor, const char *next, const char *end, size_t datagram_size, unsigned int *offered) {
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
    *offered = count;
    return sendmmsg(descriptor, messages, count, MSG_DONTWAIT);
}

int warden_send_datagrams(int descriptor, const void *bytes, size_t length, size_t datagram_size, int *segmenting) {
    if (datagram_size == 0) {
        errno = EINVAL;
        return -1;
    }
    const char *next = bytes;
    const char *end = next + length;
    size_t segments = WARDEN_LARGEST_PAYLOAD / datagram_size;
    if (segments > WARDEN_SEGMENTS_PER_CALL) segments = WARDEN_SEGMENTS_PER_CALL;
    int sent = 0;
    while (next < end) {
        size_t left = (size_t)(end - next);
        if (*segmenting && segments > 1 && left > datagram_size) {
            size_t group = left < segments * datagram_size ? left : segments * datagram_size;
            if (send_segmented(descriptor, next, group, datagram_size) >= 0) {
                sent += (int)((group + datagram_size - 1) / datagram_size);
                next += group;
                continue;
            }
            if (is_transient(errno)) return sent > 0 ? sent : -1;
            *segmenting = 0;  // this socket's path cannot segment (MTU, no checksum offload, old kernel)
        }
        unsigned int offered;
        int taken = send_each(descriptor, next, end, datagram_size, &offered);
        if (taken < 0) return sent > 0 ? sent : -1;
        sent += taken;
        if ((unsigned int)taken < offered) break;
        next = (size_t)taken * datagram_size < left ? next + (size_t)taken * datagram_size : end;
    }
    return sent;
}
