/* sandbox: internals of the sandbox backend shared between sandbox.c (the
 * runner side: directories, cgroups, lifecycle) and sandbox_ns.c (the
 * instance's monitor, which builds the namespaces).
 *
 * Process layout of one instance:
 *   runner ──posix_spawn──> monitor: the static agent binary run as
 *                    `smoltest-agent --sandbox-monitor ...` (host pid/user
 *                    ns, private mount ns; builds the overlay root, binds
 *                    shares, then clones)
 *                    └─clone(NEWUSER|NEWNS|NEWPID|NEWNET|NEWUTS|NEWIPC)──>
 *                       init: PID 1 of the sandbox, mounts /proc /sys /dev,
 *                       pivot_root()s into the overlay and runs the agent's
 *                       main (it is the agent binary already: no exec)
 * The monitor is exec'd, not forked: posix_spawn (CLONE_VM|CLONE_VFORK)
 * copies none of the runner's pages, and the monitor, which lives as long
 * as the test, shares none with it, so the runner's writes during a test
 * cost no copy-on-write faults (tests/bench/README-runner.md). Its spec
 * travels in argv (sandbox_monitor_argv, parsed back by
 * sandbox_monitor_cli) and three fds (SANDBOX_FD_*).
 * The monitor writes the init's uid/gid maps (identity: root inside is root
 * outside for file ownership, but every capability is confined to the new
 * namespaces) and then waits. Both have PR_SET_PDEATHSIG(SIGKILL), so
 * a runner that dies takes the whole tree with it; killing the init kills
 * every process of the sandbox (pid namespace teardown), and the last exit
 * drops the mount namespace, which unmounts the overlay: nothing is ever
 * mounted in the host's namespace.
 *
 * The runner starts the monitor and returns to its loop: it reads the
 * status pipe only for the first instance of a run (so that a host that
 * cannot build one fails the run at once) and later when it needs it (stop,
 * diagnose), and connects once the agent serves: the agent closes the
 * ready pipe then (SANDBOX_FD_READY). It stops an instance by SIGTERM to
 * the monitor, which kills the init, removes the instance's cgroup and
 * exits, which frees its mount namespace with the overlay and the scratch
 * tmpfs: the monitor's pidfd is the instance's death_fd, so the teardown
 * runs beside the loop, not in it; the loop then removes the instance's
 * directory (its socket). */
#ifndef SMOL_SANDBOX_H
#define SMOL_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The agent's socket in the instance's directory on the host: the
 * monitor binds and listens on it and hands the agent the fd. */
#define SANDBOX_AGENT_SOCK "agent.sock"
/* The instance cgroup's memory.events, bound read-only here for the agent
 * (--memory-events): it has no cgroup file system of its own, and its
 * EXITs say OOM when the oom_kill count rises (PROTOCOL.md, EXIT). */
#define SANDBOX_MEMORY_EVENTS "/.smoltest/memory.events"
/* What a test instance may write to its root (/, /tmp, everything not a
 * share or the artifact directory): its overlay's upper and work dirs live
 * on a tmpfs of this size mounted in the instance's own mount namespace,
 * so a test that fills it gets ENOSPC and nothing reaches the host's disk.
 * Its pages are charged to the instance's cgroup, so sandbox.memory bounds
 * them too. The template's layer (setup) is the cache's and stays on disk. */
#define SANDBOX_WRITE_MAX    ((unsigned long long)1 << 30)
#define SANDBOX_WRITE_INODES 1048576u

/* The first argument that makes the agent binary an instance's monitor. */
#define SANDBOX_MONITOR_ARG "--sandbox-monitor"
/* The monitor's fds: the status pipe, the agent's log, and the write end
 * of the ready pipe, which the monitor hands to the agent (--ready-fd):
 * the runner's end reads EOF once the agent listens, or once the instance
 * failed before (then the monitor's pidfd tells). */
#define SANDBOX_FD_STATUS 3
#define SANDBOX_FD_LOG	  4
#define SANDBOX_FD_READY  5

struct sandbox_share {
	const char *host, *guest;
	bool readonly;
};

/* Everything the monitor needs, prepared by the runner, which passes it in
 * argv; the monitor then only makes system calls. */
struct sandbox_spec {
	const char *rootfs; /* lowest layer */
	const char *layer;  /* frozen template upper dir, or NULL */
	/* The instance's host directory (exists, empty): the monitor binds
	 * the agent's socket in it (SANDBOX_AGENT_SOCK), which is all the
	 * host sees there, and in its own mount namespace mounts the
	 * instance's scratch tmpfs over it (mount points, and the writable
	 * layer unless upper is given). */
	const char *inst_dir;
	const char *upper;	  /* a template's writable upper dir on the host (exists), or
				     NULL: the writable layer is the scratch tmpfs */
	const char *work;	  /* its overlay workdir (same fs), given with upper */
	const char *artifact_dir; /* host dir bound at BACKEND_GUEST_ARTIFACTS, or NULL */
	const struct sandbox_share *shares;
	size_t n_shares;
	const char *hostname;
	const char *cgroup_procs;  /* cgroup.procs to join first, or NULL */
	const char *cgroup_dir;	   /* the instance cgroup, removed at the end, or NULL */
	int status_fd;		   /* write end of the status pipe (CLOEXEC) */
	int log_fd;		   /* the agent's stdout/stderr (the runner's memfd) */
	int ready_fd;		   /* write end of the ready pipe (CLOEXEC), the agent's */
	bool opaque_tmp;	   /* without upper: the new upper dir gets an opaque /tmp */
	const char *memory_events; /* host file bound at SANDBOX_MEMORY_EVENTS, or NULL */
	pid_t parent;		   /* the runner: a monitor that outlives it exits */
	int (*agent_main)(int argc, char **argv); /* what the init runs (monitor only) */
};

/* The monitor's argv for spec (borrowing its strings; parent is the
 * runner's pid as text): a malloc'd NULL-terminated array in *out, to be
 * freed. The fds in spec are not passed: the runner places them at
 * SANDBOX_FD_*. 0 or -ENOMEM. */
int sandbox_monitor_argv(const struct sandbox_spec *spec, const char *parent, char ***out);

/* The monitor's main, from the agent binary's main when argv[1] is
 * SANDBOX_MONITOR_ARG: parses what sandbox_monitor_argv wrote and runs
 * sandbox_monitor_main, whose init calls agent_main (the agent's own
 * main, with its argv and environment) inside the sandbox. Returns (2)
 * only for an argv it cannot parse, after an "E" line on
 * SANDBOX_FD_STATUS naming the argument. */
int sandbox_monitor_cli(int argc, char **argv, int (*agent_main)(int argc, char **argv));

/* The monitor; never returns. Writes "P<pid>\n" with the init's host pid, or "E<message>\n" on
 * failure, to status_fd. On SIGTERM it kills the init; when the init is gone it removes the
 * instance (sandbox_ns.c) and exits. */
void sandbox_monitor_main(const struct sandbox_spec *spec) __attribute__((noreturn));

/* Hides the host's /tmp in a fresh upper dir: an opaque directory
 * (overlayfs "trusted.overlay.opaque") shows none of the lower layers'
 * entries. 0 or -errno; system calls only (runs in the monitor too). */
int sandbox_opaque_tmp(const char *upper);

#endif
