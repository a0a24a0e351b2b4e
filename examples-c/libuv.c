/* libuv <url>: a libuv loop runs every callback of a connection on the loop's thread
 * (subscribing, serving requests and requesting): a uv_poll_t watches the dispatcher's fd
 * and dispatches when it is readable. Build with -luv (Debian: libuv1-dev). */
#include "loop_app.h"
#include <uv.h>

static app a;

static void on_readable(uv_poll_t *poll, int status, int events) {
    (void)events;
    if (status < 0) { fprintf(stderr, "uv_poll: %s\n", uv_strerror(status)); a.failures++; }
    app_dispatch(&a);
    if (app_done(&a)) uv_stop(poll->loop);
}

static void on_timeout(uv_timer_t *timer) {
    fprintf(stderr, "libuv: timed out\n");
    uv_stop(timer->loop);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s <url>\n", argv[0]); return 2; }
    app_start(&a, argv[1]);
    uv_loop_t *loop = uv_default_loop();
    uv_poll_t poll;
    uv_timer_t timer;
    uv_poll_init(loop, &poll, nats_dispatcher_fd(a.d));
    uv_poll_start(&poll, UV_READABLE, on_readable);
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_timeout, 30000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_poll_stop(&poll);
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return app_finish(&a, "libuv");
}
