/* smolvm: the libsmolvm command line. Subcommands come from commands.def;
 * see cli.h for how to add one. */
#include "cli/cli.h"
#include "smolvm/err.h"
#include "smolvm/version.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

struct smolvm_cmd {
	const char *name;
	const char *args;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

static const struct smolvm_cmd commands[] = {
#define SMOLVM_CMD(fn, name, args, summary) {name, args, summary, cmd_##fn},
#include "cli/commands.def"
#undef SMOLVM_CMD
};

/* One fprintf per line: stdio's lock keeps lines from the vCPU threads and
 * the event loop whole, and it makes only the write(2) seccomp allows. */
static void log_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "smolvm: %s\n", line);
}

const struct vmm_log cli_log = {log_stderr, NULL};

static void usage(FILE *f)
{
	fprintf(f, "usage: smolvm COMMAND [ARGS...]\n"
		   "       smolvm --version | --help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", commands[i].name, commands[i].args, "",
			commands[i].summary);
	fprintf(f, "\nrun options:\n");
	cli_run_usage(f);
}

int main(int argc, char **argv)
{
	/* A VMM never outlives the process that started it (DESIGN.md,
	 * "Process model"), and never gains privileges through exec. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (argc < 2) {
		usage(stderr);
		return SMOLVM_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version")) {
		printf("smolvm %s\n", smolvm_version());
		return SMOLVM_EXIT_OK;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return SMOLVM_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "smolvm: unknown command '%s'; run 'smolvm --help' for the list\n", cmd);
	return SMOLVM_EXIT_USAGE;
}
