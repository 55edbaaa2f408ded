/* agentctl: sends the agent's control requests from a shell script, for the
 * Linux guest tests (vmm_linux.sh). `smoltest exec` runs commands; this
 * sends what is not a command: MOUNT, QUIESCE, RESUMED, SET_HOSTNAME,
 * SHUTDOWN, PING.
 *
 *   agentctl ADDR [-t SECONDS] REQUEST [ARGS] [REQUEST [ARGS]]...
 *     ping | quiesce | resumed | hostname NAME | mount TAG PATH rw|ro
 *     | shutdown | reboot
 *
 * ADDR is unix:PATH or vsock:UDSPATH:PORT. -t is the connect timeout (the
 * guest may still be booting; default 120 s). Requests are sent in order;
 * the first failure prints one line and exits 1. Exit 3: the agent could
 * not be reached. */
#include "agent/agent_client.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wait {
	bool done;
	int result;
	char why[256];
};

static void on_reply(void *opaque, struct agent_client *c, int result,
		     const struct proto_error *err)
{
	struct wait *w = opaque;
	(void)c;
	w->done = true;
	w->result = result;
	if (err)
		snprintf(w->why, sizeof(w->why), "%.*s", (int)err->message.len,
			 (const char *)err->message.ptr);
}

/* Runs the client's loop until the request started by `rc` answers. */
static int finish(struct agent_client *c, struct wait *w, int rc)
{
	if (rc)
		return rc;
	while (!w->done) {
		if (agent_client_poll(c, 1000000000ull) < 0 && !w->done)
			return agent_client_error(c) ? agent_client_error(c) : -EPIPE;
	}
	return w->result;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: agentctl unix:PATH|vsock:UDSPATH:PORT [-t SECONDS] "
		"ping|quiesce|resumed|hostname NAME|mount TAG PATH rw|ro|shutdown|reboot...\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	struct agent_client_config cfg = {.connect_timeout_ns = 120 * 1000000000ull,
					  .request_timeout_ns = 60 * 1000000000ull};
	if (agent_addr_parse(argv[1], &cfg.addr)) {
		fprintf(stderr, "agentctl: '%s' is not unix:PATH or vsock:UDSPATH:PORT\n", argv[1]);
		return 2;
	}
	int i = 2;
	if (!strcmp(argv[i], "-t")) {
		if (i + 2 >= argc)
			return usage();
		cfg.connect_timeout_ns = strtoull(argv[i + 1], NULL, 10) * 1000000000ull;
		i += 2;
	}
	struct agent_client *c = NULL;
	int rc = agent_client_create(&cfg, &c);
	if (!rc)
		rc = agent_client_wait_ready(c);
	if (rc) {
		fprintf(stderr, "agentctl: cannot reach the agent at %s: %s\n", argv[1],
			strerror(-rc));
		agent_client_destroy(c);
		return 3;
	}
	for (; i < argc; i++) {
		const char *req = argv[i];
		struct wait w = {0};
		if (!strcmp(req, "ping")) {
			rc = finish(c, &w, agent_client_ping(c, on_reply, &w));
		} else if (!strcmp(req, "quiesce")) {
			rc = finish(c, &w, agent_client_quiesce(c, on_reply, &w));
		} else if (!strcmp(req, "resumed")) {
			rc = finish(c, &w, agent_client_resumed(c, on_reply, &w));
		} else if (!strcmp(req, "shutdown") || !strcmp(req, "reboot")) {
			rc = finish(c, &w,
				    agent_client_shutdown(c, !strcmp(req, "reboot"), on_reply, &w));
		} else if (!strcmp(req, "hostname") && i + 1 < argc) {
			rc = finish(c, &w, agent_client_set_hostname(c, argv[i + 1], on_reply, &w));
			i++;
		} else if (!strcmp(req, "mount") && i + 3 < argc) {
			bool ro = !strcmp(argv[i + 3], "ro");
			rc = finish(c, &w,
				    agent_client_mount(c, NULL, argv[i + 1], argv[i + 2], ro, NULL,
						       on_reply, &w));
			i += 3;
		} else {
			agent_client_destroy(c);
			return usage();
		}
		if (rc) {
			fprintf(stderr, "agentctl: %s failed: %s%s%s\n", req, strerror(-rc),
				w.why[0] ? ": " : "", w.why);
			agent_client_destroy(c);
			return 1;
		}
	}
	agent_client_destroy(c);
	return 0;
}
