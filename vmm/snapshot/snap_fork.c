#include "snap_fork.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util.h"

#define FORK_MAX_ARGS 48

static int fit(char *buf, const char *dir, unsigned i, const char *leaf)
{
	int n = leaf ? snprintf(buf, SNAP_FORK_PATH_MAX, "%s/%u/%s", dir, i, leaf)
		     : snprintf(buf, SNAP_FORK_PATH_MAX, "%s/%u", dir, i);
	return n < 0 || n >= SNAP_FORK_PATH_MAX ? -ENAMETOOLONG : 0;
}

int snap_fork_paths(const char *dir, unsigned i, struct snap_fork_paths *out)
{
	if (fit(out->dir, dir, i, NULL) || fit(out->serial, dir, i, "serial.log") ||
	    fit(out->control, dir, i, "control.sock") ||
	    fit(out->disk_layer, dir, i, "disk.layer") || fit(out->vsock, dir, i, "vsock.sock"))
		return -ENAMETOOLONG;
	return 0;
}

int snap_fork_start(const struct snap_fork_opts *o, unsigned i, pid_t *pid, struct vmm_err *err)
{
	struct snap_fork_paths p;
	if (snap_fork_paths(o->dir, i, &p))
		return vmm_errf(err, -ENAMETOOLONG, "%s: fork directory path too long", o->dir);
	util_rm_rf(p.dir);
	int rc = util_mkdir_p(p.dir, 0755);
	if (rc)
		return vmm_errf(err, rc, "%s: cannot create: %s", p.dir, strerror(-rc));
	const char *argv[FORK_MAX_ARGS];
	size_t n = 0;
	argv[n++] = o->smolvm;
	argv[n++] = "restore";
	argv[n++] = o->snapshot;
	argv[n++] = "--serial";
	argv[n++] = p.serial;
	if (o->control) {
		argv[n++] = "--control";
		argv[n++] = p.control;
	}
	char vsock_arg[SNAP_FORK_PATH_MAX + 32];
	if (o->vsock_cid) {
		int k = snprintf(vsock_arg, sizeof(vsock_arg), "%s,%s", o->vsock_cid, p.vsock);
		if (k < 0 || (size_t)k >= sizeof(vsock_arg))
			return vmm_errf(err, -ENAMETOOLONG, "%s: vsock path too long", p.vsock);
		argv[n++] = "--vsock";
		argv[n++] = vsock_arg;
	}
	argv[n++] = "--fork-dir";
	argv[n++] = p.dir;
	for (size_t k = 0; o->extra_args && o->extra_args[k]; k++) {
		if (n + 2 > FORK_MAX_ARGS)
			return vmm_errf(err, -E2BIG, "too many extra restore arguments");
		argv[n++] = o->extra_args[k];
	}
	argv[n] = NULL;
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0)
		return vmm_errf(err, -errno, "fork: %s", strerror(errno));
	if (child == 0) {
		/* Only async-signal-safe calls from here to exec. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* the parent died before prctl */
		execv(o->smolvm, (char *const *)argv);
		_exit(127);
	}
	*pid = child;
	return 0;
}
