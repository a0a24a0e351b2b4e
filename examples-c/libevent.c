/* libevent <url>: a libevent loop runs every callback of a connection on the loop's thread
 * (subscribing, serving requests and requesting): a persistent read event on the
 * dispatcher's fd dispatches when it is readable. Build with -levent (Debian:
 * libevent-dev). */
#include "loop_app.h"
#include <event2/event.h>

static app a;

static void on_readable(evutil_socket_t fd, short what, void *arg) {
    struct event_base *base = arg;
    (void)fd;
    (void)what;
    app_dispatch(&a);
    if (app_done(&a)) event_base_loopbreak(base);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s <url>\n", argv[0]); return 2; }
    app_start(&a, argv[1]);
    struct event_base *base = event_base_new();
    struct event *ev = event_new(base, nats_dispatcher_fd(a.d), EV_READ | EV_PERSIST, on_readable, base);
    struct timeval limit = {30, 0};
    if (!base || !ev || event_add(ev, NULL) != 0) { fprintf(stderr, "libevent setup failed\n"); return 1; }
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    event_free(ev);
    event_base_free(base);
    return app_finish(&a, "libevent");
}
