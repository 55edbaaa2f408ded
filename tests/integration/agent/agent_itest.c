/* Integration tests: the real smoltest-agent binary over a Unix socket,
 * driven through the host client library (runner/agent/agent_client.c).
 *
 *   agent_itest AGENT_BINARY [TEST-NAME...]
 *
 * Prints TAP. Each test starts what it needs; every wait is bounded, so a
 * broken agent fails a test instead of hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_client.h"
#include "proto_stream.h"
#include "strbuf.h"
#include "util.h"

#define WAIT_NS (20 * NSEC_PER_SEC)

struct ctx {
	const char *agent_bin;
	char dir[128];
	char sock[160];
	pid_t agent;
	int failed_checks;
};

static int check_fail(struct ctx *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int check_fail(struct ctx *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	t->failed_checks++;
	return -1;
}

#define CHECK(t, cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return check_fail(t, __FILE__, __LINE__, __VA_ARGS__);                     \
	} while (0)

/* ---- agent process ---- */

static int start_agent_at(struct ctx *t, const char *sock, const char *extra)
{
	unlink(sock); /* so that waiting for it below waits for this agent */
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char listen[200];
		snprintf(listen, sizeof(listen), "unix:%s", sock);
		if (extra)
			execl(t->agent_bin, t->agent_bin, "--listen", listen, extra, (char *)NULL);
		else
			execl(t->agent_bin, t->agent_bin, "--listen", listen, (char *)NULL);
		_exit(127);
	}
	t->agent = pid;
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int start_agent(struct ctx *t, const char *extra)
{
	return start_agent_at(t, t->sock, extra);
}

/* Stops the agent; returns its exit status (or -1). */
static int stop_agent(struct ctx *t, int sig)
{
	if (t->agent <= 0)
		return -1;
	if (sig)
		kill(t->agent, sig);
	int st = -1;
	for (int i = 0; i < 1000; i++) {
		if (waitpid(t->agent, &st, WNOHANG) == t->agent)
			break;
		if (i == 999) {
			kill(t->agent, SIGKILL);
			waitpid(t->agent, &st, 0);
		}
		usleep(10000);
	}
	t->agent = 0;
	return st;
}

static struct agent_client *connect_to(struct ctx *t, const char *spec)
{
	struct agent_client_config cfg = {.connect_timeout_ns = 5 * NSEC_PER_SEC};
	struct agent_client *c = NULL;
	if (agent_addr_parse(spec, &cfg.addr) || agent_client_create(&cfg, &c))
		return NULL;
	(void)t;
	return c;
}

static struct agent_client *connect_agent(struct ctx *t)
{
	char spec[200];
	snprintf(spec, sizeof(spec), "unix:%s", t->sock);
	struct agent_client *c = connect_to(t, spec);
	if (c && agent_client_wait_ready(c)) {
		agent_client_destroy(c);
		return NULL;
	}
	return c;
}

/* ---- running commands ---- */

struct run {
	struct strbuf out, err;
	struct agent_exit ex;
	bool done;
	bool started;
	uint32_t pid;
	uint64_t first_out_ns, exit_ns;
	uint64_t out_bytes; /* counted, not kept, when count_only */
	bool count_only;
	size_t chunks;
};

static void r_output(void *opaque, uint32_t ch, int stream, const uint8_t *d, size_t len)
{
	struct run *r = opaque;
	(void)ch;
	if (!r->first_out_ns)
		r->first_out_ns = util_now_ns();
	r->chunks++;
	if (r->count_only) {
		r->out_bytes += len;
		return;
	}
	sb_append(stream == 1 ? &r->out : &r->err, d, len);
}

static void r_started(void *opaque, uint32_t ch, uint32_t pid)
{
	struct run *r = opaque;
	(void)ch;
	r->started = true;
	r->pid = pid;
}

static void r_exit(void *opaque, uint32_t ch, const struct agent_exit *ex)
{
	struct run *r = opaque;
	(void)ch;
	r->ex = *ex;
	r->done = true;
	r->exit_ns = util_now_ns();
}

static const struct agent_exec_ops run_ops = {r_output, r_started, r_exit};

static void run_release(struct run *r)
{
	sb_release(&r->out);
	sb_release(&r->err);
}

/* Polls until cond(r) or the deadline. */
static bool wait_for(struct agent_client *c, bool *flag, uint64_t ns)
{
	uint64_t end = util_now_ns() + ns;
	while (!*flag && util_now_ns() < end && agent_client_state(c) != AGENT_CLIENT_CLOSED)
		agent_client_poll(c, 100 * NSEC_PER_MSEC);
	return *flag;
}

static int run_cmd(struct agent_client *c, struct agent_exec_req *req, struct run *r)
{
	uint32_t ch;
	req->ops = &run_ops;
	req->opaque = r;
	int rc = agent_client_exec(c, req, &ch);
	if (rc)
		return rc;
	return wait_for(c, &r->done, WAIT_NS) ? 0 : -ETIMEDOUT;
}

static int run_sh(struct agent_client *c, const char *script, struct run *r)
{
	struct agent_exec_req req = {.shell = script};
	return run_cmd(c, &req, r);
}

/* ---- tests ---- */

static int t_exit_codes(struct ctx *t, struct agent_client *c)
{
	struct run r = {0};
	CHECK(t, run_sh(c, "exit 42", &r) == 0, "exit 42 did not finish");
	CHECK(t, r.ex.how == AGENT_EXIT_EXITED && r.ex.code == 42, "how %d code %d", r.ex.how,
	      r.ex.code);
	CHECK(t, r.started && r.pid > 0, "no STARTED with a pid");
	CHECK(t, r.ex.raw.wall_ns > 0, "no wall time");
	run_release(&r);
	struct run r2 = {0};
	const char *argv[] = {"true", NULL};
	struct agent_exec_req req = {.argv = argv};
	CHECK(t, run_cmd(c, &req, &r2) == 0 && r2.ex.how == AGENT_EXIT_EXITED && r2.ex.code == 0,
	      "true: how %d code %d", r2.ex.how, r2.ex.code);
	struct run r3 = {0};
	const char *argv3[] = {"/definitely/not/here", NULL};
	struct agent_exec_req req3 = {.argv = argv3};
	CHECK(t, run_cmd(c, &req3, &r3) == 0, "spawn failure did not finish");
	CHECK(t, r3.ex.how == AGENT_EXIT_SPAWN_FAILED && r3.ex.sys_errno == ENOENT,
	      "spawn failure: how %d errno %d", r3.ex.how, r3.ex.sys_errno);
	/* rusage is reported for a process that burns CPU. */
	struct run r4 = {0};
	CHECK(t, run_sh(c, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", &r4) == 0,
	      "busy loop");
	CHECK(t, r4.ex.raw.utime_us + r4.ex.raw.stime_us > 0 && r4.ex.raw.maxrss_kib > 0,
	      "rusage empty: utime %llu maxrss %llu", (unsigned long long)r4.ex.raw.utime_us,
	      (unsigned long long)r4.ex.raw.maxrss_kib);
	return 0;
}

static int t_signals(struct ctx *t, struct agent_client *c)
{
	struct run r = {0};
	CHECK(t, run_sh(c, "kill -SEGV $$", &r) == 0, "did not finish");
	CHECK(t, r.ex.how == AGENT_EXIT_SIGNALED && r.ex.code == SIGSEGV, "how %d code %d",
	      r.ex.how, r.ex.code);
	struct run r2 = {0};
	CHECK(t, run_sh(c, "kill -USR1 $$", &r2) == 0, "did not finish");
	CHECK(t, r2.ex.how == AGENT_EXIT_SIGNALED && r2.ex.code == SIGUSR1, "how %d code %d",
	      r2.ex.how, r2.ex.code);
	/* The agent ignores SIGPIPE; the command must not inherit that. */
	struct run r3 = {0};
	CHECK(t,
	      run_sh(c, "yes | head -c 10 >/dev/null; kill -0 $$", &r3) == 0 &&
		  r3.ex.how == AGENT_EXIT_EXITED && r3.ex.code == 0,
	      "pipeline with SIGPIPE: how %d code %d", r3.ex.how, r3.ex.code);
	return 0;
}

static int t_streaming(struct ctx *t, struct agent_client *c)
{
	struct run r = {0};
	uint64_t t0 = util_now_ns();
	CHECK(t, run_sh(c, "echo a; sleep 0.4; echo b >&2; sleep 0.4; echo c", &r) == 0,
	      "did not finish");
	CHECK(t, !strcmp(sb_str(&r.out), "a\nc\n"), "stdout '%s'", sb_str(&r.out));
	CHECK(t, !strcmp(sb_str(&r.err), "b\n"), "stderr '%s'", sb_str(&r.err));
	/* Output arrives as it is written, not at exit. */
	CHECK(t,
	      r.first_out_ns - t0 < 1500 * NSEC_PER_MSEC &&
		  r.exit_ns - r.first_out_ns > 500 * NSEC_PER_MSEC,
	      "first output after %llu ms, exit %llu ms later",
	      (unsigned long long)((r.first_out_ns - t0) / NSEC_PER_MSEC),
	      (unsigned long long)((r.exit_ns - r.first_out_ns) / NSEC_PER_MSEC));
	run_release(&r);
	/* Merged streams keep their relative order exactly. */
	struct run m = {0};
	struct agent_exec_req req = {.shell = "for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; done",
				     .merge_stderr = true};
	CHECK(t, run_cmd(c, &req, &m) == 0, "merged did not finish");
	CHECK(t, !strcmp(sb_str(&m.out), "o1\ne1\no2\ne2\no3\ne3\no4\ne4\no5\ne5\n"), "merged '%s'",
	      sb_str(&m.out));
	CHECK(t, m.err.len == 0, "stderr not merged");
	run_release(&m);
	return 0;
}

static long vm_hwm_kib(pid_t pid)
{
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (util_read_file(path, 1 << 16, &text, NULL))
		return -1;
	char *p = strstr(text, "VmHWM:");
	long v = p ? strtol(p + 6, NULL, 10) : -1;
	free(text);
	return v;
}

static int t_large_output(struct ctx *t, struct agent_client *c)
{
	const uint64_t total = 50ull << 20;
	struct run r = {.count_only = true};
	uint32_t ch;
	struct agent_exec_req req = {.shell = "head -c 52428800 /dev/zero"};
	req.ops = &run_ops;
	req.opaque = &r;
	long before = vm_hwm_kib(t->agent);
	CHECK(t, agent_client_exec(c, &req, &ch) == 0, "exec");
	/* A slow reader: the agent must stop reading the pipe, not buffer. */
	agent_client_poll(c, 10 * NSEC_PER_MSEC);
	usleep(500 * 1000);
	CHECK(t, wait_for(c, &r.done, 60 * NSEC_PER_SEC), "50 MiB did not finish");
	CHECK(t, r.ex.how == AGENT_EXIT_EXITED && r.ex.code == 0, "how %d code %d", r.ex.how,
	      r.ex.code);
	CHECK(t, r.out_bytes == total, "got %llu bytes of %llu", (unsigned long long)r.out_bytes,
	      (unsigned long long)total);
	CHECK(t, r.chunks >= total / PROTO_MAX_DATA, "frames bigger than PROTO_MAX_DATA (%zu)",
	      r.chunks);
	long after = vm_hwm_kib(t->agent);
	printf("#   agent VmHWM %ld KiB before, %ld KiB after 50 MiB\n", before, after);
	/* The sanitized agent carries ASan's shadow; still far below 50 MiB. */
	CHECK(t, after > 0 && after - before < 24 * 1024, "agent peak memory grew by %ld KiB",
	      after - before);
	return 0;
}

static int t_stdin(struct ctx *t, struct agent_client *c)
{
	struct run r = {0};
	uint32_t ch;
	struct agent_exec_req req = {.shell = "cat; echo done", .stdin_pipe = true};
	req.ops = &run_ops;
	req.opaque = &r;
	CHECK(t, agent_client_exec(c, &req, &ch) == 0, "exec");
	size_t n = 3 << 20; /* more than the agent's stdin high-water mark */
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	CHECK(t, agent_client_write_stdin(c, ch, data, n) == 0, "write stdin");
	CHECK(t, agent_client_close_stdin(c, ch) == 0, "close stdin");
	CHECK(t, agent_client_write_stdin(c, ch, "x", 1) == -EPIPE, "write after close accepted");
	bool ok = wait_for(c, &r.done, WAIT_NS);
	bool same =
	    r.out.len == n + 5 && !memcmp(r.out.buf, data, n) && !strcmp(r.out.buf + n, "done\n");
	free(data);
	CHECK(t, ok, "cat did not finish");
	CHECK(t, same, "echoed %zu bytes, want %zu", r.out.len, n + 5);
	run_release(&r);
	/* Default stdin is /dev/null: reading it ends at once. */
	struct run r2 = {0};
	CHECK(t, run_sh(c, "cat; echo eof", &r2) == 0 && !strcmp(sb_str(&r2.out), "eof\n"),
	      "null stdin: '%s'", sb_str(&r2.out));
	run_release(&r2);
	return 0;
}

static int t_concurrent(struct ctx *t, struct agent_client *c)
{
	enum { N = 8 };
	struct run r[N];
	char envs[N][16];
	const char *env[N][2];
	memset(r, 0, sizeof(r));
	uint64_t t0 = util_now_ns();
	for (int i = 0; i < N; i++) {
		snprintf(envs[i], sizeof(envs[i]), "N=%d", i);
		env[i][0] = envs[i];
		env[i][1] = NULL;
		struct agent_exec_req req = {.shell = "sleep 1; echo $N; echo err$N >&2",
					     .env = env[i],
					     .ops = &run_ops,
					     .opaque = &r[i]};
		uint32_t ch;
		CHECK(t, agent_client_exec(c, &req, &ch) == 0, "exec %d", i);
	}
	for (int i = 0; i < N; i++)
		CHECK(t, wait_for(c, &r[i].done, WAIT_NS), "exec %d did not finish", i);
	uint64_t ms = (util_now_ns() - t0) / NSEC_PER_MSEC;
	for (int i = 0; i < N; i++) {
		char want[16], werr[16];
		snprintf(want, sizeof(want), "%d\n", i);
		snprintf(werr, sizeof(werr), "err%d\n", i);
		CHECK(t, !strcmp(sb_str(&r[i].out), want) && !strcmp(sb_str(&r[i].err), werr),
		      "exec %d: out '%s' err '%s'", i, sb_str(&r[i].out), sb_str(&r[i].err));
		run_release(&r[i]);
	}
	/* Sequentially this would take 8 s. */
	CHECK(t, ms < 5000, "8 x 1 s took %llu ms: not concurrent", (unsigned long long)ms);
	return 0;
}

static bool pid_gone(pid_t pid)
{
	for (int i = 0; i < 300; i++) {
		char path[64], buf[256];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return true;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
				return true; /* dead, waiting to be reaped */
		}
		usleep(10000);
	}
	return false;
}

static long read_pid_file(const char *path)
{
	char *text = NULL;
	for (int i = 0; i < 200 && util_read_file(path, 64, &text, NULL); i++)
		usleep(10000);
	long pid = text ? strtol(text, NULL, 10) : -1;
	free(text);
	return pid;
}

/* A command that double-forks a daemon (new session, parent gone) and then
 * hangs: the timeout must kill the daemon too. */
static int timeout_case(struct ctx *t, struct agent_client *c, const char *tag)
{
	char script[1024], pidfile[200];
	snprintf(pidfile, sizeof(pidfile), "%s/gc-%s.pid", t->dir, tag);
	unlink(pidfile);
	snprintf(script, sizeof(script),
		 "(setsid sh -c 'sleep 300 & echo $! > %s.tmp; mv %s.tmp %s; wait' &) ; sleep 300",
		 pidfile, pidfile, pidfile);
	struct run r = {0};
	struct agent_exec_req req = {.shell = script, .timeout_ns = 700 * NSEC_PER_MSEC};
	uint64_t t0 = util_now_ns();
	CHECK(t, run_cmd(c, &req, &r) == 0, "timed-out command never finished");
	uint64_t ms = (util_now_ns() - t0) / NSEC_PER_MSEC;
	CHECK(t, r.ex.how == AGENT_EXIT_TIMED_OUT, "how %d code %d", r.ex.how, r.ex.code);
	CHECK(t, r.ex.raw.flags & PROTO_EXIT_TIMED_OUT, "agent did not flag the timeout");
	CHECK(t, ms >= 650 && ms < 4000, "finished after %llu ms", (unsigned long long)ms);
	long gc = read_pid_file(pidfile);
	CHECK(t, gc > 1, "grandchild pid file %s missing", pidfile);
	CHECK(t, pid_gone((pid_t)gc), "double-forked grandchild %ld survived the timeout (%s)", gc,
	      tag);
	return 0;
}

static int t_timeout(struct ctx *t, struct agent_client *c)
{
	printf("#   default agent kills through %s\n", agent_client_caps(c) & PROTO_CAP_CGROUP
							   ? "a cgroup v2 per EXEC"
							   : "the shim's subreaper tracking");
	if (timeout_case(t, c, "default"))
		return -1;
	/* The same without cgroups: the shim's subreaper tracking. */
	char sock2[200];
	snprintf(sock2, sizeof(sock2), "%s/nocg.sock", t->dir);
	pid_t keep = t->agent;
	CHECK(t, start_agent_at(t, sock2, "--no-cgroup") == 0, "second agent did not start");
	char spec[220];
	snprintf(spec, sizeof(spec), "unix:%s", sock2);
	struct agent_client *c2 = connect_to(t, spec);
	int rc = c2 && agent_client_wait_ready(c2) == 0 ? 0 : -1;
	if (rc)
		check_fail(t, __FILE__, __LINE__, "connect to the --no-cgroup agent");
	else
		rc = timeout_case(t, c2, "nocgroup");
	agent_client_destroy(c2);
	stop_agent(t, SIGTERM);
	t->agent = keep;
	return rc;
}

static int t_kill(struct ctx *t, struct agent_client *c)
{
	struct run r = {0};
	uint32_t ch;
	struct agent_exec_req req = {
	    .shell = "trap 'exit 3' USR2; sleep 100 & wait", .ops = &run_ops, .opaque = &r};
	CHECK(t, agent_client_exec(c, &req, &ch) == 0, "exec");
	CHECK(t, wait_for(c, &r.started, WAIT_NS), "no STARTED");
	usleep(100 * 1000);
	CHECK(t, agent_client_kill(c, ch, SIGTERM) == 0, "kill");
	CHECK(t, wait_for(c, &r.done, WAIT_NS), "no EXIT after KILL");
	CHECK(t, r.ex.how == AGENT_EXIT_KILLED && r.ex.code == SIGTERM, "how %d code %d", r.ex.how,
	      r.ex.code);
	CHECK(t, pid_gone((pid_t)r.pid), "process %u still alive", r.pid);
	/* KILL of an unknown channel is refused by the client. */
	CHECK(t, agent_client_kill(c, 9999, SIGKILL) == -ENOENT, "kill unknown channel");
	return 0;
}

static int t_env_cwd(struct ctx *t, struct agent_client *c)
{
	const char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
	struct run r = {0};
	struct agent_exec_req req = {
	    .shell = "echo \"$FOO|$PWD|$PATH|${HOME:-unset}\"; pwd -P", .env = env, .cwd = "/tmp"};
	CHECK(t, run_cmd(c, &req, &r) == 0, "did not finish");
	char *real = realpath("/tmp", NULL);
	char want[512];
	snprintf(want, sizeof(want), "bar baz|/tmp|/usr/bin:/bin|/root\n%s\n", real);
	free(real);
	CHECK(t, !strcmp(sb_str(&r.out), want), "got '%s' want '%s'", sb_str(&r.out), want);
	run_release(&r);
	/* argv is passed verbatim, no shell involved. */
	const char *argv[] = {"printf", "%s|", "a b", "", "$HOME", NULL};
	struct run r2 = {0};
	struct agent_exec_req req2 = {.argv = argv};
	CHECK(t, run_cmd(c, &req2, &r2) == 0 && !strcmp(sb_str(&r2.out), "a b||$HOME|"),
	      "argv '%s'", sb_str(&r2.out));
	run_release(&r2);
	/* A missing cwd is a spawn failure naming ENOENT. */
	struct run r3 = {0};
	struct agent_exec_req req3 = {.argv = argv, .cwd = "/no/such/dir"};
	CHECK(t,
	      run_cmd(c, &req3, &r3) == 0 && r3.ex.how == AGENT_EXIT_SPAWN_FAILED &&
		  r3.ex.sys_errno == ENOENT,
	      "bad cwd: how %d errno %d", r3.ex.how, r3.ex.sys_errno);
	return 0;
}

static int t_uid_gid(struct ctx *t, struct agent_client *c)
{
	if (geteuid() != 0) {
		printf("# SKIP uid/gid: the agent must run as root to switch users\n");
		return 0;
	}
	struct run r = {0};
	struct agent_exec_req req = {.shell = "id -u; id -g; id -G",
				     .set_uid = true,
				     .uid = 65534,
				     .set_gid = true,
				     .gid = 65533};
	CHECK(t, run_cmd(c, &req, &r) == 0, "did not finish");
	CHECK(t, r.ex.how == AGENT_EXIT_EXITED && r.ex.code == 0, "how %d code %d: %s", r.ex.how,
	      r.ex.code, sb_str(&r.err));
	CHECK(t, !strcmp(sb_str(&r.out), "65534\n65533\n65533\n"),
	      "ids '%s' (supplementary groups must be dropped)", sb_str(&r.out));
	run_release(&r);
	return 0;
}

/* Raw protocol access for hostile frames. */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	struct timeval tv = {5, 0};
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int raw_send(int fd, uint16_t type, uint32_t ch, const void *p, uint32_t len, uint32_t hlen)
{
	uint8_t h[PROTO_HDR_SIZE];
	struct proto_hdr hdr = {.length = hlen, .type = type, .channel = ch};
	proto_hdr_encode(&hdr, h);
	if (util_write_all(fd, h, sizeof(h)))
		return -1;
	return len ? util_write_all(fd, p, len) : 0;
}

/* Reads the next frame (blocking, 5 s timeout). */
static int raw_recv(int fd, struct proto_reader *rd, struct proto_msg *m)
{
	for (;;) {
		int rc = proto_reader_next(rd, m);
		if (rc != -EAGAIN)
			return rc;
		rc = proto_reader_fill(rd, fd);
		if (rc)
			return rc;
	}
}

static int t_malformed(struct ctx *t, struct agent_client *c)
{
	struct proto_reader rd = {0};
	struct proto_msg m;
	int fd = raw_connect(t->sock);
	CHECK(t, fd >= 0, "raw connect");
	/* Before HELLO: refused, connection stays. */
	uint8_t cookie[8] = {1};
	raw_send(fd, PROTO_PING, 0, cookie, 8, 8);
	CHECK(t,
	      raw_recv(fd, &rd, &m) == 0 && m.hdr.type == PROTO_ERROR &&
		  m.u.error.code == PROTO_E_STATE,
	      "PING before HELLO: type %u", m.hdr.type);
	struct strbuf sb = {0};
	struct proto_msg hello = {.hdr = {.type = PROTO_HELLO}};
	hello.u.hello.version_min = hello.u.hello.version_max = PROTO_VERSION;
	proto_encode_sb(&hello, &sb);
	util_write_all(fd, sb.buf, sb.len);
	sb_release(&sb);
	CHECK(t, raw_recv(fd, &rd, &m) == 0 && m.hdr.type == PROTO_HELLO, "no HELLO reply");
	/* A malformed EXEC: argv count past the payload. */
	uint8_t bad[40] = {0};
	bad[32] = 0xff, bad[33] = 0xff, bad[34] = 0xff, bad[35] = 0x7f;
	raw_send(fd, PROTO_EXEC, 5, bad, sizeof(bad), sizeof(bad));
	CHECK(t,
	      raw_recv(fd, &rd, &m) == 0 && m.hdr.type == PROTO_ERROR &&
		  m.u.error.code == PROTO_E_MALFORMED && m.hdr.channel == 5,
	      "malformed EXEC: type %u code %u", m.hdr.type, m.u.error.code);
	/* An unknown type. */
	raw_send(fd, 4000, 0, "xyz", 3, 3);
	CHECK(t, raw_recv(fd, &rd, &m) == 0 && m.u.error.code == PROTO_E_UNKNOWN_TYPE,
	      "unknown type: code %u", m.u.error.code);
	/* A frame only the agent sends. */
	raw_send(fd, PROTO_STDOUT, 1, "x", 1, 1);
	CHECK(t, raw_recv(fd, &rd, &m) == 0 && m.u.error.code == PROTO_E_STATE, "STDOUT to agent");
	/* Still alive on this connection. */
	raw_send(fd, PROTO_PING, 0, cookie, 8, 8);
	CHECK(t, raw_recv(fd, &rd, &m) == 0 && m.hdr.type == PROTO_PONG,
	      "no PONG after bad frames");
	/* Oversized: ERROR, then the connection closes. */
	raw_send(fd, PROTO_STDIN, 1, NULL, 0, 0x7fffffff);
	CHECK(t, raw_recv(fd, &rd, &m) == 0 && m.u.error.code == PROTO_E_TOO_LARGE, "oversized");
	CHECK(t, raw_recv(fd, &rd, &m) == -EPIPE, "connection not closed after an oversized frame");
	close(fd);
	proto_reader_release(&rd);
	/* Garbage then hang-up mid-frame. */
	fd = raw_connect(t->sock);
	CHECK(t, fd >= 0, "raw connect 2");
	util_write_all(fd, "\x10\x00\x00\x00\x10\x00", 6);
	close(fd);
	/* The agent is alive and the other client unaffected. */
	CHECK(t, agent_client_sync_ping(c) == 0, "agent dead after malformed frames");
	CHECK(t, kill(t->agent, 0) == 0, "agent process gone");
	return 0;
}

struct waitres {
	bool done;
	int rc;
};

static void cb(void *o, struct agent_client *cc, int result, const struct proto_error *e)
{
	struct waitres *w = o;
	(void)cc;
	(void)e;
	w->done = true;
	w->rc = result;
}

static int t_control(struct ctx *t, struct agent_client *c)
{
	CHECK(t, agent_client_sync_ping(c) == 0, "ping");
	CHECK(t, agent_client_caps(c) & PROTO_CAP_EXEC, "no EXEC capability");
	CHECK(t, strstr(agent_client_software(c), "smoltest-agent") != NULL, "software '%s'",
	      agent_client_software(c));
	/* System changes are refused by a plain-process agent. */
	struct waitres w = {false, 0};
	CHECK(t, agent_client_set_hostname(c, "nope", cb, &w) == 0, "send");
	CHECK(t, wait_for(c, &w.done, WAIT_NS) && w.rc == -EPERM, "SET_HOSTNAME: %d", w.rc);
	/* QUIESCE refuses EXEC until RESUMED. */
	w.done = false;
	CHECK(t, agent_client_quiesce(c, cb, &w) == 0 && wait_for(c, &w.done, WAIT_NS) && w.rc == 0,
	      "quiesce: %d", w.rc);
	struct run r = {0};
	CHECK(t,
	      run_sh(c, "true", &r) == 0 && r.ex.how == AGENT_EXIT_SPAWN_FAILED &&
		  r.ex.sys_errno == EAGAIN,
	      "EXEC while quiesced: how %d errno %d", r.ex.how, r.ex.sys_errno);
	w.done = false;
	CHECK(t, agent_client_resumed(c, cb, &w) == 0 && wait_for(c, &w.done, WAIT_NS) && w.rc == 0,
	      "resumed: %d", w.rc);
	struct run r2 = {0};
	CHECK(t, run_sh(c, "exit 5", &r2) == 0 && r2.ex.code == 5, "EXEC after RESUMED");
	return 0;
}

/* With namespaces (root), the system requests really apply, inside them. */
static int t_system(struct ctx *t, struct agent_client *unused)
{
	(void)unused;
	if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0) {
		printf("# SKIP system requests: needs root and unshare(1)\n");
		return 0;
	}
	char sock[200], spec[220], mnt[200];
	snprintf(sock, sizeof(sock), "%s/sys.sock", t->dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", t->dir);
	pid_t keep = t->agent;
	pid_t pid = fork();
	if (pid == 0) {
		char listen[220];
		snprintf(listen, sizeof(listen), "unix:%s", sock);
		execl("/usr/bin/unshare", "unshare", "--uts", "--mount", "--propagation", "private",
		      t->agent_bin, "--listen", listen, "--allow-system", (char *)NULL);
		_exit(127);
	}
	t->agent = pid;
	for (int i = 0; i < 300 && access(sock, F_OK); i++)
		usleep(10000);
	snprintf(spec, sizeof(spec), "unix:%s", sock);
	struct agent_client *c = connect_to(t, spec);
	int rc = -1;
	if (!c || agent_client_wait_ready(c)) {
		check_fail(t, __FILE__, __LINE__, "agent under unshare did not come up");
		goto out;
	}
	struct waitres w = {false, 0};
	if (agent_client_set_hostname(c, "smol-fork-7", cb, &w) || !wait_for(c, &w.done, WAIT_NS) ||
	    w.rc) {
		if (w.rc == -EPERM) {
			printf("# SKIP system requests: unshare gave no CAP_SYS_ADMIN\n");
			rc = 0;
			goto out;
		}
		check_fail(t, __FILE__, __LINE__, "SET_HOSTNAME: %d", w.rc);
		goto out;
	}
	struct run r = {0};
	if (run_sh(c, "hostname", &r) || strcmp(sb_str(&r.out), "smol-fork-7\n")) {
		check_fail(t, __FILE__, __LINE__, "hostname in the namespace: '%s'",
			   sb_str(&r.out));
		goto out;
	}
	run_release(&r);
	w.done = false;
	if (agent_client_mount(c, "tmpfs", "smoltest", mnt, true, "size=1m", cb, &w) ||
	    !wait_for(c, &w.done, WAIT_NS) || w.rc) {
		check_fail(t, __FILE__, __LINE__, "MOUNT tmpfs: %d", w.rc);
		goto out;
	}
	struct run r2 = {0};
	char script[300];
	snprintf(script, sizeof(script), "grep ' %s tmpfs ro,' /proc/self/mounts | wc -l", mnt);
	if (run_sh(c, script, &r2) || strcmp(sb_str(&r2.out), "1\n")) {
		check_fail(t, __FILE__, __LINE__, "read-only tmpfs not mounted: '%s'",
			   sb_str(&r2.out));
		goto out;
	}
	run_release(&r2);
	w.done = false;
	if (agent_client_mount(c, "virtiofs", "no-such-tag", mnt, false, NULL, cb, &w) ||
	    !wait_for(c, &w.done, WAIT_NS) || w.rc >= 0) {
		check_fail(t, __FILE__, __LINE__, "MOUNT of a missing virtio-fs tag succeeded");
		goto out;
	}
	uint8_t entropy[64];
	for (size_t i = 0; i < sizeof(entropy); i++)
		entropy[i] = (uint8_t)(i * 37 + 11);
	w.done = false;
	if (agent_client_reseed(c, entropy, sizeof(entropy), cb, &w) ||
	    !wait_for(c, &w.done, WAIT_NS) || w.rc) {
		check_fail(t, __FILE__, __LINE__, "RESEED: %d", w.rc);
		goto out;
	}
	/* SET_TIME is not exercised: CLOCK_REALTIME has no namespace, and the
	 * test must not move the host's clock. */
	rc = 0;
out:
	agent_client_destroy(c);
	stop_agent(t, SIGTERM);
	t->agent = keep;
	return rc;
}

/* A fake VMM for hybrid vsock: accepts on UDS, expects "CONNECT <port>\n",
 * answers "OK 1073741824\n", then relays bytes to the agent's socket. */
static pid_t fake_vmm(const char *uds, const char *agent_sock, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(uds);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	for (;;) {
		int a = accept(l, NULL, NULL);
		if (a < 0)
			_exit(1);
		char line[64];
		size_t n = 0;
		while (n < sizeof(line) - 1 && read(a, line + n, 1) == 1 && line[n] != '\n')
			n++;
		line[n] = '\0';
		char want[32];
		snprintf(want, sizeof(want), "CONNECT %u", port);
		if (strcmp(line, want)) {
			close(a); /* wrong port: refuse like a VMM would */
			continue;
		}
		int b = raw_connect(agent_sock);
		if (b < 0) {
			close(a);
			continue;
		}
		util_write_all(a, "OK 1073741824\n", 14);
		struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
		char buf[65536];
		for (bool open_ = true; open_;) {
			if (poll(p, 2, -1) < 0)
				break;
			for (int i = 0; i < 2; i++) {
				if (!(p[i].revents & (POLLIN | POLLHUP)))
					continue;
				ssize_t k = read(p[i].fd, buf, sizeof(buf));
				if (k <= 0 || util_write_all(p[1 - i].fd, buf, (size_t)k)) {
					open_ = false;
					break;
				}
			}
		}
		close(a);
		close(b);
	}
}

static int t_hybrid_vsock(struct ctx *t, struct agent_client *unused)
{
	(void)unused;
	char uds[200], spec[240];
	snprintf(uds, sizeof(uds), "%s/vm.vsock", t->dir);
	pid_t vmm = fake_vmm(uds, t->sock, 1024);
	CHECK(t, vmm > 0, "fake VMM");
	snprintf(spec, sizeof(spec), "vsock:%s:1024", uds);
	struct agent_client *c = connect_to(t, spec);
	int ready = c ? agent_client_wait_ready(c) : -1;
	struct run r = {0};
	int rc = ready == 0 ? run_sh(c, "echo via-vsock", &r) : -1;
	agent_client_destroy(c);
	/* A wrong port is refused, and the client gives up at its timeout. */
	snprintf(spec, sizeof(spec), "vsock:%s:7", uds);
	struct agent_client_config cfg = {.connect_timeout_ns = 300 * NSEC_PER_MSEC};
	agent_addr_parse(spec, &cfg.addr);
	struct agent_client *bad = NULL;
	int bad_rc = agent_client_create(&cfg, &bad) ? -1 : agent_client_wait_ready(bad);
	agent_client_destroy(bad);
	kill(vmm, SIGKILL);
	waitpid(vmm, NULL, 0);
	CHECK(t, ready == 0, "hybrid connect failed: %d", ready);
	CHECK(t, rc == 0 && !strcmp(sb_str(&r.out), "via-vsock\n"), "exec over hybrid vsock: '%s'",
	      sb_str(&r.out));
	run_release(&r);
	CHECK(t, bad_rc == -ETIMEDOUT, "wrong port: %d", bad_rc);
	return 0;
}

static int t_restart(struct ctx *t, struct agent_client *c)
{
	/* A running EXEC is reported LOST when the agent dies. */
	struct run r = {0};
	uint32_t ch;
	struct agent_exec_req req = {.shell = "sleep 100", .ops = &run_ops, .opaque = &r};
	CHECK(t, agent_client_exec(c, &req, &ch) == 0, "exec");
	CHECK(t, wait_for(c, &r.started, WAIT_NS), "no STARTED");
	uint32_t sleeper = r.pid;
	stop_agent(t, SIGKILL);
	CHECK(t, wait_for(c, &r.done, WAIT_NS), "no EXIT after the agent died");
	CHECK(t, r.ex.how == AGENT_EXIT_LOST, "how %d", r.ex.how);
	CHECK(t, agent_client_state(c) == AGENT_CLIENT_CLOSED, "client not closed");
	/* The shim noticed its agent died and killed the command. */
	CHECK(t, pid_gone((pid_t)sleeper), "command %u outlived its agent", sleeper);
	/* Reconnect: the client retries until the restarted agent listens. */
	unlink(t->sock);
	CHECK(t, agent_client_reconnect(c) == 0, "reconnect");
	usleep(200 * 1000);
	CHECK(t, start_agent(t, NULL) == 0, "agent restart");
	CHECK(t, agent_client_wait_ready(c) == 0, "not ready after restart: %d",
	      agent_client_error(c));
	struct run r2 = {0};
	CHECK(t, run_sh(c, "echo again", &r2) == 0 && !strcmp(sb_str(&r2.out), "again\n"),
	      "exec after reconnect: '%s'", sb_str(&r2.out));
	run_release(&r2);
	return 0;
}

static int t_shutdown(struct ctx *t, struct agent_client *c)
{
	CHECK(t, agent_client_sync_shutdown(c, PROTO_SHUTDOWN_POWEROFF) == 0,
	      "shutdown not acknowledged");
	int st = stop_agent(t, 0);
	CHECK(t, WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status %d", st);
	CHECK(t, start_agent(t, NULL) == 0, "agent restart after shutdown");
	return 0;
}

struct test {
	const char *name;
	int (*fn)(struct ctx *, struct agent_client *);
};

static const struct test tests[] = {
    {"exit_codes", t_exit_codes}, {"signals", t_signals},
    {"streaming", t_streaming},	  {"large_output", t_large_output},
    {"stdin", t_stdin},		  {"concurrent", t_concurrent},
    {"timeout", t_timeout},	  {"kill", t_kill},
    {"env_cwd", t_env_cwd},	  {"uid_gid", t_uid_gid},
    {"malformed", t_malformed},	  {"control", t_control},
    {"system", t_system},	  {"hybrid_vsock", t_hybrid_vsock},
    {"restart", t_restart},	  {"shutdown", t_shutdown},
};

static bool selected(int argc, char **argv, const char *name)
{
	if (argc <= 2)
		return true;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: agent_itest AGENT_BINARY [TEST...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct ctx t = {.agent_bin = argv[1]};
	if (access(t.agent_bin, X_OK)) {
		fprintf(stderr, "agent_itest: %s is not an executable; build smoltest_agent\n",
			t.agent_bin);
		return 1;
	}
	snprintf(t.dir, sizeof(t.dir), "/tmp/smol-agent-itest-XXXXXX");
	if (!mkdtemp(t.dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(t.sock, sizeof(t.sock), "%s/agent.sock", t.dir);
	if (start_agent(&t, NULL)) {
		fprintf(stderr, "agent_itest: %s did not start listening\n", t.agent_bin);
		return 1;
	}
	int n = 0, failed = 0;
	printf("1..%zu\n", sizeof(tests) / sizeof(tests[0]));
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!selected(argc, argv, tests[i].name)) {
			printf("ok %zu - %s # SKIP not selected\n", i + 1, tests[i].name);
			continue;
		}
		if (t.agent <= 0 && start_agent(&t, NULL)) {
			printf("not ok %zu - %s (agent would not start)\n", i + 1, tests[i].name);
			failed++;
			continue;
		}
		struct agent_client *c = connect_agent(&t);
		uint64_t t0 = util_now_ns();
		int rc =
		    c ? tests[i].fn(&t, c) : check_fail(&t, __FILE__, __LINE__, "cannot connect");
		agent_client_destroy(c);
		n++;
		printf("%s %zu - %s (%llu ms)\n", rc ? "not ok" : "ok", i + 1, tests[i].name,
		       (unsigned long long)((util_now_ns() - t0) / NSEC_PER_MSEC));
		fflush(stdout);
		failed += rc != 0;
	}
	int st = stop_agent(&t, SIGTERM);
	if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		printf("# agent exit status %d after SIGTERM (want 0)\n", st);
		failed++;
	}
	util_rm_rf(t.dir);
	printf("# %d run, %d failed\n", n, failed);
	return failed ? 1 : 0;
}
