/* evloop: epoll loop with fd callbacks, timerfd timers and a stop eventfd
 * (evloop.h). Entries live in a small array indexed by slot; epoll data
 * carries (generation << 32 | slot) so that an event fetched for an entry
 * removed earlier in the same batch is recognised as stale and dropped. */
#include "core/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EVLOOP_MAX   256
#define EVLOOP_BATCH 32

struct ev_entry {
	int fd; /* -1: free */
	uint32_t gen;
	bool timer; /* fd is a timerfd owned by the loop */
	evloop_fn fn;
	void *opaque;
};

struct evloop {
	int epfd;
	int stopfd;
	atomic_bool claimed;  /* the first evloop_stop call won */
	atomic_bool stopping; /* set after status is stored */
	atomic_int status;
	pthread_mutex_t lock; /* guards entries */
	struct ev_entry e[EVLOOP_MAX];
};

int evloop_create(struct evloop **out)
{
	struct evloop *el = calloc(1, sizeof(*el));
	if (!el)
		return -ENOMEM;
	for (unsigned i = 0; i < EVLOOP_MAX; i++)
		el->e[i].fd = -1;
	pthread_mutex_init(&el->lock, NULL);
	int err;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0) {
		err = -errno;
		goto fail_free;
	}
	el->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->stopfd < 0) {
		err = -errno;
		goto fail_ep;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->stopfd, &ev) < 0) {
		err = -errno;
		goto fail_stop;
	}
	*out = el;
	return 0;
fail_stop:
	close(el->stopfd);
fail_ep:
	close(el->epfd);
fail_free:
	pthread_mutex_destroy(&el->lock);
	free(el);
	return err;
}

void evloop_destroy(struct evloop *el)
{
	if (!el)
		return;
	for (unsigned i = 0; i < EVLOOP_MAX; i++)
		if (el->e[i].fd >= 0 && el->e[i].timer)
			close(el->e[i].fd);
	close(el->stopfd);
	close(el->epfd);
	pthread_mutex_destroy(&el->lock);
	free(el);
}

static int ev_find(struct evloop *el, int fd)
{
	for (int i = 0; i < EVLOOP_MAX; i++)
		if (el->e[i].fd == fd)
			return i;
	return -1;
}

static int ev_add(struct evloop *el, int fd, uint32_t events, evloop_fn fn, void *opaque,
		  bool timer)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&el->lock);
	int err = 0;
	if (ev_find(el, fd) >= 0) {
		err = -EEXIST;
		goto out;
	}
	int slot = ev_find(el, -1);
	if (slot < 0) {
		err = -ENOSPC;
		goto out;
	}
	struct ev_entry *e = &el->e[slot];
	e->gen++;
	struct epoll_event ev = {.events = events,
				 .data.u64 = (uint64_t)e->gen << 32 | (uint32_t)slot};
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		goto out;
	}
	e->fd = fd;
	e->fn = fn;
	e->opaque = opaque;
	e->timer = timer;
out:
	pthread_mutex_unlock(&el->lock);
	return err;
}

int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	return ev_add(el, fd, events, fn, opaque, false);
}

int evloop_mod(struct evloop *el, int fd, uint32_t events)
{
	pthread_mutex_lock(&el->lock);
	int err = 0;
	int slot = ev_find(el, fd);
	if (slot < 0) {
		err = -ENOENT;
	} else {
		struct epoll_event ev = {
		    .events = events, .data.u64 = (uint64_t)el->e[slot].gen << 32 | (uint32_t)slot};
		if (epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			err = -errno;
	}
	pthread_mutex_unlock(&el->lock);
	return err;
}

static int ev_del(struct evloop *el, int fd, bool want_timer)
{
	pthread_mutex_lock(&el->lock);
	int err = 0;
	int slot = ev_find(el, fd);
	if (slot < 0 || el->e[slot].timer != want_timer) {
		err = -ENOENT;
		goto out;
	}
	epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (el->e[slot].timer)
		close(fd);
	el->e[slot].fd = -1;
	el->e[slot].gen++; /* events already fetched for it are now stale */
out:
	pthread_mutex_unlock(&el->lock);
	return err;
}

int evloop_del(struct evloop *el, int fd)
{
	return ev_del(el, fd, false);
}

int evloop_add_timer(struct evloop *el, uint64_t first_ns, uint64_t period_ns, evloop_fn fn,
		     void *opaque, int *out_id)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (first_ns == 0)
		first_ns = 1; /* 0 would disarm */
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(first_ns / 1000000000u),
			 .tv_nsec = (long)(first_ns % 1000000000u)},
	    .it_interval = {.tv_sec = (time_t)(period_ns / 1000000000u),
			    .tv_nsec = (long)(period_ns % 1000000000u)},
	};
	int err;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		err = -errno;
		goto fail;
	}
	err = ev_add(el, fd, EPOLLIN, fn, opaque, true);
	if (err)
		goto fail;
	if (out_id)
		*out_id = fd;
	return 0;
fail:
	close(fd);
	return err;
}

int evloop_cancel_timer(struct evloop *el, int id)
{
	return ev_del(el, id, true);
}

int evloop_run(struct evloop *el)
{
	struct epoll_event evs[EVLOOP_BATCH];
	while (!atomic_load(&el->stopping)) {
		int n = epoll_wait(el->epfd, evs, EVLOOP_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !atomic_load(&el->stopping); i++) {
			if (evs[i].data.u64 == UINT64_MAX)
				continue;
			uint32_t slot = (uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			pthread_mutex_lock(&el->lock);
			struct ev_entry e = el->e[slot];
			pthread_mutex_unlock(&el->lock);
			if (e.fd < 0 || e.gen != gen)
				continue; /* removed earlier in this batch */
			if (e.timer) {
				uint64_t ticks;
				if (read(e.fd, &ticks, sizeof(ticks)) != sizeof(ticks))
					continue;
			}
			e.fn(e.opaque, evs[i].events);
		}
	}
	return atomic_load(&el->status);
}

void evloop_stop(struct evloop *el, int status)
{
	bool expected = false;
	if (atomic_compare_exchange_strong(&el->claimed, &expected, true)) {
		atomic_store(&el->status, status);
		atomic_store(&el->stopping, true);
	}
	uint64_t one = 1;
	ssize_t r = write(el->stopfd, &one, sizeof(one));
	(void)r; /* a full counter still wakes the loop */
}

bool evloop_stopping(const struct evloop *el)
{
	return atomic_load(&((struct evloop *)el)->stopping);
}
