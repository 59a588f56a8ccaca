/* dns_floor: the physical limit of a UDP DNS server on this machine, for
 * bench_dnsfilter.sh. One thread answers every query NXDOMAIN in place (the header's
 * flags and counts rewritten, the question kept, anything after it cut), with no parse
 * and no lookup, in recvmmsg/sendmmsg batches: what dnsperf and the kernel's loopback
 * UDP path allow, against which the filter's QPS is read. Not a resolver: it answers
 * only 127.0.0.1 and only for the length of a benchmark.
 *
 * dns_floor PORT [BATCH] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXB 256
#define MSG 4096

/* The end of the question of a query of len bytes, or 0 when it has none we can read. */
static size_t question_end(const uint8_t *q, size_t len)
{
    size_t o = 12;
    if (len < 12 || (q[4] << 8 | q[5]) != 1)
        return 0;
    while (o < len && q[o] && (q[o] & 0xC0) == 0)
        o += (size_t)q[o] + 1;
    return o < len && q[o] == 0 && o + 5 <= len ? o + 5 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dns_floor PORT [BATCH]\n");
        return 2;
    }
    int batch = argc > 2 ? atoi(argv[2]) : 64;
    if (batch < 1 || batch > MAXB)
        batch = 64;
    int s = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("dns_floor: bind");
        return 1;
    }
    static uint8_t buf[MAXB][MSG];
    struct mmsghdr rm[MAXB], am[MAXB];
    struct iovec riov[MAXB], aiov[MAXB];
    struct sockaddr_in from[MAXB];
    for (;;) {
        for (int i = 0; i < batch; i++) {
            riov[i] = (struct iovec){buf[i], MSG};
            rm[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                            .msg_iov = &riov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(s, rm, (unsigned)batch, MSG_WAITFORONE, NULL), na = 0;
        for (int i = 0; i < n; i++) {
            uint8_t *q = buf[i];
            size_t end = question_end(q, rm[i].msg_len);
            if (!end || (q[2] & 0x80))
                continue;
            q[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, the opcode and RD kept */
            q[3] = 0x83;                             /* RA, NXDOMAIN */
            memset(q + 6, 0, 6);
            aiov[na] = (struct iovec){q, end};
            am[na].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = rm[i].msg_hdr.msg_namelen,
                                             .msg_iov = &aiov[na], .msg_iovlen = 1};
            na++;
        }
        if (na)
            sendmmsg(s, am, (unsigned)na, 0);
    }
}
