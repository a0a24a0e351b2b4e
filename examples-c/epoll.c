/* epoll <url>: a plain epoll loop runs every callback of a connection on the main thread
 * (subscribing, serving requests and requesting): the dispatcher's fd is registered with
 * epoll, and readable means "call nats_dispatcher_dispatch". */
#include "loop_app.h"
#include <sys/epoll.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s <url>\n", argv[0]); return 2; }
    app a;
    app_start(&a, argv[1]);
    int ep = epoll_create1(0);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN; /* level-triggered, as the fd is */
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, nats_dispatcher_fd(a.d), &ev) != 0) { perror("epoll"); return 1; }
    time_t deadline = time(NULL) + 30;
    while (!app_done(&a) && time(NULL) < deadline) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 100);
        if (n > 0) app_dispatch(&a);
        /* ... the rest of the program's fds would be served here ... */
    }
    close(ep);
    return app_finish(&a, "epoll");
}
