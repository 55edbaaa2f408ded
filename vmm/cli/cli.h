/* cli: the `smolvm` command line.
 *
 * Subcommands are rows of commands.def: SMOLVM_CMD(fn, "name", args, summary)
 * needs `int cmd_fn(int argc, char **argv)` in its own file cmd_fn.c, listed
 * in its area's vmm/AREA.cmake fragment. argv[0] is the subcommand name. Each returns
 * the process exit status (only main exits).
 *
 * `smolvm run` options are rows of run_opts.def:
 *   RUN_OPT(name, metavar, help, handler)
 * metavar NULL means a flag without argument. The handler,
 * `int handler(struct vm_config *cfg, const char *arg)`, stores what it
 * parsed in cfg (strings may be borrowed from argv) and returns 0 or -errno
 * after printing one line naming the option and the bad value. Handlers for
 * other areas' options live in those areas' cli files. */
#ifndef SMOLVM_CLI_H
#define SMOLVM_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct vm_config;
struct vmm_log;

#define SMOLVM_CMD(fn, name, args, summary) int cmd_##fn(int argc, char **argv);
#include "cli/commands.def"
#undef SMOLVM_CMD

#define RUN_OPT(name, metavar, help, handler) int handler(struct vm_config *cfg, const char *arg);
#include "cli/run_opts.def"
#undef RUN_OPT

/* Exit statuses of smolvm subcommands other than run's guest status. */
enum {
	SMOLVM_EXIT_OK = 0,
	SMOLVM_EXIT_FAIL = 1,
	SMOLVM_EXIT_USAGE = 2,
};

/* The log sink run and restore give the VM (smolvm/err.h): each line as
 * "smolvm: <line>" on stderr, the format of every other smolvm message. */
extern const struct vmm_log cli_log;

/* Prints run's option list (from run_opts.def) to f. */
void cli_run_usage(FILE *f);

/* --ready-fd N of run and restore: an fd the starter gave (the write end
 * of a pipe), closed once the VM is built and its sockets listen, so that
 * the starter connects then instead of watching for the socket to appear.
 * Parses arg into *fd (N >= 3 and open; made close-on-exec) or prints one
 * line naming cmd and returns -EINVAL. */
int cli_ready_fd_parse(const char *cmd, const char *arg, int *fd);
/* Closes *fd when it is one (>= 0) and sets it to -1. */
void cli_ready(int *fd);

struct vm;
/* With SMOLVM_TIMINGS set: opens KVM's per-vCPU counters (call before the
 * seccomp filter goes on); true when they are to be printed. */
bool cli_kvm_stats_open(struct vm *vm);
/* Prints one line per vCPU of KVM's non-zero counters on stderr:
 * "smolvm-kvm-stats: vcpu0 exits=N io_exits=N ..." (call before
 * vm_destroy). */
void cli_kvm_stats_print(struct vm *vm);

#endif
