/* runreg: the per-run registry of host resources (runreg.h). */
#include "cache/runreg.h"
#include "backend/cgroup.h"
#include "strbuf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNREG_HEADER	"smoltest-run 1\n"
#define RUNREG_MAX_FILE (4u << 20) /* a run of a million VM forks stays under it */

struct runreg {
	int dirfd; /* <cache root>/runs */
	int fd;	   /* this run's file, locked */
	char name[80];
};

/* What identifies a process across the registry's life: pid numbers are
 * reused and restart at boot, and mean something else in another pid
 * namespace. */
struct runreg_self {
	char boot[40];
	unsigned long long pidns;
};

static void self_identity(struct runreg_self *s)
{
	char *text = NULL;
	memset(s, 0, sizeof(*s));
	if (util_read_file("/proc/sys/kernel/random/boot_id", 64, &text, NULL) == 0) {
		sscanf(text, "%36s", s->boot);
		free(text);
	}
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		sscanf(link, "pid:[%llu]", &s->pidns);
	}
}

/* The start time of pid in clock ticks since boot (/proc/PID/stat field
 * 22; the command name before it may hold spaces and parentheses). */
static int proc_start(pid_t pid, unsigned long long *out)
{
	char p[64], *text = NULL;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int rc = util_read_file(p, 4096, &text, NULL);
	if (rc)
		return rc;
	const char *s = strrchr(text, ')');
	rc = -EINVAL;
	/* after ')': the 20th space precedes field 22 (starttime) */
	for (int i = 0; s && i < 20; i++)
		s = strchr(s + 1, ' ');
	if (s && sscanf(s + 1, "%llu", out) == 1)
		rc = 0;
	free(text);
	return rc;
}

static int open_runs_dir(const char *root, bool create, int *out)
{
	char p[4096];
	if ((size_t)snprintf(p, sizeof(p), "%s/runs", root) >= sizeof(p))
		return -ENAMETOOLONG;
	if (create && mkdir(p, 0700) && errno != EEXIST)
		return -errno;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	/* the registry says which processes to kill: only ours, writable by us alone */
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	*out = fd;
	return 0;
}

int runreg_create(const char *cache_root, const char *run_id, struct runreg **out, char *err,
		  size_t errlen)
{
	char tmp[96];
	struct runreg_self self;
	unsigned long long start = 0;
	struct strbuf sb = {0};
	struct runreg *r = calloc(1, sizeof(*r));
	int rc = -ENOMEM;
	if (!r)
		goto fail_msg;
	r->dirfd = r->fd = -1;
	if (!run_id[0] || strspn(run_id, "0123456789abcdef") != strlen(run_id) ||
	    strlen(run_id) > 32) {
		rc = -EINVAL;
		goto fail_msg;
	}
	snprintf(r->name, sizeof(r->name), "%s.run", run_id);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", run_id);
	if ((rc = open_runs_dir(cache_root, true, &r->dirfd)))
		goto fail_msg;
	r->fd = openat(r->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (r->fd < 0 || flock(r->fd, LOCK_EX | LOCK_NB)) {
		rc = -errno;
		goto fail_msg;
	}
	self_identity(&self);
	proc_start(getpid(), &start);
	if ((rc = sb_printf(&sb, RUNREG_HEADER "owner %d %llu %s %llu\n", (int)getpid(), start,
			    self.boot[0] ? self.boot : "-", self.pidns)) ||
	    (rc = util_write_all(r->fd, sb.buf, sb.len)))
		goto fail_msg;
	/* only a complete header becomes visible to reapers */
	if (renameat(r->dirfd, tmp, r->dirfd, r->name)) {
		rc = -errno;
		goto fail_msg;
	}
	sb_release(&sb);
	*out = r;
	return 0;
fail_msg:
	snprintf(err, errlen,
		 "cannot register this run under %s/runs (%s): what it leaves behind if it "
		 "is killed will not be cleaned up by the next run",
		 cache_root, strerror(-rc));
	if (r && r->fd >= 0) {
		unlinkat(r->dirfd, tmp, 0);
		close(r->fd);
	}
	if (r && r->dirfd >= 0)
		close(r->dirfd);
	free(r);
	sb_release(&sb);
	return rc;
}

static int add_line(struct runreg *r, const char *kind, const char *value)
{
	if (!r)
		return 0;
	if (strchr(value, '\n'))
		return -EINVAL;
	struct strbuf sb = {0};
	int rc = sb_printf(&sb, "%s %s\n", kind, value);
	if (!rc)
		rc = util_write_all(r->fd, sb.buf, sb.len); /* O_APPEND: one line, one write */
	sb_release(&sb);
	return rc;
}

int runreg_add_path(struct runreg *r, enum runreg_kind kind, const char *path)
{
	return add_line(r, kind == RUNREG_CGROUP ? "cgroup" : "dir", path);
}

int runreg_add_proc(struct runreg *r, pid_t pid)
{
	unsigned long long start;
	char v[64];
	if (!r)
		return 0;
	int rc = proc_start(pid, &start);
	if (rc)
		return rc;
	snprintf(v, sizeof(v), "%d %llu", (int)pid, start);
	return add_line(r, "proc", v);
}

/* ---- reaping ------------------------------------------------------------- */

struct reap_ctx {
	pid_t owner;
	bool same_host; /* same boot and pid namespace: pids mean what they meant */
	unsigned killed;
	struct strbuf done;    /* removed */
	struct strbuf failed;  /* could not be removed: tried again next time */
	struct strbuf refused; /* not a resource a run makes: left alone, dropped */
};

/* A run directory: absolute, named smoltest-run.*, ours, and reached
 * without a symbolic link or "..". */
static int reap_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	if (path[0] != '/' || !base || !util_starts_with(base + 1, "smoltest-run.") ||
	    strlen(base + 1) <= strlen("smoltest-run."))
		return -EINVAL;
	char *real = realpath(path, NULL);
	if (!real)
		return errno == ENOENT ? 0 : -errno;
	bool same = !strcmp(real, path);
	free(real);
	struct stat st;
	if (!same || lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EINVAL;
	return util_rm_rf(path);
}

/* Kills pid if it is still the process recorded (checked through a pidfd,
 * so the pid cannot be reused between the check and the kill). 1 when
 * killed, 0 when gone or not provably ours. */
static int reap_proc(struct reap_ctx *c, pid_t pid, unsigned long long start)
{
	unsigned long long now;
	if (!c->same_host || pid <= 1 || pid == getpid())
		return 0;
	int pfd = pidfd_open(pid, 0);
	if (pfd < 0)
		return 0;
	int rc = 0;
	if (proc_start(pid, &now) == 0 && now == start &&
	    pidfd_send_signal(pfd, SIGKILL, NULL, 0) == 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		while (poll(&p, 1, 2000) < 0 && errno == EINTR)
			;
		rc = 1;
	}
	close(pfd);
	return rc;
}

static void note(struct strbuf *sb, const char *what, const char *path, int err)
{
	sb_printf(sb, "%s%s %s", sb->len ? ", " : "", what, path);
	if (err)
		sb_printf(sb, " (%s)", strerror(-err));
}

static struct strbuf *outcome(struct reap_ctx *c, int rc)
{
	return !rc ? &c->done : rc == -EINVAL ? &c->refused : &c->failed;
}

/* Reaps the records of one file's text: processes first (they may hold
 * files open), then the cgroup, then directories. -EINVAL when the text is
 * not a run record at all. */
static int reap_text(char *text, struct reap_ctx *c)
{
	struct runreg_self self, rec;
	int owner = 0;
	if (!util_starts_with(text, RUNREG_HEADER))
		return -EINVAL;
	memset(&rec, 0, sizeof(rec));
	char *owner_line = text + strlen(RUNREG_HEADER);
	unsigned long long start;
	if (sscanf(owner_line, "owner %d %llu %39s %llu", &owner, &start, rec.boot, &rec.pidns) !=
		4 ||
	    owner <= 0)
		return -EINVAL;
	self_identity(&self);
	c->owner = owner;
	c->same_host = self.boot[0] && !strcmp(self.boot, rec.boot) && self.pidns == rec.pidns;
	for (int pass = 0; pass < 3; pass++) {
		for (char *line = owner_line, *nl; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				break; /* a line cut short by the runner's death */
			*nl = '\0';
			int pid = 0, rc = 0;
			if (pass == 0 && sscanf(line, "proc %d %llu", &pid, &start) == 2)
				c->killed += (unsigned)reap_proc(c, pid, start);
			else if (pass == 1 && util_starts_with(line, "cgroup ") &&
				 (rc = cgroup_reap(line + 7, owner)) != -ENOENT)
				note(outcome(c, rc), "cgroup", line + 7, rc);
			else if (pass == 2 && util_starts_with(line, "dir ") &&
				 (rc = reap_dir(line + 4)) != -ENOENT)
				note(outcome(c, rc), "directory", line + 4, rc);
			*nl = '\n';
		}
	}
	return 0;
}

/* Reaps one locked registry file. Returns 1 when it was a run that is now
 * gone (file removed), 0 when something is left (file kept), -errno for a
 * file that is not a run record (removed: the registry is ours alone). */
static int reap_locked(int dirfd, const char *name, int fd, struct reap_ctx *c)
{
	char *text = NULL;
	/* The run's own record is open O_APPEND at its end: read from the start
	 * (its writes still append). */
	int rc =
	    lseek(fd, 0, SEEK_SET) < 0 ? -errno : util_read_fd(fd, RUNREG_MAX_FILE, &text, NULL);
	if (!rc)
		rc = reap_text(text, c);
	free(text);
	if (rc) {
		unlinkat(dirfd, name, 0);
		return rc;
	}
	if (c->failed.len)
		return 0;
	unlinkat(dirfd, name, 0);
	return 1;
}

static void reap_ctx_release(struct reap_ctx *c)
{
	sb_release(&c->done);
	sb_release(&c->failed);
	sb_release(&c->refused);
}

static void reap_entry(int dirfd, const char *name, FILE *log, unsigned *reaped)
{
	size_t len = strlen(name);
	bool tmp = name[0] == '.' && len > 4 && !strcmp(name + len - 4, ".tmp");
	if (!tmp && (len <= 4 || strcmp(name + len - 4, ".run") || name[0] == '.'))
		return;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	/* a lock that can be taken: the runner is dead; nlink 0: reaped by
	 * another run between our readdir and our lock */
	if (flock(fd, LOCK_EX | LOCK_NB) || fstat(fd, &st) || st.st_nlink == 0) {
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode) || tmp) {
		/* a runner that died before its header was complete owns nothing */
		unlinkat(dirfd, name, 0);
		close(fd);
		return;
	}
	struct reap_ctx c = {0};
	int rc = reap_locked(dirfd, name, fd, &c);
	close(fd);
	char id[80];
	snprintf(id, sizeof(id), "%.*s", (int)(len - 4), name);
	if (rc < 0)
		fprintf(log, "smoltest: removed the run record %s: not a run record (%s)\n", name,
			strerror(-rc));
	else if (rc == 0)
		fprintf(log,
			"smoltest: run %s (pid %d) ended without cleaning up; could not remove: "
			"%s; the next run tries again (remove by hand if it persists)\n",
			id, (int)c.owner, sb_str(&c.failed));
	else {
		fprintf(log,
			"smoltest: run %s (pid %d) ended without cleaning up; reaped: %s%s%u "
			"process%s killed%s%s\n",
			id, (int)c.owner, sb_str(&c.done), c.done.len ? ", " : "", c.killed,
			c.killed == 1 ? "" : "es",
			c.refused.len ? "; left alone (not a run's): " : "", sb_str(&c.refused));
		if (reaped)
			(*reaped)++;
	}
	reap_ctx_release(&c);
}

int runreg_reap(const char *cache_root, FILE *log, unsigned *reaped)
{
	int dirfd;
	if (reaped)
		*reaped = 0;
	int rc = open_runs_dir(cache_root, false, &dirfd);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		fprintf(log,
			"smoltest: cannot read the run registry %s/runs (%s): runs that were "
			"killed are not cleaned up (it must be a directory of this user's, not "
			"writable by others)\n",
			cache_root, strerror(-rc));
		return rc;
	}
	int lfd = dup(dirfd);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		rc = -errno;
		if (lfd >= 0)
			close(lfd);
		close(dirfd);
		return rc;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		reap_entry(dirfd, de->d_name, log, reaped);
	closedir(d);
	close(dirfd);
	return 0;
}

void runreg_finish(struct runreg *r, FILE *log)
{
	if (!r)
		return;
	struct reap_ctx c = {0};
	if (reap_locked(r->dirfd, r->name, r->fd, &c) == 0)
		fprintf(log,
			"smoltest: could not clean up: %s; the next run tries again (remove by "
			"hand if it persists)\n",
			sb_str(&c.failed));
	reap_ctx_release(&c);
	close(r->fd);
	close(r->dirfd);
	free(r);
}
