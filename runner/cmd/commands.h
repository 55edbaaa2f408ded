/* commands: the `smoltest` subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand name) and returns the process exit status:
 * 0 success, 1 test failures, 2 usage or suite error, 3 infrastructure error.
 * Only main() exits. */
#ifndef SMOL_COMMANDS_H
#define SMOL_COMMANDS_H

int cmd_run(int argc, char **argv);	 /* run SUITE */
int cmd_list(int argc, char **argv);	 /* list SUITE */
int cmd_validate(int argc, char **argv); /* validate SUITE */
int cmd_exec(int argc, char **argv);	 /* exec --agent ... -- CMD */
int cmd_image(int argc, char **argv);	 /* image build ... */
int cmd_cache(int argc, char **argv);	 /* cache ls|prune|rm */
int cmd_report(int argc, char **argv);	 /* report merge ... */

/* Exit statuses (DESIGN.md, "Exit codes of smoltest"). */
enum {
	EXIT_OK = 0,
	EXIT_TESTS_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_INFRA = 3,
	EXIT_NO_TESTS = 4, /* the filter, tags and partition selected nothing */
};

#endif
