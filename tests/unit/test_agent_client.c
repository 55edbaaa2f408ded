/* Unit tests for the host client's parts that need no agent: address
 * parsing and the client's refusal of bad requests (the protocol paths are
 * covered by tests/integration/agent). */
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent_client.h"
#include "proto_stream.h"
#include "strbuf.h"
#include "util.h"

START_TEST(test_addr_parse)
{
	struct agent_addr a;
	ck_assert_int_eq(agent_addr_parse("unix:/run/agent.sock", &a), 0);
	ck_assert_int_eq(a.kind, AGENT_ADDR_UNIX);
	ck_assert_str_eq(a.path, "/run/agent.sock");
	ck_assert_int_eq(agent_addr_parse("vsock:/tmp/vm.sock:1024", &a), 0);
	ck_assert_int_eq(a.kind, AGENT_ADDR_HYBRID_VSOCK);
	ck_assert_str_eq(a.path, "/tmp/vm.sock");
	ck_assert_uint_eq(a.port, 1024);
	/* The last ':' separates the port, so paths may contain ':'. */
	ck_assert_int_eq(agent_addr_parse("vsock:/tmp/a:b.sock:7", &a), 0);
	ck_assert_str_eq(a.path, "/tmp/a:b.sock");
	ck_assert_uint_eq(a.port, 7);
	ck_assert_int_eq(agent_addr_parse("vsock:/tmp/vm.sock:4294967295", &a), 0);
	/* Hostile and malformed. */
	ck_assert_int_eq(agent_addr_parse("unix:", &a), -EINVAL);
	ck_assert_int_eq(agent_addr_parse("tcp:1.2.3.4:5", &a), -EINVAL);
	ck_assert_int_eq(agent_addr_parse("vsock:1024", &a), -EINVAL);
	ck_assert_int_eq(agent_addr_parse("vsock::1024", &a), -EINVAL);
	ck_assert_int_eq(agent_addr_parse("vsock:/x:0", &a), -ERANGE);
	ck_assert_int_eq(agent_addr_parse("vsock:/x:4294967296", &a), -ERANGE);
	ck_assert_int_eq(agent_addr_parse("vsock:/x:12ab", &a), -EINVAL);
	ck_assert_int_eq(agent_addr_parse("vsock:/x:", &a), -EINVAL);
	char longp[300] = "unix:/";
	memset(longp + 6, 'p', 200);
	ck_assert_int_eq(agent_addr_parse(longp, &a), -ENAMETOOLONG);
	char longv[300] = "vsock:/";
	memset(longv + 7, 'p', 200);
	strcat(longv, ":5");
	ck_assert_int_eq(agent_addr_parse(longv, &a), -ENAMETOOLONG);
}
END_TEST

static void noop_exit(void *o, uint32_t ch, const struct agent_exit *ex)
{
	struct agent_exit *out = o;
	(void)ch;
	if (out)
		*out = *ex;
}

static const struct agent_exec_ops ops = {NULL, NULL, noop_exit};

START_TEST(test_unreachable_and_bad_requests)
{
	struct agent_client_config cfg = {.connect_timeout_ns = 100 * NSEC_PER_MSEC};
	ck_assert_int_eq(agent_addr_parse("unix:/nonexistent/smoltest-agent.sock", &cfg.addr), 0);
	struct agent_client *c = NULL;
	ck_assert_int_eq(agent_client_create(&cfg, &c), 0);
	ck_assert_int_ge(agent_client_fd(c), 0);
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_CONNECTING);
	ck_assert_uint_ne(agent_client_deadline_ns(c), 0);
	/* Bad requests are refused before anything is queued. */
	const char *argv[] = {"true", NULL};
	const char *empty[] = {NULL};
	uint32_t ch;
	struct agent_exec_req both = {.argv = argv, .shell = "true", .ops = &ops};
	ck_assert_int_eq(agent_client_exec(c, &both, &ch), -EINVAL);
	struct agent_exec_req none = {.ops = &ops};
	ck_assert_int_eq(agent_client_exec(c, &none, &ch), -EINVAL);
	struct agent_exec_req noargs = {.argv = empty, .ops = &ops};
	ck_assert_int_eq(agent_client_exec(c, &noargs, &ch), -EINVAL);
	struct agent_exec_req nocb = {.argv = argv};
	ck_assert_int_eq(agent_client_exec(c, &nocb, &ch), -EINVAL);
	ck_assert_int_eq(agent_client_set_hostname(c, "", NULL, NULL), -EINVAL);
	char longname[80];
	memset(longname, 'h', sizeof(longname) - 1);
	longname[79] = '\0';
	ck_assert_int_eq(agent_client_set_hostname(c, longname, NULL, NULL), -EINVAL);
	ck_assert_int_eq(agent_client_reseed(c, "x", 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(agent_client_kill(c, 42, 9), -ENOENT);
	ck_assert_int_eq(agent_client_write_stdin(c, 42, "x", 1), -ENOENT);
	/* An EXEC queued while connecting is reported LOST when the connect
	 * times out. */
	struct agent_exit ex = {0};
	struct agent_exec_req queued = {.argv = argv, .ops = &ops, .opaque = &ex};
	ck_assert_int_eq(agent_client_exec(c, &queued, &ch), 0);
	ck_assert_int_eq(agent_client_wait_ready(c), -ETIMEDOUT);
	ck_assert_int_eq(ex.how, AGENT_EXIT_LOST);
	ck_assert_int_eq(ex.sys_errno, ETIMEDOUT);
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_CLOSED);
	ck_assert_int_eq(
	    agent_client_exec(c, &(struct agent_exec_req){.argv = argv, .ops = &ops}, &ch), -EPIPE);
	agent_client_destroy(c);
	agent_client_destroy(NULL);
}
END_TEST

/* A fake agent on a Unix socket: answers HELLO with the given versions and
 * nothing else, so the client's request timeout has to fire. */
struct fake {
	char dir[64];
	char path[128];
	int lfd, fd;
	struct proto_reader rd;
};

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/smol-ac-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/fake.sock", f->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(f->lfd, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 4), 0);
	f->fd = -1;
}

/* Accepts, and answers the first HELLO with versions lo..hi. */
static void fake_step(struct fake *f, uint16_t lo, uint16_t hi)
{
	if (f->fd < 0)
		f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK);
	if (f->fd < 0)
		return;
	int rc = proto_reader_fill(&f->rd, f->fd);
	(void)rc;
	struct proto_msg m;
	while (proto_reader_next(&f->rd, &m) == 0) {
		if (m.hdr.type != PROTO_HELLO)
			continue; /* everything else goes unanswered */
		struct proto_msg r = {.hdr = {.type = PROTO_HELLO}};
		r.u.hello.version_min = lo;
		r.u.hello.version_max = hi;
		r.u.hello.software = proto_cstr("fake-agent");
		struct strbuf sb = {0};
		ck_assert_int_eq(proto_encode_sb(&r, &sb), 0);
		ck_assert_int_eq(util_write_all(f->fd, sb.buf, sb.len), 0);
		sb_release(&sb);
	}
}

static void fake_stop(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	close(f->lfd);
	proto_reader_release(&f->rd);
	util_rm_rf(f->dir);
}

struct reply {
	bool done;
	int result;
};

static void on_reply(void *o, struct agent_client *c, int result, const struct proto_error *e)
{
	struct reply *r = o;
	(void)c;
	(void)e;
	r->done = true;
	r->result = result;
}

START_TEST(test_request_timeout)
{
	struct fake f;
	fake_start(&f);
	struct agent_client_config cfg = {.request_timeout_ns = 200 * NSEC_PER_MSEC,
					  .connect_timeout_ns = 2 * NSEC_PER_SEC};
	char spec[160];
	snprintf(spec, sizeof(spec), "unix:%s", f.path);
	ck_assert_int_eq(agent_addr_parse(spec, &cfg.addr), 0);
	struct agent_client *c = NULL;
	ck_assert_int_eq(agent_client_create(&cfg, &c), 0);
	for (int i = 0; i < 200 && agent_client_state(c) != AGENT_CLIENT_READY; i++) {
		fake_step(&f, 1, 1);
		agent_client_poll(c, 10 * NSEC_PER_MSEC);
	}
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_READY);
	ck_assert_str_eq(agent_client_software(c), "fake-agent");
	struct reply r = {false, 0};
	uint64_t t0 = util_now_ns();
	ck_assert_int_eq(agent_client_ping(c, on_reply, &r), 0);
	for (int i = 0; i < 300 && !r.done; i++) {
		fake_step(&f, 1, 1);
		agent_client_poll(c, 10 * NSEC_PER_MSEC);
	}
	uint64_t ms = (util_now_ns() - t0) / NSEC_PER_MSEC;
	ck_assert(r.done);
	ck_assert_int_eq(r.result, -ETIMEDOUT);
	ck_assert_uint_ge(ms, 190);
	ck_assert_uint_lt(ms, 2000);
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_CLOSED);
	ck_assert_int_eq(agent_client_error(c), -ETIMEDOUT);
	agent_client_destroy(c);
	fake_stop(&f);
}
END_TEST

/* The client is the one place that retries (agent_client.h): an agent
 * that accepts and drops the first connection before its HELLO (one that
 * is still starting) is reached on a later attempt, within the timeout. */
START_TEST(test_reset_before_hello_is_retried)
{
	struct fake f;
	fake_start(&f);
	struct agent_client_config cfg = {.connect_timeout_ns = 2 * NSEC_PER_SEC};
	char spec[160];
	snprintf(spec, sizeof(spec), "unix:%s", f.path);
	ck_assert_int_eq(agent_addr_parse(spec, &cfg.addr), 0);
	struct agent_client *c = NULL;
	ck_assert_int_eq(agent_client_create(&cfg, &c), 0);
	int first = -1;
	for (int i = 0; i < 100 && first < 0; i++) {
		first = accept4(f.lfd, NULL, NULL, SOCK_NONBLOCK);
		agent_client_poll(c, 5 * NSEC_PER_MSEC);
	}
	ck_assert_int_ge(first, 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(first, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(first); /* dropped before any HELLO */
	for (int i = 0; i < 200 && agent_client_state(c) != AGENT_CLIENT_READY &&
			agent_client_state(c) != AGENT_CLIENT_CLOSED;
	     i++) {
		fake_step(&f, 1, 1);
		agent_client_poll(c, 10 * NSEC_PER_MSEC);
	}
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_READY);
	ck_assert_str_eq(agent_client_software(c), "fake-agent");
	agent_client_destroy(c);
	fake_stop(&f);
}
END_TEST

START_TEST(test_version_mismatch)
{
	struct fake f;
	fake_start(&f);
	struct agent_client_config cfg = {.connect_timeout_ns = 2 * NSEC_PER_SEC};
	char spec[160];
	snprintf(spec, sizeof(spec), "unix:%s", f.path);
	ck_assert_int_eq(agent_addr_parse(spec, &cfg.addr), 0);
	struct agent_client *c = NULL;
	ck_assert_int_eq(agent_client_create(&cfg, &c), 0);
	for (int i = 0; i < 200 && agent_client_state(c) != AGENT_CLIENT_CLOSED; i++) {
		fake_step(&f, 2, 3); /* an agent from the future */
		agent_client_poll(c, 10 * NSEC_PER_MSEC);
	}
	ck_assert_int_eq(agent_client_state(c), AGENT_CLIENT_CLOSED);
	ck_assert_int_eq(agent_client_error(c), -EPROTO);
	agent_client_destroy(c);
	fake_stop(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_client");
	TCase *tc = tcase_create("client");
	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_unreachable_and_bad_requests);
	tcase_add_test(tc, test_request_timeout);
	tcase_add_test(tc, test_version_mismatch);
	tcase_add_test(tc, test_reset_before_hello_is_retried);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
