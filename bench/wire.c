/* wire <url>: the wire limit for the publish scenario. The same messages as bench.c's
 * publish-only run (same subject, sizes and counts), pre-encoded as PUB frames before the
 * clock starts, written to one socket in 64 KiB writes and confirmed by PING/PONG: no client
 * can publish faster on this machine, against this server. Prints RESULT wire lines. */
#define _GNU_SOURCE
#include "bench_common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock_connect(const char *url) {
    const char *hp = strstr(url, "://");
    hp = hp ? hp + 3 : url;
    char host[256];
    const char *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof host) {
        fprintf(stderr, "wire: bad url %s\n", url);
        exit(2);
    }
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "wire: host must be an IPv4 address: %s\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("wire: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("wire: write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads until `needle` has been seen (skipping INFO and anything else). */
static void read_until(int fd, const char *needle) {
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0) {
            fprintf(stderr, "wire: connection closed waiting for %s\n", needle);
            exit(1);
        }
        have += (size_t)r;
        buf[have] = 0;
        if (strstr(buf, needle)) return;
        if (have > sizeof buf / 2) { /* keep the tail only */
            memmove(buf, buf + have - 64, 64);
            have = 64;
        }
    }
}

static double wire_pub(const char *url, size_t size) {
    long n = count_for(size, 2000000);
    char head[64];
    int hl = snprintf(head, sizeof head, "PUB bench.pub %zu\r\n", size);
    size_t frame = (size_t)hl + size + 2;
    char *frames = malloc(frame * (size_t)n);
    if (!frames) {
        perror("wire: malloc");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        char *f = frames + frame * (size_t)i;
        memcpy(f, head, (size_t)hl);
        memset(f + hl, 'x', size);
        memcpy(f + hl + size, "\r\n", 2);
    }
    int fd = sock_connect(url);
    read_until(fd, "INFO");
    const char *hello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";
    write_all(fd, hello, strlen(hello));
    read_until(fd, "PONG");
    double t = now_s();
    size_t total = frame * (size_t)n;
    for (size_t off = 0; off < total; off += 65536) {
        size_t chunk = total - off < 65536 ? total - off : 65536;
        write_all(fd, frames + off, chunk);
    }
    write_all(fd, "PING\r\n", 6);
    read_until(fd, "PONG");
    double el = now_s() - t;
    close(fd);
    free(frames);
    return (double)n / el;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <url>\n", argv[0]);
        return 2;
    }
    double v;
    for (int i = 0; i < 4; i++) {
        BEST_OF(reps(), wire_pub(argv[1], SIZES[i]), v);
        result("wire", "pub_msgs_per_s", SIZES[i], v);
    }
    return 0;
}
