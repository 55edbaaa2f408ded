/* Benchmark: round-trip EXEC of /bin/true through smoltest-agent over a Unix
 * socket, against fork+exec+wait of /bin/true in this process, in the same
 * run; plus a PING round trip (the protocol and event loops alone).
 *
 *   bench_agent AGENT_BINARY [ITERATIONS]      (default 2000)
 *
 * Prints a table of p50 / p99 / mean in microseconds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_client.h"
#include "util.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void row(const char *name, uint64_t *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ns[i];
	printf("| %-40s | %6zu | %9.1f | %9.1f | %9.1f |\n", name, n, ns[n / 2] / 1e3,
	       ns[(n * 99) / 100] / 1e3, (double)sum / (double)n / 1e3);
}

struct done {
	bool done;
	struct agent_exit ex;
};

static void on_exit_cb(void *opaque, uint32_t ch, const struct agent_exit *ex)
{
	struct done *d = opaque;
	(void)ch;
	d->done = true;
	d->ex = *ex;
}

static const struct agent_exec_ops ops = {NULL, NULL, on_exit_cb};

struct agent_proc {
	pid_t pid;
	struct agent_client *c;
	bool cgroup;
};

static int agent_start(const char *bin, const char *dir, const char *name, const char *extra,
		       struct agent_proc *out)
{
	char sock[160], listen[180];
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
	snprintf(listen, sizeof(listen), "unix:%s", sock);
	out->pid = fork();
	if (out->pid == 0) {
		execl(bin, bin, "--listen", listen, extra, (char *)NULL);
		_exit(127);
	}
	struct agent_client_config cfg = {.connect_timeout_ns = 5 * NSEC_PER_SEC};
	agent_addr_parse(listen, &cfg.addr);
	if (agent_client_create(&cfg, &out->c) || agent_client_wait_ready(out->c)) {
		fprintf(stderr, "bench_agent: cannot reach %s\n", bin);
		kill(out->pid, SIGKILL);
		return -1;
	}
	out->cgroup = agent_client_caps(out->c) & PROTO_CAP_CGROUP;
	return 0;
}

static void agent_stop(struct agent_proc *a)
{
	agent_client_sync_shutdown(a->c, PROTO_SHUTDOWN_POWEROFF);
	agent_client_destroy(a->c);
	waitpid(a->pid, NULL, 0);
}

/* One EXEC of /bin/true; returns its round-trip time, 0 on failure. */
static uint64_t exec_true(struct agent_client *c)
{
	static const char *const av[] = {"/bin/true", NULL};
	struct done d = {0};
	struct agent_exec_req req = {.argv = av, .ops = &ops, .opaque = &d};
	uint32_t ch;
	uint64_t t0 = util_now_ns();
	if (agent_client_exec(c, &req, &ch))
		return 0;
	while (!d.done && agent_client_state(c) == AGENT_CLIENT_READY)
		agent_client_poll(c, NSEC_PER_SEC);
	uint64_t dt = util_now_ns() - t0;
	return d.ex.how == AGENT_EXIT_EXITED && d.ex.code == 0 ? dt : 0;
}

static uint64_t fork_true(void)
{
	uint64_t t0 = util_now_ns();
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "/bin/true", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	uint64_t dt = util_now_ns() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? dt : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_agent AGENT_BINARY [ITERATIONS]\n");
		return 2;
	}
	size_t iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	if (iters < 10)
		iters = 10;
	char dir[] = "/tmp/smol-bench-agent-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct agent_proc cg, nocg;
	if (agent_start(argv[1], dir, "cg", NULL, &cg))
		return 1;
	if (agent_start(argv[1], dir, "nocg", "--no-cgroup", &nocg)) {
		agent_stop(&cg);
		return 1;
	}
	uint64_t *ping = calloc(iters, sizeof(uint64_t)), *a = calloc(iters, sizeof(uint64_t));
	uint64_t *b = calloc(iters, sizeof(uint64_t)), *f = calloc(iters, sizeof(uint64_t));
	int bad = 0;
	for (size_t i = 0; i < 50; i++) { /* warm up page cache and allocators */
		exec_true(cg.c);
		exec_true(nocg.c);
		fork_true();
	}
	/* Interleaved, so that load from other processes hits every row alike. */
	for (size_t i = 0; i < iters; i++) {
		uint64_t t0 = util_now_ns();
		bad += agent_client_sync_ping(cg.c) != 0;
		ping[i] = util_now_ns() - t0;
		bad += !(a[i] = exec_true(cg.c));
		bad += !(b[i] = exec_true(nocg.c));
		bad += !(f[i] = fork_true());
	}
	printf("| %-40s | %6s | %9s | %9s | %9s |\n", "operation", "n", "p50 us", "p99 us",
	       "mean us");
	printf("|%s|%s|%s|%s|%s|\n", "------------------------------------------", "--------",
	       "-----------", "-----------", "-----------");
	row("PING round trip (protocol only)", ping, iters);
	row(cg.cgroup ? "EXEC /bin/true, agent, cgroup per EXEC"
		      : "EXEC /bin/true, agent (no cgroup here)",
	    a, iters);
	row("EXEC /bin/true, agent --no-cgroup", b, iters);
	row("fork+exec+wait /bin/true, direct", f, iters);
	agent_stop(&cg);
	agent_stop(&nocg);
	free(ping);
	free(a);
	free(b);
	free(f);
	util_rm_rf(dir);
	if (bad)
		fprintf(stderr, "bench_agent: %d operations failed\n", bad);
	return bad ? 1 : 0;
}
