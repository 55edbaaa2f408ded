/* Unit tests for the event loop (vmm/core/evloop.c) and the io bus
 * (vmm/core/iobus.c). */
#include "core/evloop.h"
#include "core/iobus.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ctx {
	struct evloop *el;
	int fd_a, fd_b;
	int calls_a, calls_b, ticks;
	bool a_removes_b;
};

static void on_a(void *opaque, uint32_t ev)
{
	struct ctx *c = opaque;
	uint64_t v;
	ck_assert(ev & EPOLLIN);
	ck_assert_int_eq(read(c->fd_a, &v, sizeof(v)), sizeof(v));
	c->calls_a++;
	if (c->a_removes_b)
		ck_assert_int_eq(evloop_del(c->el, c->fd_b), 0);
	if (c->calls_a == 1 && !c->a_removes_b)
		evloop_stop(c->el, 42);
}

static void on_b(void *opaque, uint32_t ev)
{
	struct ctx *c = opaque;
	(void)ev;
	/* b must never run after a removed it */
	ck_assert(!(c->a_removes_b && c->calls_a > 0));
	c->calls_b++;
	evloop_stop(c->el, 7);
}

static void on_tick(void *opaque, uint32_t ev)
{
	struct ctx *c = opaque;
	(void)ev;
	if (++c->ticks == 3)
		evloop_stop(c->el, 3);
}

static void kick(int fd)
{
	uint64_t one = 1;
	ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

START_TEST(fd_callbacks_and_stop_status)
{
	struct ctx c = {0};
	ck_assert_int_eq(evloop_create(&c.el), 0);
	c.fd_a = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(evloop_add(c.el, c.fd_a, EPOLLIN, on_a, &c), 0);
	ck_assert_int_eq(evloop_add(c.el, c.fd_a, EPOLLIN, on_a, &c), -EEXIST);
	ck_assert_int_eq(evloop_mod(c.el, 12345, EPOLLIN), -ENOENT);
	ck_assert_int_eq(evloop_del(c.el, 12345), -ENOENT);
	kick(c.fd_a);
	ck_assert_int_eq(evloop_run(c.el), 42);
	ck_assert_int_eq(c.calls_a, 1);
	ck_assert(evloop_stopping(c.el));
	evloop_stop(c.el, 99); /* the first status wins */
	ck_assert_int_eq(evloop_run(c.el), 42);
	evloop_destroy(c.el);
	evloop_destroy(NULL);
	close(c.fd_a);
}
END_TEST

START_TEST(removed_entry_not_called_in_same_batch)
{
	struct ctx c = {.a_removes_b = true};
	ck_assert_int_eq(evloop_create(&c.el), 0);
	c.fd_a = eventfd(0, EFD_NONBLOCK);
	c.fd_b = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(evloop_add(c.el, c.fd_a, EPOLLIN, on_a, &c), 0);
	ck_assert_int_eq(evloop_add(c.el, c.fd_b, EPOLLIN, on_b, &c), 0);
	kick(c.fd_a);
	kick(c.fd_b); /* both ready in one epoll_wait batch */
	int id;
	ck_assert_int_eq(
	    evloop_add_timer(c.el, 20 * NSEC_PER_MSEC, 5 * NSEC_PER_MSEC, on_tick, &c, &id), 0);
	/* whichever order epoll reports them, b runs only if it came first */
	int st = evloop_run(c.el);
	ck_assert(st == 3 || st == 7);
	if (st == 3)
		ck_assert_int_eq(c.calls_b, 0);
	ck_assert_int_eq(evloop_cancel_timer(c.el, id), 0);
	ck_assert_int_eq(evloop_cancel_timer(c.el, id), -ENOENT);
	evloop_destroy(c.el);
	close(c.fd_a);
	close(c.fd_b);
}
END_TEST

static void *stopper(void *arg)
{
	usleep(20000);
	evloop_stop(arg, 5);
	return NULL;
}

START_TEST(stop_from_another_thread)
{
	struct evloop *el;
	ck_assert_int_eq(evloop_create(&el), 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, stopper, el), 0);
	ck_assert_int_eq(evloop_run(el), 5);
	pthread_join(t, NULL);
	evloop_destroy(el);
}
END_TEST

static void rec(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	uint64_t *last = opaque;
	*last = off << 8 | len << 1 | is_write;
	if (!is_write)
		memset(data, 0xab, len);
}

START_TEST(iobus_ranges)
{
	struct iobus *bus = calloc(1, sizeof(*bus));
	uint64_t a = 0, b = 0;
	ck_assert_int_eq(iobus_register(bus, 0x100, 0x10, rec, &a), 0);
	ck_assert_int_eq(iobus_register(bus, 0x50, 0x10, rec, &b), 0);
	ck_assert_int_eq(iobus_register(bus, 0x108, 0x10, rec, &b), -EEXIST);
	ck_assert_int_eq(iobus_register(bus, 0xf8, 0x10, rec, &b), -EEXIST);
	ck_assert_int_eq(iobus_register(bus, 0x40, 0x100, rec, &b), -EEXIST); /* covers both */
	ck_assert_int_eq(iobus_register(bus, 0x200, 0, rec, &b), -EINVAL);
	ck_assert_int_eq(iobus_register(bus, UINT64_MAX - 2, 8, rec, &b), -EINVAL);
	uint32_t v = 0;
	ck_assert(iobus_dispatch(bus, 0x104, &v, 4, false));
	ck_assert_uint_eq(v, 0xabababab);
	ck_assert_uint_eq(a, 0x4 << 8 | 4 << 1);
	ck_assert(iobus_dispatch(bus, 0x55, &v, 1, true));
	ck_assert_uint_eq(b, 0x5 << 8 | 1 << 1 | 1);
	/* straddling the end of a range, or hitting nothing: not dispatched,
	 * reads as all ones */
	ck_assert(!iobus_dispatch(bus, 0x10e, &v, 4, false));
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(!iobus_dispatch(bus, 0x80, &v, 4, false));
	ck_assert_int_eq(iobus_unregister(bus, 0x100), 0);
	ck_assert_int_eq(iobus_unregister(bus, 0x100), -ENOENT);
	ck_assert(!iobus_dispatch(bus, 0x104, &v, 4, false));
	for (unsigned i = 0; i < IOBUS_MAX_RANGES - 1; i++)
		ck_assert_int_eq(iobus_register(bus, 0x1000 + 0x10 * i, 0x10, rec, &a), 0);
	ck_assert_int_eq(iobus_register(bus, 0x100000, 1, rec, &a), -ENOSPC);
	free(bus);
}
END_TEST

static Suite *evloop_suite(void)
{
	Suite *s = suite_create("evloop");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, fd_callbacks_and_stop_status);
	tcase_add_test(tc, removed_entry_not_called_in_same_batch);
	tcase_add_test(tc, stop_from_another_thread);
	tcase_add_test(tc, iobus_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(evloop_suite());
}
