/* evloop: the VMM's event loop (epoll), run by one thread per VM.
 *
 * Device work happens here: ioeventfd queue notifications, sockets, timers,
 * stdin for the serial console. Callbacks run on the loop thread, one at a
 * time, so state touched only from callbacks needs no lock. Registration
 * (evloop_add/del, timers) may be done from any thread; a callback may
 * remove its own or any other fd, and the removed entry's callback is not
 * called again (not even for events already fetched in the same batch). */
#ifndef SMOL_EVLOOP_H
#define SMOL_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* events is the epoll event mask that fired (EPOLLIN, EPOLLOUT, EPOLLHUP...). */
typedef void (*evloop_fn)(void *opaque, uint32_t events);

/* Creates an empty loop. *out is owned by the caller (evloop_destroy). */
int evloop_create(struct evloop **out);

/* Frees the loop. Does not close registered fds (their owners do); timers
 * made with evloop_add_timer are closed. NULL is a no-op. */
void evloop_destroy(struct evloop *el);

/* Watches fd (borrowed; the caller closes it after evloop_del) for the
 * epoll events mask; fn(opaque, events) runs on the loop thread. Level
 * triggered unless events has EPOLLET. -EEXIST if fd is already watched. */
int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_fn fn, void *opaque);

/* Changes the event mask of a watched fd. -ENOENT if not watched. */
int evloop_mod(struct evloop *el, int fd, uint32_t events);

/* Stops watching fd. -ENOENT if not watched. */
int evloop_del(struct evloop *el, int fd);

/* Creates a timerfd that calls fn(opaque, EPOLLIN) first after first_ns and
 * then every period_ns (0: one shot). The timer is owned by the loop; the
 * returned id (the timerfd) can be passed to evloop_cancel_timer. */
int evloop_add_timer(struct evloop *el, uint64_t first_ns, uint64_t period_ns, evloop_fn fn,
		     void *opaque, int *out_id);

/* Stops and frees a timer made by evloop_add_timer. */
int evloop_cancel_timer(struct evloop *el, int id);

/* Runs callbacks until evloop_stop is called. Returns the status given to
 * evloop_stop, or -errno if epoll itself failed. */
int evloop_run(struct evloop *el);

/* Makes evloop_run return `status` after the current callback. Safe from
 * any thread and from signal-free contexts (writes an eventfd); the first
 * call's status wins. */
void evloop_stop(struct evloop *el, int status);

/* True once evloop_stop has been called. */
bool evloop_stopping(const struct evloop *el);

#endif
