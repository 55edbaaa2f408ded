/* cmd_exec: `smoltest exec`, one command through a smoltest agent.
 *
 *   smoltest exec --agent unix:PATH|vsock:UDSPATH:PORT [--timeout D]
 *                 [--connect-timeout D] [--env K=V]... [--cwd DIR] [--stdin]
 *                 [--shell] -- CMD [ARGS...]
 *
 * stdout and stderr stream through as they arrive. The exit status is the
 * command's: its exit code, 128+N for signal N, 124 for a timeout, 3 when
 * the agent cannot be reached or the connection is lost, 2 for usage. */
#include "agent/agent_client.h"
#include "cmd/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define MAX_ENV 256

struct exec_run {
	bool done;
	struct agent_exit ex;
	int out_err; /* a write to our stdout/stderr failed */
};

static void on_output(void *opaque, uint32_t channel, int stream, const uint8_t *data, size_t len)
{
	struct exec_run *r = opaque;
	(void)channel;
	int rc = util_write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, data, len);
	if (rc && !r->out_err)
		r->out_err = rc;
}

static void on_exit_cb(void *opaque, uint32_t channel, const struct agent_exit *ex)
{
	struct exec_run *r = opaque;
	(void)channel;
	r->done = true;
	r->ex = *ex;
}

static const struct agent_exec_ops exec_ops = {
    .on_output = on_output,
    .on_exit = on_exit_cb,
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: smoltest exec --agent unix:PATH|vsock:UDSPATH:PORT [--timeout D]\n"
	    "                     [--connect-timeout D] [--env K=V]... [--cwd DIR] [--stdin]\n"
	    "                     [--shell] -- CMD [ARGS...]\n"
	    "  --stdin   forward this process's stdin to the command (default /dev/null)\n"
	    "  --shell   run CMD (one string) with /bin/sh -c\n"
	    "exit status: the command's, 128+N for signal N, 124 timeout, 3 agent unreachable\n");
}

/* Forwards our stdin to the agent, bounded by the client's queue. */
static int pump_stdin(struct agent_client *c, uint32_t ch, bool *open_)
{
	if (agent_client_pending(c) > ((size_t)1 << 20))
		return 0;
	uint8_t buf[PROTO_MAX_DATA];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		*open_ = false;
		return agent_client_close_stdin(c, ch);
	}
	return agent_client_write_stdin(c, ch, buf, (size_t)n);
}

static int status_of(const struct agent_exit *ex, const char *cmd)
{
	switch (ex->how) {
	case AGENT_EXIT_EXITED:
		return ex->code;
	case AGENT_EXIT_SIGNALED:
	case AGENT_EXIT_KILLED:
		return 128 + ex->code;
	case AGENT_EXIT_TIMED_OUT:
		fprintf(stderr, "smoltest exec: '%s' timed out and was killed\n", cmd);
		return 124;
	case AGENT_EXIT_SPAWN_FAILED:
		fprintf(stderr, "smoltest exec: cannot run '%s': %s\n", cmd,
			strerror(ex->sys_errno));
		return 127;
	case AGENT_EXIT_LOST:
	default:
		fprintf(stderr, "smoltest exec: lost the agent while '%s' ran: %s\n", cmd,
			strerror(ex->sys_errno));
		return EXIT_INFRA;
	}
}

int cmd_exec(int argc, char **argv)
{
	const char *agent = NULL, *cwd = NULL;
	const char *env[MAX_ENV + 1];
	size_t nenv = 0;
	uint64_t timeout_ns = 0, connect_ns = 10 * NSEC_PER_SEC;
	bool use_stdin = false, shell = false;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return EXIT_OK;
		}
		if (!strcmp(a, "--stdin")) {
			use_stdin = true;
			continue;
		}
		if (!strcmp(a, "--shell")) {
			shell = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "smoltest exec: '%s' needs a value (or is unknown)\n", a);
			usage();
			return EXIT_USAGE;
		}
		i++;
		if (!strcmp(a, "--agent")) {
			agent = v;
		} else if (!strcmp(a, "--cwd")) {
			cwd = v;
		} else if (!strcmp(a, "--env")) {
			if (!strchr(v, '=') || v[0] == '=' || nenv >= MAX_ENV) {
				fprintf(
				    stderr,
				    "smoltest exec: --env '%s': expected KEY=VALUE (at most %d)\n",
				    v, MAX_ENV);
				return EXIT_USAGE;
			}
			env[nenv++] = v;
		} else if (!strcmp(a, "--timeout") || !strcmp(a, "--connect-timeout")) {
			uint64_t ns;
			if (util_parse_duration(v, &ns) || (ns == 0 && a[2] == 'c')) {
				fprintf(stderr,
					"smoltest exec: %s '%s': expected a duration like 30s or "
					"500ms\n",
					a, v);
				return EXIT_USAGE;
			}
			*(a[2] == 't' ? &timeout_ns : &connect_ns) = ns;
		} else {
			fprintf(stderr, "smoltest exec: unknown option '%s'\n", a);
			usage();
			return EXIT_USAGE;
		}
	}
	env[nenv] = NULL;
	if (!agent || i >= argc || (shell && argc - i != 1)) {
		fprintf(stderr, "smoltest exec: %s\n",
			!agent	    ? "--agent is required"
			: i >= argc ? "no command given after --"
				    : "--shell takes exactly one command string");
		usage();
		return EXIT_USAGE;
	}
	if (cwd && cwd[0] != '/') {
		fprintf(stderr, "smoltest exec: --cwd '%s' must be an absolute path in the guest\n",
			cwd);
		return EXIT_USAGE;
	}

	struct agent_client_config cfg = {.connect_timeout_ns = connect_ns};
	int rc = agent_addr_parse(agent, &cfg.addr);
	if (rc) {
		fprintf(
		    stderr,
		    "smoltest exec: --agent '%s': expected unix:PATH or vsock:UDSPATH:PORT (%s)\n",
		    agent, strerror(-rc));
		return EXIT_USAGE;
	}
	struct agent_client *c = NULL;
	rc = agent_client_create(&cfg, &c);
	if (rc) {
		fprintf(stderr, "smoltest exec: cannot create the agent client: %s\n",
			strerror(-rc));
		return EXIT_INFRA;
	}
	rc = agent_client_wait_ready(c);
	if (rc) {
		fprintf(stderr, "smoltest exec: cannot reach the agent at %s: %s\n", agent,
			strerror(-rc));
		agent_client_destroy(c);
		return EXIT_INFRA;
	}
	struct exec_run run = {0};
	struct agent_exec_req req = {
	    .argv = shell ? NULL : (const char *const *)argv + i,
	    .shell = shell ? argv[i] : NULL,
	    .env = env,
	    .cwd = cwd,
	    .stdin_pipe = use_stdin,
	    .timeout_ns = timeout_ns,
	    .ops = &exec_ops,
	    .opaque = &run,
	};
	uint32_t ch;
	rc = agent_client_exec(c, &req, &ch);
	if (rc) {
		fprintf(stderr, "smoltest exec: cannot send the command: %s\n", strerror(-rc));
		agent_client_destroy(c);
		return rc == -EMSGSIZE ? EXIT_USAGE : EXIT_INFRA;
	}
	bool stdin_open = use_stdin;
	if (use_stdin)
		util_set_nonblock(STDIN_FILENO, true);
	while (!run.done) {
		if (stdin_open) {
			struct pollfd p[2] = {{.fd = agent_client_fd(c), .events = POLLIN},
					      {.fd = STDIN_FILENO, .events = POLLIN}};
			uint64_t d = agent_client_deadline_ns(c), now = util_now_ns();
			int ms = d ? (int)((d > now ? d - now : 0) / NSEC_PER_MSEC + 1) : 1000;
			if (poll(p, 2, ms) > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
				pump_stdin(c, ch, &stdin_open);
			agent_client_handle(c, POLLIN);
			agent_client_tick(c, util_now_ns());
		} else {
			agent_client_poll(c, NSEC_PER_SEC);
		}
	}
	if (use_stdin)
		util_set_nonblock(STDIN_FILENO, false);
	agent_client_destroy(c);
	return status_of(&run.ex, argv[i]);
}
