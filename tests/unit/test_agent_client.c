/* Unit tests for the host client's parts that need no agent: address
 * parsing and the client's refusal of bad requests (the protocol paths are
 * covered by tests/integration/agent). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
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

int main(void)
{
	Suite *s = suite_create("agent_client");
	TCase *tc = tcase_create("client");
	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_unreachable_and_bad_requests);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
