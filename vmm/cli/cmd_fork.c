/* `smolvm fork FILE -n N --dir DIR [--control] [--vsock-cid CID] [-- ARGS...]`: starts
 * N VMs from one snapshot, each a separate `smolvm restore` process with its
 * files under DIR/<i>/ (snap_fork.h), waits for all of them, and prints one
 * line per fork. Exit status 0 when every fork exited 0, 1 otherwise, 2 for
 * bad arguments. */
#include "cli/cli.h"
#include "snapshot/snap_file.h"
#include "snapshot/snap_fork.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORK_MAX 1024

static void usage(FILE *f)
{
	fprintf(f, "usage: smolvm fork FILE -n N --dir DIR [--control] [--vsock-cid CID]\n"
		   "                   [-- RESTORE-ARGS...]\n"
		   "  starts N `smolvm restore FILE` processes; fork i writes DIR/i/serial.log\n"
		   "  (and DIR/i/control.sock with --control, DIR/i/vsock.sock with --vsock-cid,\n"
		   "  DIR/i/disk.layer when the snapshot has a disk)\n");
}

int cmd_fork(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"control", no_argument, NULL, 'c'},
	    {"vsock-cid", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint64_t n = 0;
	struct snap_fork_opts o = {0};
	/* Everything after "--" goes to each `smolvm restore` unparsed. */
	int nargs = argc;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			nargs = i;
			break;
		}
	o.extra_args = nargs < argc ? (const char *const *)&argv[nargs + 1] : NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(nargs, argv, "n:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (util_parse_u64(optarg, 1, FORK_MAX, &n)) {
				fprintf(stderr, "smolvm fork: -n %s: give a number from 1 to %d\n",
					optarg, FORK_MAX);
				return SMOLVM_EXIT_USAGE;
			}
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'c':
			o.control = true;
			break;
		case 'v':
			o.vsock_cid = optarg;
			break;
		case 'h':
			usage(stdout);
			return SMOLVM_EXIT_OK;
		default:
			fprintf(stderr, "smolvm fork: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return SMOLVM_EXIT_USAGE;
		}
	}
	if (optind + 1 != nargs || !n || !o.dir) {
		usage(stderr);
		return SMOLVM_EXIT_USAGE;
	}
	o.snapshot = argv[optind];

	/* Fail fast, once, on a bad snapshot instead of N times in the forks. */
	struct snap_file *f = NULL;
	struct vmm_err err;
	if (snap_file_open(o.snapshot, &f, &err)) {
		fprintf(stderr, "smolvm fork: %s\n", err.msg);
		return SMOLVM_EXIT_USAGE;
	}
	snap_file_close(f);
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		fprintf(stderr, "smolvm fork: cannot find the smolvm binary: %s\n",
			strerror(errno));
		return SMOLVM_EXIT_FAIL;
	}
	self[len] = '\0';
	o.smolvm = self;
	int rc = util_mkdir_p(o.dir, 0755);
	if (rc) {
		fprintf(stderr, "smolvm fork: %s: %s\n", o.dir, strerror(-rc));
		return SMOLVM_EXIT_FAIL;
	}

	pid_t *pids = calloc(n, sizeof(*pids));
	if (!pids)
		return SMOLVM_EXIT_FAIL;
	uint64_t t0 = util_now_ns();
	unsigned started = 0;
	for (; started < n; started++) {
		if (snap_fork_start(&o, started, &pids[started], &err)) {
			fprintf(stderr, "smolvm fork: fork %u: %s\n", started, err.msg);
			break;
		}
	}
	uint64_t t_started = util_now_ns();
	unsigned failed = started < n ? 1 : 0;
	for (unsigned i = 0; i < started; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0) {
			failed++;
			continue;
		}
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		printf("fork %u: pid %d exit %d\n", i, (int)pids[i], code);
		if (code)
			failed++;
	}
	uint64_t t_done = util_now_ns();
	printf("forked %u VMs from %s in %.1f ms, all ended after %.1f ms, %u failed\n", started,
	       o.snapshot, (double)(t_started - t0) / 1e6, (double)(t_done - t0) / 1e6, failed);
	free(pids);
	return failed ? SMOLVM_EXIT_FAIL : SMOLVM_EXIT_OK;
}
