/* snap_fork: N VMs from one snapshot, each its own `smolvm restore` process.
 *
 * Fork i lives in DIR/<i>/: serial.log (its console), control.sock (its
 * control socket), vsock.sock (its vsock host socket, with vsock_cid),
 * and, when the snapshot has a disk, disk.layer (its own
 * writable top layer over the snapshot's frozen stack) — deleting the
 * directory discards everything the fork changed. Guest RAM is the
 * snapshot's memory section mapped MAP_PRIVATE by each process, so forks
 * share every page none of them wrote. This is the API the runner uses;
 * `smolvm fork` is a thin wrapper around it. */
#ifndef SMOL_SNAP_FORK_H
#define SMOL_SNAP_FORK_H

#include "smolvm/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SNAP_FORK_PATH_MAX 4096

struct snap_fork_opts {
	const char *smolvm;    /* the smolvm binary to run ("smolvm restore ...") */
	const char *snapshot;  /* .smolsnap path */
	const char *dir;       /* per-fork directories go under here */
	bool control;	       /* give each fork a control socket */
	const char *vsock_cid; /* non-NULL: each fork gets virtio-vsock with this guest
				* CID and its own host socket DIR/<i>/vsock.sock */
	const char *const
	    *extra_args; /* more `smolvm restore` args, NULL-terminated; may be NULL */
};

struct snap_fork_paths {
	char dir[SNAP_FORK_PATH_MAX];
	char serial[SNAP_FORK_PATH_MAX];
	char control[SNAP_FORK_PATH_MAX];
	char disk_layer[SNAP_FORK_PATH_MAX];
	char vsock[SNAP_FORK_PATH_MAX];
};

/* Fills the paths of fork i. -ENAMETOOLONG when they do not fit. */
int snap_fork_paths(const char *dir, unsigned i, struct snap_fork_paths *out);

/* Creates DIR/<i>/ (its previous content is removed) and starts fork i:
 * a child in its own process group that dies with the caller
 * (PR_SET_PDEATHSIG) and execs `smolvm restore SNAPSHOT --serial ...`.
 * *pid is the child. The caller reaps it (waitpid). */
int snap_fork_start(const struct snap_fork_opts *o, unsigned i, pid_t *pid, struct vmm_err *err);

#endif
