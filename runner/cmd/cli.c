#include "cmd/cli.h"

#include "cmd/commands.h"
#include "suite/suggest.h"

#include <string.h>

const struct cli_command cli_commands[] = {
    {"run", "SUITE [options]", "run a suite's tests, each in a fresh copy-on-write sandbox (or VM)",
     cmd_run},
    {"list", "SUITE [options]", "list the tests a run would select (filters, partition)", cmd_list},
    {"validate", "SUITE", "check a suite file and report every error with file:line:column",
     cmd_validate},
    {"exec", "--agent unix:PATH|vsock:UDS:PORT [options] -- CMD [ARGS...]",
     "run one command through a smoltest agent", cmd_exec},
    {"image", "build --kernel-deb PATH.deb -o DIR [options] | rootfs --from SRC -o FILE",
     "build a guest kernel + initramfs, or a root file system image", cmd_image},
    {"cache", "ls|prune|rm [ID...]", "inspect or clean the warm snapshot cache", cmd_cache},
    {"report", "merge A.xml B.xml ... -o OUT.xml", "merge JUnit reports from sharded runs",
     cmd_report},
    {NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cli_usage(FILE *f)
{
	fprintf(f, "usage: smoltest COMMAND [ARGS...]\n"
		   "       smoltest --version | --help\n\n"
		   "commands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-9s %s\n  %-9s   %s\n", c->name, c->args, "", c->summary);
	fprintf(f, "\nexit status: 0 all passed, 1 a test failed, 2 usage or suite error,\n"
		   "3 infrastructure error (VM would not boot, snapshot unusable, agent lost)\n");
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("smoltest %s\n", SMOLTEST_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cli_usage(stdout);
		return EXIT_OK;
	}
	const struct cli_command *c = cli_find(cmd);
	if (!c) {
		const char *near = suggest_closest(cmd, cli_commands, sizeof(cli_commands[0]));
		fprintf(
		    stderr,
		    "smoltest: unknown command '%s'%s%s%s; run 'smoltest --help' for the list\n",
		    cmd, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
