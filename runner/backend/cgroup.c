/* cgroup: per-run and per-instance cgroup v2 directories (cgroup.h). */
#include "backend/cgroup.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static int remove_tree(const char *dir, int depth, bool kill_each);

static int write_str(const char *dir, const char *file, const char *text)
{
	char p[1400];
	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p))
		return -ENAMETOOLONG;
	return util_write_str(p, text);
}

/* The cgroup2 mount point from /proc/self/mountinfo (field 5, fstype after
 * the " - " separator). */
static int find_mount(char *out, size_t len)
{
	char *buf = NULL;
	int rc = util_read_file("/proc/self/mountinfo", 1 << 20, &buf, NULL);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		char mnt[512];
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

static int own_path(char *out, size_t len)
{
	char *buf = NULL;
	int rc = util_read_file("/proc/self/cgroup", 1 << 16, &buf, NULL);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (util_starts_with(line, "0::")) {
			snprintf(out, len, "%s", line + 3);
			rc = 0;
		}
	free(buf);
	return rc;
}

static bool has_controller(const char *dir, const char *name)
{
	char p[700], *buf = NULL;
	snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
	if (util_read_file(p, 4096, &buf, NULL))
		return false;
	bool found = false;
	for (char *w = strtok(buf, " \n"); w; w = strtok(NULL, " \n"))
		if (!strcmp(w, name))
			found = true;
	free(buf);
	return found;
}

void cgroup_run_init(struct cgroup_run *cg, uint64_t memory, uint64_t pids, char *note,
		     size_t notelen)
{
	char mnt[512], own[512], base[1100];
	memset(cg, 0, sizeof(*cg));
	cg->memory = memory;
	cg->pids = pids;
	note[0] = '\0';
	bool want_limits = memory || pids;
	if (find_mount(mnt, sizeof(mnt)) || own_path(own, sizeof(own))) {
		snprintf(note, notelen,
			 "sandbox: no cgroup v2 hierarchy%s; process trees are "
			 "killed through the pid namespace only",
			 want_limits ? " (sandbox.memory/pids limits NOT enforced)" : "");
		return;
	}
	snprintf(base, sizeof(base), "%s%s", mnt, strcmp(own, "/") ? own : "");
	snprintf(cg->path, sizeof(cg->path), "%s/smoltest-%d", base, (int)getpid());
	/* An existing smoltest-<our pid> is a dead runner's that nothing
	 * recorded: removed when empty, never killed (not provably ours). */
	if (mkdir(cg->path, 0755) &&
	    (errno != EEXIST || remove_tree(cg->path, 0, false) || mkdir(cg->path, 0755))) {
		snprintf(note, notelen,
			 "sandbox: cannot create a cgroup under %s (%s): not "
			 "delegated to this user%s",
			 base, strerror(errno),
			 want_limits ? "; sandbox.memory/pids limits NOT enforced" : "");
		return;
	}
	cg->enabled = true;
	/* The memory controller, limit or not: an instance's memory.events
	 * then counts the OOM kills of its tests (the agent reports them).
	 * Passing it on from our own cgroup works where that is the root (a
	 * bare test host); elsewhere the delegation must already pass it. */
	if (has_controller(base, "memory")) {
		write_str(base, "cgroup.subtree_control", "+memory");
		cg->memory_events = write_str(cg->path, "cgroup.subtree_control", "+memory") == 0;
	}
	if (!want_limits)
		return;
	const char *missing = NULL;
	if (memory && !has_controller(base, "memory"))
		missing = "memory";
	else if (pids && !has_controller(base, "pids"))
		missing = "pids";
	if (missing) {
		snprintf(note, notelen,
			 "sandbox: the cgroup v2 '%s' controller is not available "
			 "at %s (not enabled for this cgroup); sandbox.memory/pids "
			 "limits NOT enforced",
			 missing, base);
		return;
	}
	char ctl[32] = "";
	if (pids)
		write_str(base, "cgroup.subtree_control", "+pids"); /* as memory above */
	snprintf(ctl, sizeof(ctl), "%s%s", memory ? "+memory " : "", pids ? "+pids" : "");
	int rc = write_str(cg->path, "cgroup.subtree_control", ctl);
	if (rc) {
		snprintf(note, notelen, "sandbox: cannot enable %s in %s: %s; limits NOT enforced",
			 ctl, cg->path, strerror(-rc));
		return;
	}
	cg->limits = true;
}

int cgroup_instance_create(const struct cgroup_run *cg, unsigned seq, char *out, size_t len)
{
	char num[32];
	snprintf(out, len, "%s/i%u", cg->path, seq);
	if (mkdir(out, 0755))
		return -errno;
	if (cg->limits && cg->memory) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cg->memory);
		write_str(out, "memory.max", num);
		write_str(out, "memory.swap.max", "0");
	}
	if (cg->limits && cg->pids) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cg->pids);
		write_str(out, "pids.max", num);
	}
	/* An OOM kill takes the test's whole tree, as in the VM (the agent
	 * and its shims are spared: oom_score_adj -1000, set by the monitor). */
	if (cg->memory_events)
		write_str(out, "memory.oom.group", "1");
	return 0;
}

int cgroup_kill(const char *path)
{
	return write_str(path, "cgroup.kill", "1");
}

int cgroup_remove(const char *path)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		struct timespec ts = {0, 5000000L};
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

/* Kills what cgroup.procs lists (membership of our cgroup is what makes
 * those pids ours), for kernels before cgroup.kill (5.14). */
static void kill_listed(const char *dir)
{
	char p[1400], *text = NULL;
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if (util_read_file(p, 1 << 20, &text, NULL))
		return;
	for (char *w = strtok(text, "\n"); w; w = strtok(NULL, "\n"))
		if (atoi(w) > 1)
			kill((pid_t)atoi(w), SIGKILL);
	free(text);
}

/* Kills the processes of dir and every cgroup below it, then removes them
 * bottom-up (a cgroup directory holds only control files and children). */
static int remove_tree(const char *dir, int depth, bool kill_each)
{
	if (depth > 8)
		return -ELOOP;
	if (kill_each)
		kill_listed(dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char sub[1400];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		int r = remove_tree(sub, depth + 1, kill_each);
		if (r && !rc)
			rc = r;
	}
	closedir(d);
	return rc ? rc : cgroup_remove(dir);
}

int cgroup_reap(const char *path, pid_t owner)
{
	char want[32];
	const char *base = strrchr(path, '/');
	snprintf(want, sizeof(want), "smoltest-%d", (int)owner);
	if (path[0] != '/' || !base || strcmp(base + 1, want))
		return -EINVAL;
	char *real = realpath(path, NULL);
	if (!real)
		return -errno;
	bool same = !strcmp(real, path);
	free(real);
	struct statfs sf;
	struct stat st;
	if (!same || statfs(path, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC || lstat(path, &st) ||
	    !S_ISDIR(st.st_mode))
		return -EINVAL;
	/* cgroup.kill kills the whole subtree; without it, each level's own */
	return remove_tree(path, 0, cgroup_kill(path) != 0);
}

void cgroup_run_destroy(struct cgroup_run *cg)
{
	if (cg->enabled)
		cgroup_remove(cg->path);
	cg->enabled = false;
}
