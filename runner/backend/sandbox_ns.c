/* sandbox_ns: the instance's monitor (see sandbox.h), linked into the
 * static agent binary, which runs it when started as
 * `smoltest-agent --sandbox-monitor ...`, and the argv that carries its
 * spec there, built by the runner (sandbox.c) from the same table.
 *
 * Every failure is written as one line to the status pipe
 * ("E<step>: <target>: <strerror>") and the monitor exits 1; the runner
 * turns it into an infrastructure error naming the step.
 *
 * The monitor also owns the instance's teardown, so that the runner's loop
 * never waits on it: SIGTERM from the runner makes it SIGKILL the init; once
 * the init is reaped (the whole pid namespace is gone by then) it removes the
 * instance cgroup, detaches the overlay and deletes the copy-on-write layer
 * and mount points, then exits, which is what the runner's death_fd (the
 * monitor's pidfd) reports. */
#include "backend/backend.h"
#include "backend/cgroup.h"
#include "backend/sandbox.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SBX_PATH 4096

static void say(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static __attribute__((noreturn)) void die(int fd, const char *step, const char *target, int err)
{
	char buf[SBX_PATH + 256];
	snprintf(buf, sizeof(buf), "E%s: %s: %s\n", step, target ? target : "", strerror(err));
	say(fd, buf);
	_exit(1);
}

/* A step the sandbox can do without: reported ("W...") and skipped. */
static void warn(int fd, const char *step, const char *target, int err)
{
	char buf[SBX_PATH + 256];
	snprintf(buf, sizeof(buf), "W%s %s: %s\n", step, target ? target : "", strerror(err));
	say(fd, buf);
}

static void join(char *dst, const char *a, const char *b)
{
	if ((size_t)snprintf(dst, SBX_PATH, "%s%s%s", a, b[0] == '/' ? "" : "/", b) >= SBX_PATH)
		dst[0] = '\0'; /* an empty path fails the next system call cleanly */
}

int sandbox_opaque_tmp(const char *upper)
{
	char p[SBX_PATH];
	join(p, upper, "tmp");
	if (mkdir(p, 01777) && errno != EEXIST)
		return -errno;
	if (chmod(p, 01777))
		return -errno;
	if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0))
		return -errno;
	return 0;
}

/* The paths the monitor makes on its scratch tmpfs (setup_scratch). */
struct scratch {
	char root[SBX_PATH];  /* the overlay's mount point */
	char lower[SBX_PATH]; /* a mount point for the rootfs overlay (ELOOP) */
	char upper[SBX_PATH], work[SBX_PATH];
	int listen_fd; /* the agent's socket, bound at inst_dir/SANDBOX_AGENT_SOCK */
};

/* The agent's listening socket, bound in inst_dir as the host sees it:
 * the agent gets the fd (--listen fd:N), so nothing of the host's file
 * system is bound into the sandbox for it. */
static void listen_agent(int fd, const struct sandbox_spec *s, struct scratch *sc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", s->inst_dir,
			     SANDBOX_AGENT_SOCK) >= sizeof(sa.sun_path))
		die(fd, "bind the agent's socket", s->inst_dir, ENAMETOOLONG);
	sc->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sc->listen_fd < 0 || bind(sc->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(sc->listen_fd, 64))
		die(fd, "listen on the agent's socket", sa.sun_path, errno);
}

/* The instance's scratch: a tmpfs mounted over inst_dir in the monitor's
 * mount namespace, holding the mount points and, unless a template's
 * upper dir is given, the writable layer. The host never sees any of it
 * (inst_dir there holds only the agent's socket, bound first), and the
 * last exit in this namespace frees it all: no unlink, rmdir or umount
 * per instance on the host's file system, whose rmdirs waited for
 * discards on ext4. As the writable layer the tmpfs is SANDBOX_WRITE_MAX:
 * a test that fills / or /tmp gets ENOSPC, and the host's disk never sees
 * its writes. The upper dir takes the mode of the rootfs's root, which
 * the overlay's / shows. */
static void setup_scratch(int fd, const struct sandbox_spec *s, struct scratch *sc)
{
	char opts[128];
	listen_agent(fd, s, sc);
	if (s->upper)
		snprintf(opts, sizeof(opts), "mode=700,size=1m,nr_inodes=64");
	else
		snprintf(opts, sizeof(opts), "mode=700,size=%llu,nr_inodes=%u", SANDBOX_WRITE_MAX,
			 SANDBOX_WRITE_INODES);
	if (mount("smoltest-rw", s->inst_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts))
		die(fd, "mount the instance's scratch (tmpfs)", s->inst_dir, errno);
	join(sc->root, s->inst_dir, "root");
	join(sc->lower, s->inst_dir, "lower");
	if (mkdir(sc->root, 0700) || mkdir(sc->lower, 0700))
		die(fd, "create mount points in", s->inst_dir, errno);
	if (s->upper) {
		snprintf(sc->upper, sizeof(sc->upper), "%s", s->upper);
		snprintf(sc->work, sizeof(sc->work), "%s", s->work);
		return;
	}
	struct stat st;
	mode_t mode = stat(s->rootfs, &st) == 0 ? (st.st_mode & 07777) : 0755;
	join(sc->upper, s->inst_dir, "upper");
	join(sc->work, s->inst_dir, "work");
	if (mkdir(sc->upper, mode) || chmod(sc->upper, mode))
		die(fd, "create", sc->upper, errno);
	if (mkdir(sc->work, 0700))
		die(fd, "create", sc->work, errno);
	int rc = s->opaque_tmp ? sandbox_opaque_tmp(sc->upper) : 0;
	if (rc)
		die(fd, "prepare /tmp (overlay opaque xattr) in", sc->upper, -rc);
}

/* mkdir -p below the overlay root; components are created in the upper dir. */
static int mkdirs(const char *path, mode_t mode)
{
	char tmp[SBX_PATH];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static void bind_at(int fd, const char *src, const char *root, const char *guest, bool ro,
		    bool is_file)
{
	char dst[SBX_PATH];
	join(dst, root, guest);
	if (is_file) {
		/* its directory first (/.smoltest exists only when something
		 * else was bound there: the artifact directory) */
		char dir[SBX_PATH];
		snprintf(dir, sizeof(dir), "%s", dst);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdirs(dir, 0755))
				die(fd, "create mount point", dir, errno);
		}
		int f = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (f < 0)
			die(fd, "create bind target", dst, errno);
		close(f);
	} else if (mkdirs(dst, 0755)) {
		die(fd, "create mount point", dst, errno);
	}
	if (mount(src, dst, NULL, MS_BIND, NULL))
		die(fd, "bind mount", src, errno);
	if (ro &&
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
		die(fd, "remount read-only", dst, errno);
}

/* /dev: a small tmpfs with the usual nodes bound from the host (device
 * nodes cannot be created in a user namespace) and a private devpts. */
static void setup_dev(int fd, const char *root)
{
	char dev[SBX_PATH], p[SBX_PATH];
	join(dev, root, "/dev");
	if (mkdirs(dev, 0755))
		die(fd, "create", dev, errno);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k"))
		die(fd, "mount tmpfs", dev, errno);
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char src[64];
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(p, sizeof(p), "/dev/%s", nodes[i]);
		bind_at(fd, src, root, p, false, true);
	}
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},	   {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		join(p, dev, links[i][1]);
		if (symlink(links[i][0], p))
			die(fd, "symlink", p, errno);
	}
	join(p, dev, "pts");
	if (mkdir(p, 0755))
		die(fd, "create", p, errno);
	join(p, dev, "shm");
	if (mkdir(p, 01777))
		die(fd, "create", p, errno);
}

/* Everything of init that needs the new namespaces: proc, sysfs, devpts,
 * host name, loopback, pivot_root, then the agent. */
static __attribute__((noreturn)) void
init_main(const struct sandbox_spec *s, const struct scratch *sc, int sync_fd, const sigset_t *mask)
{
	const char *root = sc->root;
	int fd = s->status_fd;
	char p[SBX_PATH], c;
	/* the agent gets the signal mask the monitor was forked with */
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* wait until the monitor has written our uid/gid maps */
	if (read(sync_fd, &c, 1) != 1)
		_exit(1);
	close(sync_fd);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		die(fd, "prctl", "PR_SET_PDEATHSIG", errno);
	if (setresgid(0, 0, 0) || setresuid(0, 0, 0))
		die(fd, "become root in the user namespace", "setresuid", errno);

	join(p, root, "/proc");
	if (mkdirs(p, 0555) || mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die(fd, "mount proc", p, errno);
	join(p, root, "/sys");
	if (mkdirs(p, 0555) ||
	    mount("sysfs", p, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL))
		warn(fd, "no /sys in the sandbox: mounting sysfs failed:", "sysfs", errno);
	join(p, root, "/dev/pts");
	if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620"))
		warn(fd, "no pseudo-terminals in the sandbox: mounting devpts failed:", "devpts",
		     errno);
	join(p, root, "/dev/shm");
	if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k"))
		die(fd, "mount tmpfs", p, errno);

	if (sethostname(s->hostname, strlen(s->hostname)))
		die(fd, "sethostname", s->hostname, errno);
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk >= 0) {
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		if (ioctl(sk, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(sk, SIOCSIFFLAGS, &ifr))
				die(fd, "bring up", "lo", errno);
		}
		close(sk);
	}

	/* Mounts copied from the monitor's namespace are locked in ours, and
	 * pivot_root refuses a locked new root: bind it onto itself to get a
	 * mount of our own (the submounts stay, still locked). */
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL))
		die(fd, "bind the root onto itself", root, errno);
	if (chdir(root))
		die(fd, "chdir", root, errno);
	/* pivot_root(".", "."): the old root ends up on top of the new one and
	 * is detached at once (pivot_root(2), NOTES). */
	if (syscall(SYS_pivot_root, ".", "."))
		die(fd, "pivot_root", root, errno);
	if (umount2(".", MNT_DETACH))
		die(fd, "detach the old root", "/", errno);
	if (chdir("/"))
		die(fd, "chdir", "/", errno);

	if (dup2(s->log_fd, 1) < 0 || dup2(s->log_fd, 2) < 0)
		die(fd, "redirect the agent's output", "agent.log", errno);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	char listen[32];
	snprintf(listen, sizeof(listen), "fd:%d", sc->listen_fd);
	char ready[16];
	snprintf(ready, sizeof(ready), "%d", s->ready_fd);
	char *argv[] = {
	    "smoltest-agent", "--listen", listen, "--ready-fd", ready, NULL, NULL, NULL};
	int argc = 5;
	if (s->memory_events) {
		argv[argc++] = "--memory-events";
		argv[argc++] = SANDBOX_MEMORY_EVENTS;
	}
	static char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			       "HOME=/root", "LANG=C.UTF-8", "SMOLTEST_SANDBOX=1", NULL};
	/* We are the agent binary: run its main here instead of an exec,
	 * with what an exec would have left (no fd of the monitor's, the
	 * agent's environment; the signal mask is set above). The runner
	 * sees the status pipe's end here, as at an exec. */
	close(s->log_fd);
	close(fd);
	environ = envp;
	exit(s->agent_main(argc, argv));
}

/* Waits for the init to exit, SIGKILLing it when the runner sends SIGTERM
 * (both signals are blocked, so neither is lost between the calls). */
static void monitor_wait(pid_t init)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		pid_t r = waitpid(init, NULL, WNOHANG);
		if (r == init || (r < 0 && errno != EINTR))
			return;
		if (sigwaitinfo(&set, NULL) == SIGTERM)
			kill(init, SIGKILL);
	}
}

/* After the init is gone: the instance's cgroup goes here, beside the
 * runner's loop (rmdir fails while an exiting task still counts; the
 * runner repeats it at stop). Everything else of the instance is on the
 * scratch tmpfs and the overlay in this mount namespace, which the
 * monitor's exit frees; the runner removes inst_dir (the socket). */
static void monitor_cleanup(const struct sandbox_spec *s)
{
	if (s->cgroup_dir)
		cgroup_remove(s->cgroup_dir);
}

/* The spec's strings as monitor options; shares are "--share ro|rw HOST
 * GUEST", flags have no value. */
static const struct {
	const char *name;
	size_t off;
	bool required;
} str_opts[] = {
    {"--rootfs", offsetof(struct sandbox_spec, rootfs), true},
    {"--layer", offsetof(struct sandbox_spec, layer), false},
    {"--inst-dir", offsetof(struct sandbox_spec, inst_dir), true},
    {"--upper", offsetof(struct sandbox_spec, upper), false},
    {"--work", offsetof(struct sandbox_spec, work), false},
    {"--artifact-dir", offsetof(struct sandbox_spec, artifact_dir), false},
    {"--hostname", offsetof(struct sandbox_spec, hostname), true},
    {"--cgroup-procs", offsetof(struct sandbox_spec, cgroup_procs), false},
    {"--cgroup-dir", offsetof(struct sandbox_spec, cgroup_dir), false},
    {"--memory-events", offsetof(struct sandbox_spec, memory_events), false},
};
#define N_STR_OPTS (sizeof(str_opts) / sizeof(str_opts[0]))

static const char **spec_str(const struct sandbox_spec *s, size_t i)
{
	return (const char **)((const char *)s + str_opts[i].off);
}

int sandbox_monitor_argv(const struct sandbox_spec *s, const char *parent, char ***out)
{
	size_t n = 0, max = 6 + 2 * N_STR_OPTS + 4 * s->n_shares;
	const char **argv = calloc(max, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[n++] = "smoltest-agent";
	argv[n++] = SANDBOX_MONITOR_ARG;
	argv[n++] = "--parent";
	argv[n++] = parent;
	for (size_t i = 0; i < N_STR_OPTS; i++) {
		const char *v = *spec_str(s, i);
		if (v) {
			argv[n++] = str_opts[i].name;
			argv[n++] = v;
		}
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		argv[n++] = "--share";
		argv[n++] = s->shares[i].readonly ? "ro" : "rw";
		argv[n++] = s->shares[i].host;
		argv[n++] = s->shares[i].guest;
	}
	if (s->opaque_tmp)
		argv[n++] = "--opaque-tmp";
	argv[n] = NULL;
	*out = (char **)argv;
	return 0;
}

static int bad_arg(const char *what, const char *arg)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "Emonitor: %s: '%.200s'\n", what, arg ? arg : "(end)");
	say(SANDBOX_FD_STATUS, buf);
	return 2;
}

/* Fills s from the monitor's argv (s->shares has room for every --share);
 * 0, or 2 after bad_arg. */
static int parse_args(int argc, char **argv, struct sandbox_spec *s, struct sandbox_share *shares)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		size_t k;
		for (k = 0; k < N_STR_OPTS && strcmp(a, str_opts[k].name); k++)
			;
		if (k < N_STR_OPTS) {
			if (++i >= argc || !argv[i][0])
				return bad_arg("no value for", a);
			*(const char **)spec_str(s, k) = argv[i];
		} else if (!strcmp(a, "--share")) {
			if (i + 3 >= argc ||
			    (strcmp(argv[i + 1], "ro") && strcmp(argv[i + 1], "rw")))
				return bad_arg("a share needs ro|rw HOST GUEST after", a);
			shares[s->n_shares].readonly = !strcmp(argv[i + 1], "ro");
			shares[s->n_shares].host = argv[i + 2];
			shares[s->n_shares++].guest = argv[i + 3];
			i += 3;
		} else if (!strcmp(a, "--parent") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v <= 1)
				return bad_arg("not a parent pid", argv[i]);
			s->parent = (pid_t)v;
		} else if (!strcmp(a, "--opaque-tmp")) {
			s->opaque_tmp = true;
		} else {
			return bad_arg("unknown argument", a);
		}
	}
	for (size_t k = 0; k < N_STR_OPTS; k++)
		if (str_opts[k].required && !*spec_str(s, k))
			return bad_arg("missing", str_opts[k].name);
	if (!s->parent)
		return bad_arg("missing", "--parent");
	if (!s->upper != !s->work)
		return bad_arg("--upper and --work go together, missing",
			       s->upper ? "--work" : "--upper");
	return 0;
}

int sandbox_monitor_cli(int argc, char **argv, int (*agent_main)(int argc, char **argv))
{
	struct sandbox_spec s = {.status_fd = SANDBOX_FD_STATUS,
				 .log_fd = SANDBOX_FD_LOG,
				 .ready_fd = SANDBOX_FD_READY,
				 .agent_main = agent_main};
	size_t n_shares = 0;
	for (int i = 2; i < argc; i++)
		n_shares += !strcmp(argv[i], "--share");
	struct sandbox_share *shares = calloc(n_shares + 1, sizeof(*shares));
	if (!shares)
		return bad_arg("out of memory for the shares of", argv[0]);
	s.shares = shares;
	int rc = parse_args(argc, argv, &s, shares);
	if (rc) {
		free(shares);
		return rc;
	}
	sandbox_monitor_main(&s); /* the init inherits shares; the monitor exits */
}

/* Clones the sandbox's init into its new namespaces with fork semantics
 * (no new stack: the child returns 0 here). Only the init goes into the
 * instance's cgroup, not the monitor: cgroup.kill at stop must leave the
 * monitor to reap it. clone3(CLONE_INTO_CGROUP) starts it there; moving a
 * running process (writing cgroup.procs) takes the cgroup threadgroup
 * lock for writing, which waits for an RCU grace period whenever no
 * migration happened in the last one: 10-20 ms on an idle host, about
 * half of a trivial test's wall time at -j1. Where clone3 or
 * CLONE_INTO_CGROUP is missing (Linux < 5.7) or refused, a plain clone,
 * and *in_cgroup stays false for the caller to move it. */
static pid_t clone_init(const char *cgroup_dir, bool *in_cgroup)
{
	const unsigned long ns =
	    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;
	int cg = cgroup_dir ? open(cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (cg >= 0) {
		struct clone_args ca = {
		    .flags = ns | CLONE_INTO_CGROUP,
		    .exit_signal = SIGCHLD,
		    .cgroup = (uint64_t)cg,
		};
		pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		close(cg); /* in the init too: the agent must not hold it */
		if (pid >= 0) {
			*in_cgroup = true;
			return pid;
		}
	}
	return (pid_t)syscall(SYS_clone, ns | SIGCHLD, NULL, NULL, NULL, 0);
}

void sandbox_monitor_main(const struct sandbox_spec *s)
{
	int fd = s->status_fd;
	char opts[3 * SBX_PATH + 128], p[SBX_PATH];
	sigset_t wait_set, entry_mask;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		die(fd, "prctl", "PR_SET_PDEATHSIG", errno);
	/* a runner that died before the prctl: nothing would stop us */
	if (getppid() != s->parent)
		die(fd, "the runner is gone", "getppid", ESRCH);
	/* what the runner placed at SANDBOX_FD_*: the agent gets none of it */
	fcntl(s->status_fd, F_SETFD, FD_CLOEXEC);
	fcntl(s->log_fd, F_SETFD, FD_CLOEXEC);
	fcntl(s->ready_fd, F_SETFD, FD_CLOEXEC);
	/* SIGTERM is the runner's request to tear down (monitor_wait); it
	 * stays pending if it comes while the instance is being built */
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &wait_set, &entry_mask);
	/* A private mount namespace owned by the host's user namespace: the
	 * overlay is built here and is never visible to the host. */
	if (unshare(CLONE_NEWNS))
		die(fd, "unshare", "CLONE_NEWNS", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die(fd, "make mounts private", "/", errno);
	struct scratch sc;
	setup_scratch(fd, s, &sc);
	if (s->layer)
		snprintf(opts, sizeof(opts), "lowerdir=%s:%s,upperdir=%s,workdir=%s", s->layer,
			 s->rootfs, sc.upper, sc.work);
	else
		snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", s->rootfs,
			 sc.upper, sc.work);
	int rc = mount("smoltest", sc.root, "overlay", MS_NOSUID, opts);
	if (rc && errno == ELOOP && s->layer) {
		/* The frozen layer lives below the rootfs (the cache in ~/.cache
		 * with rootfs /), and overlayfs refuses nested lower layers.
		 * Read the rootfs through an overlay of its own first: a
		 * different superblock, so the layers no longer nest. It needs a
		 * second (empty) lower layer, on a private tmpfs for the same
		 * reason. */
		char empty[SBX_PATH], base[SBX_PATH];
		join(empty, sc.lower, "empty");
		join(base, sc.lower, "base");
		if (mount("smoltest-tmp", sc.lower, "tmpfs", MS_NOSUID | MS_NODEV,
			  "mode=700,size=64k") ||
		    mkdir(empty, 0755) || mkdir(base, 0755))
			die(fd, "prepare the rootfs overlay", sc.lower, errno);
		snprintf(opts, sizeof(opts), "lowerdir=%s:%s", empty, s->rootfs);
		if (mount("smoltest-base", base, "overlay", MS_RDONLY, opts))
			die(fd, "mount the rootfs overlay", base, errno);
		snprintf(opts, sizeof(opts), "lowerdir=%s:%s,upperdir=%s,workdir=%s", s->layer,
			 base, sc.upper, sc.work);
		rc = mount("smoltest", sc.root, "overlay", MS_NOSUID, opts);
	}
	if (rc)
		die(fd, "mount overlayfs", sc.root, errno);
	for (size_t i = 0; i < s->n_shares; i++)
		bind_at(fd, s->shares[i].host, sc.root, s->shares[i].guest, s->shares[i].readonly,
			false);
	setup_dev(fd, sc.root);
	/* A private /run: the host's holds sockets (a container runtime's,
	 * D-Bus) that a path lookup would reach through the overlay whatever
	 * the network namespace. */
	join(p, sc.root, "/run");
	if (mkdirs(p, 0755) || mount("run", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755"))
		die(fd, "mount tmpfs", p, errno);
	if (s->artifact_dir)
		bind_at(fd, s->artifact_dir, sc.root, BACKEND_GUEST_ARTIFACTS, false, false);
	if (s->memory_events)
		bind_at(fd, s->memory_events, sc.root, SANDBOX_MEMORY_EVENTS, true, true);

	int sync[2];
	if (pipe2(sync, O_CLOEXEC))
		die(fd, "pipe", "sync", errno);
	bool in_cgroup = false;
	pid_t pid = clone_init(s->cgroup_dir, &in_cgroup);
	if (pid < 0)
		die(fd, "clone the sandbox init", "namespaces", errno);
	if (pid == 0) {
		close(sync[1]);
		init_main(s, &sc, sync[0], &entry_mask);
	}
	close(sync[0]);
	close(s->ready_fd);  /* the agent's now: it closes it once it serves */
	close(sc.listen_fd); /* the agent's alone: connecting fails once it is gone */
	/* Identity maps: file ownership is unchanged, but the sandbox's root
	 * has capabilities only over its own namespaces. */
	snprintf(p, sizeof(p), "/proc/%d/uid_map", (int)pid);
	if ((rc = util_write_str(p, "0 0 4294967295\n")))
		die(fd, "write uid_map", p, -rc);
	snprintf(p, sizeof(p), "/proc/%d/gid_map", (int)pid);
	if ((rc = util_write_str(p, "0 0 4294967295\n")))
		die(fd, "write gid_map", p, -rc);
	/* The agent (the sandbox's init) is the last the OOM killer may take:
	 * only the host's root can lower a score. Best effort. */
	snprintf(p, sizeof(p), "/proc/%d/oom_score_adj", (int)pid);
	(void)util_write_str(p, "-1000");
	/* Where clone3 could not start it there (clone_init). */
	char msg[32];
	snprintf(msg, sizeof(msg), "%d", (int)pid);
	if (!in_cgroup && s->cgroup_procs && (rc = util_write_str(s->cgroup_procs, msg)))
		die(fd, "join cgroup", s->cgroup_procs, -rc);
	snprintf(msg, sizeof(msg), "P%d\n", (int)pid);
	say(fd, msg);
	close(fd);
	if (write(sync[1], "g", 1) != 1)
		_exit(1);
	close(sync[1]);
	monitor_wait(pid);
	monitor_cleanup(s);
	_exit(0);
}
