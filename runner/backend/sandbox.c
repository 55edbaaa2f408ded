/* sandbox: the sandbox backend, runner side (sandbox.h, backend.h).
 *
 * Directory layout of a run (run_dir, private to the run):
 *   i<N>/agent.sock  the agent's socket, bound by the monitor, which hands
 *                    the agent its fd; in the monitor's own mount
 *                    namespace a tmpfs over i<N> holds the overlay's mount
 *                    point and the instance's copy-on-write layer
 *                    (sandbox_ns.c, setup_scratch)
 * The agent's log is a memfd the runner keeps (diagnose reads its end).
 * A template's layer directory (the cache entry being built) holds upper/
 * and work/; freezing deletes work/ so that upper/ becomes a lower layer. */
#include "backend/backend.h"
#include "backend/cgroup.h"
#include "backend/sandbox.h"
#include "cache/runreg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_MAX_WARNINGS 8

struct sandbox {
	char *agent_path;
	char *warned[SANDBOX_MAX_WARNINGS]; /* host limitations already reported */
	unsigned seq;
	bool started_one;     /* an instance has started: later ones start without waiting */
	struct cgroup_run cg; /* per-run cgroup, or disabled */
};

struct sandbox_inst {
	char dir[512]; /* i<N> in the run dir; "" for none */
	char upper[512], work[512];
	pid_t monitor;	   /* our child; it owns the init and the teardown (sandbox_ns.c) */
	pid_t init;	   /* the sandbox's PID 1 as the host sees it, once read */
	int mon_pidfd;	   /* of the monitor: the instance's death_fd */
	int status_fd;	   /* the monitor's status pipe (non-blocking), -1 at its end */
	int ready_fd;	   /* the ready pipe's read end: EOF once the agent listens */
	int log_fd;	   /* memfd: the agent's stdout and stderr */
	char status[8192]; /* what the status pipe said */
	size_t status_len;
	char cgroup[1300];
};

static int mkdir_in(const char *base, const char *name, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s", base, name) >= len)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static void inst_free(struct sandbox_inst *si)
{
	if (!si)
		return;
	if (si->mon_pidfd >= 0)
		close(si->mon_pidfd);
	if (si->status_fd >= 0)
		close(si->status_fd);
	if (si->ready_fd >= 0)
		close(si->ready_fd);
	if (si->log_fd >= 0)
		close(si->log_fd);
	free(si);
}

/* Prints a host limitation once per run. */
static void warn_once(struct sandbox *box, const char *msg)
{
	size_t i;
	for (i = 0; i < SANDBOX_MAX_WARNINGS && box->warned[i]; i++)
		if (!strcmp(box->warned[i], msg))
			return;
	if (i < SANDBOX_MAX_WARNINGS)
		box->warned[i] = strdup(msg);
	fprintf(stderr, "smoltest: sandbox: %s\n", msg);
}

/* Reads what the monitor wrote to its status pipe; with block, until its
 * end (the init has exec'd the agent, or the instance failed). */
static void status_read(struct sandbox_inst *si, bool block)
{
	while (si->status_fd >= 0) {
		ssize_t n = read(si->status_fd, si->status + si->status_len,
				 sizeof(si->status) - 1 - si->status_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = si->status_fd, .events = POLLIN};
			if (block && (poll(&p, 1, -1) >= 0 || errno == EINTR))
				continue;
			break;
		}
		if (n > 0)
			si->status_len += (size_t)n;
		if (n <= 0 || si->status_len == sizeof(si->status) - 1) {
			close(si->status_fd);
			si->status_fd = -1;
		}
	}
	si->status[si->status_len] = '\0';
}

/* Parses the complete status: "P<pid>" lines, "W<warning>" (reported once
 * per run) and "E<msg>" (the first goes to err). */
static int status_parse(struct sandbox *box, struct sandbox_inst *si, char *err, size_t errlen)
{
	const char *errline = NULL;
	size_t errline_len = 0;
	si->init = 0;
	for (const char *line = si->status; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char text[1024];
		snprintf(text, sizeof(text), "%.*s", (int)len, line);
		if (text[0] == 'P')
			si->init = (pid_t)atoi(text + 1);
		else if (text[0] == 'E' && !errline) {
			errline = line + 1;
			errline_len = len - 1;
		} else if (text[0] == 'W')
			warn_once(box, text + 1);
		if (!nl)
			break;
		line = nl + 1;
	}
	if (errline) {
		snprintf(err, errlen, "sandbox: %.*s", (int)errline_len, errline);
		return -EIO;
	}
	if (si->init <= 0) {
		snprintf(err, errlen, "sandbox: the instance died while starting");
		return -EIO;
	}
	return 0;
}

/* Stops the instance: the monitor kills the init on SIGTERM and removes
 * the instance's cgroup and layer before it exits. */
static void inst_kill_and_reap(struct sandbox_inst *si)
{
	if (si->cgroup[0])
		cgroup_kill(si->cgroup);
	if (si->monitor > 0) {
		/* our unreaped child: its pid cannot have been reused */
		kill(si->monitor, SIGTERM);
		bool gone = false;
		if (si->mon_pidfd >= 0) {
			struct pollfd pfd = {.fd = si->mon_pidfd, .events = POLLIN};
			int n;
			while ((n = poll(&pfd, 1, 10000)) < 0 && errno == EINTR)
				;
			gone = n > 0;
		}
		/* a monitor that does not finish: its death takes the init
		 * (PDEATHSIG); the rm -rf at stop removes what it left */
		if (!gone)
			kill(si->monitor, SIGKILL);
		while (waitpid(si->monitor, NULL, 0) < 0 && errno == EINTR)
			;
		si->monitor = 0;
	}
	if (si->cgroup[0]) {
		cgroup_remove(si->cgroup); /* the monitor's: usually gone already */
		si->cgroup[0] = '\0';
	}
}

/* Starts the instance's monitor: the agent binary with the spec in argv
 * and fds[] (status pipe, log, ready pipe) at SANDBOX_FD_*, through posix_spawn
 * (CLONE_VM|CLONE_VFORK: no copy of the runner's address space, sandbox.h).
 * 0 or -errno. */
static int spawn_monitor(const char *agent, const struct sandbox_spec *spec, const int fds[3],
			 pid_t *pid)
{
	static const int at[3] = {SANDBOX_FD_STATUS, SANDBOX_FD_LOG, SANDBOX_FD_READY};
	char parent[24], **argv = NULL;
	int hi[3] = {-1, -1, -1}, rc;
	posix_spawn_file_actions_t fa;
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	if ((rc = sandbox_monitor_argv(spec, parent, &argv)))
		return rc;
	if ((rc = -posix_spawn_file_actions_init(&fa))) {
		free(argv);
		return rc;
	}
	/* above the targets first, so that no dup2 overwrites a source */
	for (int k = 0; k < 3 && !rc; k++)
		if ((hi[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, 10)) < 0)
			rc = -errno;
	for (int k = 0; k < 3 && !rc; k++)
		rc = -posix_spawn_file_actions_adddup2(&fa, hi[k], at[k]);
	char *envp[] = {NULL};
	if (!rc)
		rc = -posix_spawn(pid, agent, &fa, NULL, argv, envp);
	for (int k = 0; k < 3; k++)
		if (hi[k] >= 0)
			close(hi[k]);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	return rc;
}

static int sandbox_start(struct backend *b, const struct backend_instance_opts *o,
			 struct backend_instance **out, char *err, size_t errlen)
{
	struct sandbox *box = b->priv;
	const struct suite *s = b->suite;
	struct backend_instance *bi = calloc(1, sizeof(*bi));
	struct sandbox_inst *si = calloc(1, sizeof(*si));
	int rc, status[2] = {-1, -1}, ready[2] = {-1, -1};
	struct sandbox_share *shares = NULL;

	if (!bi || !si) {
		rc = -ENOMEM;
		goto fail;
	}
	si->mon_pidfd = -1;
	si->status_fd = -1;
	si->ready_fd = -1;
	si->log_fd = -1;
	snprintf(si->dir, sizeof(si->dir), "%s/i%u", b->run_dir, ++box->seq);
	if (mkdir(si->dir, 0700)) {
		rc = -errno;
		snprintf(err, errlen, "sandbox: cannot create %s: %s", si->dir, strerror(-rc));
		si->dir[0] = '\0';
		goto fail;
	}
	if ((size_t)snprintf(bi->endpoint.unix_path, sizeof(bi->endpoint.unix_path), "%s/%s",
			     si->dir, SANDBOX_AGENT_SOCK) >= sizeof(bi->endpoint.unix_path)) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen,
			 "sandbox: socket path under %s is too long; set TMPDIR to a "
			 "shorter directory",
			 si->dir);
		goto fail;
	}
	if (o->template_mode &&
	    ((rc = mkdir_in(o->layer_dir, "upper", si->upper, sizeof(si->upper))) ||
	     (rc = mkdir_in(o->layer_dir, "work", si->work, sizeof(si->work)))))
		goto fail_dir;
	if (o->template_mode && (rc = sandbox_opaque_tmp(si->upper))) {
		snprintf(err, errlen, "sandbox: cannot prepare %s/tmp (overlay opaque xattr): %s",
			 si->upper, strerror(-rc));
		goto fail;
	}
	if (o->artifact_dir && (rc = util_mkdir_p(o->artifact_dir, 0755))) {
		snprintf(err, errlen, "sandbox: cannot create artifact directory %s: %s",
			 o->artifact_dir, strerror(-rc));
		goto fail;
	}
	char procs[1400] = "", events[1400] = "";
	if (box->cg.enabled &&
	    cgroup_instance_create(&box->cg, box->seq, si->cgroup, sizeof(si->cgroup)) == 0) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", si->cgroup);
		if (box->cg.memory_events)
			snprintf(events, sizeof(events), "%s/memory.events", si->cgroup);
	}
	si->log_fd = memfd_create("smoltest-agent.log", MFD_CLOEXEC);
	if (si->log_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "sandbox: cannot create the agent's log (memfd): %s",
			 strerror(errno));
		goto fail;
	}
	/* The agent closes the ready pipe's write end once it listens: the
	 * runner connects then, instead of polling for the socket (an
	 * inotify instance per test cost an SRCU grace period in the loop's
	 * close()). */
	if (pipe2(status, O_CLOEXEC) || pipe2(ready, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		goto fail;
	}
	char host[64];
	suite_name_to_path(o->name, host, sizeof(host));
	char layer[600];
	snprintf(layer, sizeof(layer), "%s/upper", o->layer_dir ? o->layer_dir : "");
	shares = calloc(s->n_shares + 1, sizeof(*shares));
	if (!shares) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t k = 0; k < s->n_shares; k++)
		shares[k] = (struct sandbox_share){.host = s->shares[k].host,
						   .guest = s->shares[k].guest,
						   .readonly = s->shares[k].readonly};
	struct sandbox_spec spec = {
	    .rootfs = s->sandbox.rootfs,
	    .layer = !o->template_mode && o->layer_dir ? layer : NULL,
	    .inst_dir = si->dir,
	    .upper = o->template_mode ? si->upper : NULL,
	    .work = o->template_mode ? si->work : NULL,
	    .opaque_tmp = !o->template_mode && !o->layer_dir,
	    .memory_events = events[0] ? events : NULL,
	    .artifact_dir = o->artifact_dir,
	    .shares = shares,
	    .n_shares = s->n_shares,
	    .hostname = host[0] ? host : "sandbox",
	    .cgroup_procs = procs[0] ? procs : NULL,
	    .cgroup_dir = procs[0] ? si->cgroup : NULL,
	};
	pid_t pid;
	if ((rc = spawn_monitor(box->agent_path, &spec, (int[]){status[1], si->log_fd, ready[1]},
				&pid))) {
		snprintf(err, errlen, "sandbox: cannot start the instance's monitor %s %s: %s",
			 box->agent_path, SANDBOX_MONITOR_ARG, strerror(-rc));
		goto fail;
	}
	free(shares);
	shares = NULL;
	si->monitor = pid;
	close(status[1]);
	status[1] = -1;
	close(ready[1]);
	ready[1] = -1;
	si->ready_fd = ready[0];
	ready[0] = -1;
	si->status_fd = status[0];
	status[0] = -1;
	fcntl(si->status_fd, F_SETFL, O_NONBLOCK);
	si->mon_pidfd = pidfd_open(pid, 0);
	if (si->mon_pidfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "sandbox: pidfd_open of the instance's monitor: %s",
			 strerror(errno));
		goto fail;
	}
	/* The first instance is awaited so that a host that cannot build one
	 * fails the run at once (exit 3); later ones build beside the loop,
	 * and a failure is that test's error, told by diagnose. */
	if (!box->started_one) {
		status_read(si, true);
		if ((rc = status_parse(box, si, err, errlen)))
			goto fail;
		box->started_one = true;
	}
	bi->backend = b;
	bi->death_fd = si->mon_pidfd;
	bi->ready_fd = si->ready_fd;
	bi->priv = si;
	snprintf(bi->name, sizeof(bi->name), "%s", o->name);
	*out = bi;
	return 0;

fail_dir:
	snprintf(err, errlen, "sandbox: cannot create the instance's directories in %s: %s",
		 si->dir, strerror(-rc));
fail:
	if (status[0] >= 0)
		close(status[0]);
	if (status[1] >= 0)
		close(status[1]);
	for (int k = 0; k < 2; k++)
		if (ready[k] >= 0)
			close(ready[k]);
	free(shares);
	if (si) {
		inst_kill_and_reap(si);
		if (si->dir[0])
			util_rm_rf(si->dir);
	}
	inst_free(si);
	free(bi);
	return rc;
}

static void sandbox_kill(struct backend *b, struct backend_instance *bi)
{
	struct sandbox_inst *si = bi->priv;
	(void)b;
	if (si->cgroup[0])
		cgroup_kill(si->cgroup);
	if (si->monitor > 0)
		kill(si->monitor, SIGTERM); /* our unreaped child */
}

static void sandbox_stop(struct backend *b, struct backend_instance *bi)
{
	if (!bi)
		return;
	struct sandbox_inst *si = bi->priv;
	inst_kill_and_reap(si);
	status_read(si, false);
	char unused[8];
	status_parse(b->priv, si, unused, sizeof(unused)); /* its warnings */
	if (si->dir[0])
		util_rm_rf(si->dir);
	inst_free(si);
	free(bi);
}

static int sandbox_freeze(struct backend *b, struct backend_instance *bi, char *err, size_t errlen)
{
	struct sandbox_inst *si = bi->priv;
	char work[sizeof(si->work)];
	snprintf(work, sizeof(work), "%s", si->work);
	sandbox_stop(b, bi);
	/* the template's upper dir is now only ever a lower layer */
	int rc = util_rm_rf(work);
	if (rc)
		snprintf(err, errlen,
			 "sandbox: cannot remove the template's overlay workdir %s: %s", work,
			 strerror(-rc));
	return rc;
}

static int sandbox_key(struct backend *b, struct strbuf *key)
{
	const struct suite *s = b->suite;
	struct stat st;
	/* The rootfs is identified by path and root inode; a host rootfs that
	 * changes underneath is the user's to invalidate (cache rm). */
	if (stat(s->sandbox.rootfs, &st) == 0)
		return sb_printf(key, "sandbox rootfs=%s dev=%llu ino=%llu\n", s->sandbox.rootfs,
				 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return sb_printf(key, "sandbox rootfs=%s\n", s->sandbox.rootfs);
}

/* A test in a sandbox cannot keep its agent from the CPU (no real-time
 * class without the host's CAP_SYS_NICE, its tasks bounded by pids.max):
 * a silent agent there is never the test's. */
static bool sandbox_diagnose(struct backend *b, struct backend_instance *bi, char *buf, size_t len)
{
	struct sandbox_inst *si = bi->priv;
	char text[4096];
	struct stat st;
	buf[0] = '\0';
	/* a monitor that failed has exited: its status is complete */
	status_read(si, false);
	if (si->status_fd < 0 && status_parse(b->priv, si, buf, len))
		return false;
	buf[0] = '\0';
	/* the log's last line: pread, for the agent shares the file offset */
	if (si->log_fd < 0 || fstat(si->log_fd, &st) || st.st_size <= 0)
		return false;
	off_t from =
	    st.st_size > (off_t)sizeof(text) - 1 ? st.st_size - (off_t)sizeof(text) + 1 : 0;
	ssize_t got = pread(si->log_fd, text, sizeof(text) - 1, from);
	size_t n = got > 0 ? (size_t)got : 0;
	text[n] = '\0';
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	const char *last = text;
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\n')
			last = text + i + 1;
	if (*last)
		snprintf(buf, len, "agent log: %s", last);
	return false;
}

static void sandbox_destroy(struct backend *b)
{
	struct sandbox *box = b->priv;
	if (box) {
		cgroup_run_destroy(&box->cg);
		for (size_t i = 0; i < SANDBOX_MAX_WARNINGS; i++)
			free(box->warned[i]);
		free(box->agent_path);
		free(box);
	}
	free(b->run_dir);
	free(b);
}

static const struct backend_ops sandbox_ops = {
    .name = "sandbox",
    .instance_start = sandbox_start,
    .instance_kill = sandbox_kill,
    .instance_stop = sandbox_stop,
    .freeze = sandbox_freeze,
    .key_material = sandbox_key,
    .diagnose = sandbox_diagnose,
    .destroy = sandbox_destroy,
};

static bool fs_has_overlay(void)
{
	char *buf = NULL;
	if (util_read_file("/proc/filesystems", 1 << 16, &buf, NULL))
		return true; /* cannot tell: let the mount say */
	bool ok = strstr(buf, "\toverlay\n") != NULL;
	free(buf);
	return ok;
}

int sandbox_backend_create(const struct suite *s, const struct backend_opts *o,
			   struct backend **out, char *err, size_t errlen)
{
	struct stat st;
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "sandbox: needs root on this host: the overlay root uses the host's / "
			 "(with submounts) as its lower layer, which an unprivileged user "
			 "namespace may not mount (run as root, e.g. in the CI container)");
		return -ENOTSUP;
	}
	if (stat(s->sandbox.rootfs, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "sandbox: rootfs %s is not a directory", s->sandbox.rootfs);
		return -ENOTSUP;
	}
	if (strpbrk(s->sandbox.rootfs, ":,\\")) {
		snprintf(err, errlen,
			 "sandbox: rootfs %s contains ':', ',' or '\\', which "
			 "overlayfs options cannot carry",
			 s->sandbox.rootfs);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		const struct suite_share *sh = &s->shares[i];
		if (stat(sh->host, &st) && !sh->readonly && errno == ENOENT)
			util_mkdir_p(sh->host, 0755);
		if (stat(sh->host, &st) || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen,
				 "sandbox: share host directory %s (%s:%u) does not exist",
				 sh->host, s->file, sh->line);
			return -ENOTSUP;
		}
	}
	if (!fs_has_overlay()) {
		snprintf(err, errlen, "sandbox: this kernel has no overlayfs (modprobe overlay)");
		return -ENOTSUP;
	}
	if (access(o->agent_path, X_OK)) {
		snprintf(err, errlen,
			 "sandbox: the agent %s is not executable: %s (build the "
			 "smoltest_agent target or set SMOLTEST_AGENT)",
			 o->agent_path, strerror(errno));
		return -ENOTSUP;
	}
	struct backend *b = calloc(1, sizeof(*b));
	struct sandbox *box = calloc(1, sizeof(*box));
	if (!b || !box || !(b->run_dir = strdup(o->run_dir)) ||
	    !(box->agent_path = strdup(o->agent_path))) {
		if (b)
			free(b->run_dir);
		if (box)
			free(box->agent_path);
		free(b);
		free(box);
		return -ENOMEM;
	}
	b->ops = &sandbox_ops;
	b->suite = s;
	b->priv = box;
	b->caps.cow_disk = true;
	b->caps.user_namespace = true;
	b->caps.isolation = "namespaces";
	b->caps.note = "sandbox: namespaces + overlayfs, weaker isolation than a VM, no memory "
		       "snapshot";
	/* cgroups: used when delegated; everything missing is said once */
	char note[512] = "";
	cgroup_run_init(&box->cg, s->sandbox.memory, s->sandbox.pids, note, sizeof(note));
	/* a runner that is SIGKILLed leaves the (empty) cgroup: the next run
	 * removes it from this record */
	int rc = box->cg.enabled ? runreg_add_path(o->reg, RUNREG_CGROUP, box->cg.path) : 0;
	if (rc)
		fprintf(stderr,
			"smoltest: warning: cannot record the cgroup %s in the run registry: %s\n",
			box->cg.path, strerror(-rc));
	b->caps.cgroup_kill = box->cg.enabled;
	b->caps.cgroup_limits = box->cg.limits;
	if (note[0])
		fprintf(stderr, "smoltest: %s\n", note);
	*out = b;
	return 0;
}
