/* cgroup: the sandbox backend's use of cgroup v2 — one cgroup per run with
 * one child per instance, so that stopping an instance can kill its whole
 * tree at once (cgroup.kill) and, where the memory/pids controllers are
 * delegated, enforce the suite's limits. Everything is optional: when the
 * host does not allow it, cgroup_run_init() says why in one line and the
 * sandbox relies on its pid namespace alone. */
#ifndef SMOL_CGROUP_H
#define SMOL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup_run {
	bool enabled;	    /* a run cgroup exists */
	bool limits;	    /* memory/pids limits are applied */
	bool memory_events; /* instances have the memory controller (memory.events) */
	char path[1200];    /* the run cgroup */
	uint64_t memory;    /* memory.max per instance, 0 none */
	uint64_t pids;	    /* pids.max per instance, 0 none */
};

/* Finds the cgroup v2 hierarchy and our place in it, creates the run
 * cgroup and enables the controllers the limits need, and the memory
 * controller where it is available even without a limit (its
 * memory.events tells an OOM kill). Never fails: on any problem
 * cg->enabled/limits/memory_events stay false and note (if not empty) explains
 * what the host lacks for the limits. */
void cgroup_run_init(struct cgroup_run *cg, uint64_t memory, uint64_t pids, char *note,
		     size_t notelen);

/* Creates the instance cgroup <run>/i<seq> with the limits (and
 * memory.oom.group where memory_events); its path goes to out. -errno on
 * failure (the instance then runs without one). */
int cgroup_instance_create(const struct cgroup_run *cg, unsigned seq, char *out, size_t len);

/* Kills every process in the cgroup (cgroup.kill, Linux 5.14+). */
int cgroup_kill(const char *path);

/* Removes an (empty) cgroup, retrying briefly while the kernel finishes
 * tearing its processes down. */
int cgroup_remove(const char *path);

/* Kills and removes the run cgroup that a dead runner `owner` left (its
 * path read back from the run registry, so checked as hostile): it must be
 * named smoltest-<owner>, lie on a cgroup2 file system and be reached
 * without a symbolic link or "..". Every process in it and below is killed
 * (cgroup.kill; on kernels without it, each pid its cgroup.procs lists),
 * then the instance cgroups and the run cgroup are removed. 0 when done,
 * -ENOENT when it did not exist, -EINVAL when the path is not such a
 * cgroup (nothing touched), else -errno. */
int cgroup_reap(const char *path, pid_t owner);

/* Removes the run cgroup. */
void cgroup_run_destroy(struct cgroup_run *cg);

#endif
