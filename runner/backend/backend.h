/* backend: how the runner gets warm, disposable environments to run tests in.
 *
 * A backend turns a suite's environment description into
 *   1. a TEMPLATE instance, in which the runner executes `setup` through the
 *      agent, and which is then FROZEN into a read-only layer directory
 *      (sandbox: the overlayfs upper dir; vm: the .smolsnap memory snapshot
 *      plus the frozen disk layer). The layer directory is what the snapshot
 *      cache stores (cache.h);
 *   2. any number of test INSTANCES started from that layer: each gets its
 *      own copy-on-write state (sandbox: a fresh overlay upper dir; vm: a
 *      smolvm process restoring the snapshot with MAP_PRIVATE memory and its
 *      own disk layer) and its own agent endpoint;
 *   3. stop, which kills everything the instance started and discards its
 *      private state, synchronously, leaving no process, mount or file.
 *
 * The runner never touches namespaces or KVM: it drives an instance only
 * through the agent endpoint (agent_client.h) and watches `death_fd`, which
 * becomes readable when the environment dies on its own (agent crash, VMM
 * crash) so that the running test is reported as an error naming it.
 *
 * Instances are started synchronously but cheaply (fork + exec); readiness
 * is the agent answering HELLO on the endpoint, which the runner awaits in
 * its event loop. A VM backend fits the same shape: start = spawn a smolvm
 * restoring the snapshot with its own vsock UDS; endpoint = that UDS + port.
 *
 * All functions return 0 or -errno. A backend writes its own one-line
 * diagnostics to the `err` buffer of the call, naming what failed and what
 * to do; the runner prints them. */
#ifndef SMOL_BACKEND_H
#define SMOL_BACKEND_H

#include "suite/suite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BACKEND_ERR_MAX 512

struct backend;
struct backend_instance;

/* What the backend can do on this host (filled by create). */
struct backend_caps {
	bool memory_snapshot;  /* warm memory is forked (vm), not re-created */
	bool cow_disk;	       /* per-instance copy-on-write file system */
	bool cgroup_limits;    /* memory/pids limits are enforced */
	bool cgroup_kill;      /* the whole tree is killed through cgroup.kill */
	bool user_namespace;   /* runs in its own user namespace */
	const char *isolation; /* "kvm" or "namespaces" */
	const char *note;      /* one line for reports, e.g. weaker isolation */
};

/* How to reach the agent of an instance. */
struct backend_endpoint {
	char unix_path[108]; /* a Unix socket the agent listens on (sandbox), or the VM's
				hybrid-vsock UDS (vm) */
	uint32_t vsock_port; /* 0 for a plain Unix socket; otherwise CONNECT <port> first */
};

struct backend_instance_opts {
	const char *name;	  /* for messages and the host name: test name or "template" */
	const char *layer_dir;	  /* frozen template layer, or NULL when there was no setup */
	const char *artifact_dir; /* host directory visible in the instance at
				     BACKEND_GUEST_ARTIFACTS (created), or NULL */
	bool template_mode;	  /* writable layer is layer_dir itself (setup runs here) */
};

/* Where an instance sees its artifact directory. */
#define BACKEND_GUEST_ARTIFACTS "/.smoltest/artifacts"

#define BACKEND_MAX_MOUNTS 34

/* A virtio-fs share the runner asks the agent to MOUNT (creating the
 * target) once the agent answers, before anything runs. */
struct backend_mount {
	char tag[40];
	char guest[256];
	bool readonly;
};

struct backend_instance {
	struct backend *backend;
	struct backend_endpoint endpoint;
	int death_fd; /* readable when the instance died (pidfd); -1 if none */
	int ready_fd; /* readable once the endpoint is worth connecting to
			 (sandbox: EOF on a pipe the agent closes once it
			 listens; vm: inotify on the socket's directory), owned
			 by the backend; -1: connect at once */
	char name[128];
	/* What the runner does on the agent connection before the first EXEC,
	 * in this order (vm; the sandbox needs none of it):
	 *   system_prep: SET_TIME (host wall clock), RESEED (fresh entropy),
	 *                SET_HOSTNAME (hostname);
	 *   restored:    RESUMED (the agent was QUIESCEd for the snapshot);
	 *   mounts:      MOUNT each share at its guest path. */
	bool system_prep;
	bool restored;
	char hostname[65];
	struct backend_mount mounts[BACKEND_MAX_MOUNTS];
	size_t n_mounts;
	/* How long the agent may take to answer after instance_start (a VM
	 * boot is slower than a fork); 0: the scheduler's default. */
	uint64_t connect_timeout_ns;
	void *priv;
};

struct backend_ops {
	const char *name; /* "sandbox", "vm" */
	/* Starts an instance (template or test). *out is owned by the caller and
	 * released with instance_stop. */
	int (*instance_start)(struct backend *b, const struct backend_instance_opts *o,
			      struct backend_instance **out, char *err, size_t errlen);
	/* Starts killing everything in the instance without waiting: its
	 * death_fd turns readable when it is gone, and instance_stop then
	 * finishes quickly. Lets the runner tear instances down without
	 * stalling its loop. May be NULL (instance_stop alone then). */
	void (*instance_kill)(struct backend *b, struct backend_instance *i);
	/* Kills everything in the instance, discards its private state, frees it.
	 * Synchronous; NULL is a no-op. */
	void (*instance_stop)(struct backend *b, struct backend_instance *i);
	/* Freezes a template instance whose setup succeeded into its layer_dir
	 * (stops it). After this the layer is read-only input for instances.
	 * With caps.memory_snapshot the runner has QUIESCEd the agent first. */
	int (*freeze)(struct backend *b, struct backend_instance *tmpl, char *err, size_t errlen);
	/* Extra bytes that affect the warm state (rootfs identity, VM shape,
	 * kernel hashes...), appended to the cache key. */
	int (*key_material)(struct backend *b, struct strbuf *sb);
	/* Checks a layer directory found in the cache before it is used (a
	 * truncated or corrupt snapshot). 0 when usable, else -errno with one
	 * line in err. May be NULL (always usable). */
	int (*layer_check)(struct backend *b, const char *layer_dir, char *err, size_t errlen);
	/* Writes a one-line hint about why an instance died or its agent is
	 * unreachable (e.g. the agent's last log line, a VM's console tail),
	 * or "" when none. Returns true only where the instance shows that the
	 * test kept its agent from answering (a VM whose CPU was busy with the
	 * test's code or a kernel it drove or wedged): then a silent agent is
	 * the test's timeout, otherwise the environment's error. */
	bool (*diagnose)(struct backend *b, struct backend_instance *i, char *buf, size_t len);
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	struct backend_caps caps;
	const struct suite *suite; /* borrowed; outlives the backend */
	char *run_dir;		   /* private scratch directory of this run (owned) */
	void *priv;
};

/* Options every backend gets from the command line (read from the
 * environment by the command, not by the backend). All borrowed. */
struct runreg;

struct backend_opts {
	const char *agent_path;	      /* the smoltest-agent binary (absolute) */
	const char *run_dir;	      /* existing private scratch directory (copied) */
	const char *smolvm_path;      /* the smolvm binary, or NULL when not found */
	const char *cache_dir;	      /* smoltest cache root (default guest image), or NULL */
	const char *kernel_cache_dir; /* where ci/fetch-kernel keeps kernel .debs, or NULL */
	struct runreg *reg;	      /* where the run's cgroup and VMMs are recorded, or NULL */
	bool verbose;
};

/* Chooses the backend for `requested` (the suite's backend or --backend):
 * AUTO picks vm when KVM runs guests at hardware speed and a guest image
 * is available for suite s (vm_image_available()), else sandbox, and
 * writes the one-line reason into `note` (empty when nothing to say).
 * Returns the kind chosen in *out. Never fails. */
void backend_detect(enum suite_backend requested, const struct suite *s,
		    const struct backend_opts *o, enum suite_backend *out, char *note,
		    size_t notelen);

/* Whether /dev/kvm opens read-write and is not PVM; else the reason in
 * why. */
bool backend_kvm_usable(char *why, size_t len);

/* Whether the vm backend has a guest image for suite s: vm.kernel given,
 * or a kernel package in o->kernel_cache_dir (the default image is built
 * from it). Else the one-line reason (what to run) in why. */
bool vm_image_available(const struct suite *s, const struct backend_opts *o, char *why, size_t len);

/* Creates the backend of kind `kind` for suite s. -ENOTSUP (with the reason
 * in err) when this host cannot run it; the caller exits 3. Host limitations
 * that only weaken the run (no cgroup delegation) are printed to stderr once
 * by the backend here. */
int backend_create(enum suite_backend kind, const struct suite *s, const struct backend_opts *o,
		   struct backend **out, char *err, size_t errlen);

/* Destroys a backend; stops nothing (stop instances first). NULL: no-op. */
void backend_destroy(struct backend *b);

/* Per-backend constructors used by backend_create. */
int sandbox_backend_create(const struct suite *s, const struct backend_opts *o,
			   struct backend **out, char *err, size_t errlen);
int vm_backend_create(const struct suite *s, const struct backend_opts *o, struct backend **out,
		      char *err, size_t errlen);

#endif
