/* cli: top-level argument handling for `smoltest`, kept apart from main()
 * so that it can be unit-tested. */
#ifndef SMOL_CLI_H
#define SMOL_CLI_H

#include <stdio.h>

typedef int (*cli_command_fn)(int argc, char **argv);

struct cli_command {
	const char *name;
	const char *args;    /* usage synopsis after the name */
	const char *summary; /* one line */
	cli_command_fn fn;
};

/* The table of subcommands, NULL-name terminated. */
extern const struct cli_command cli_commands[];

/* Finds a subcommand by name, or NULL. */
const struct cli_command *cli_find(const char *name);

/* Writes the usage text to f. */
void cli_usage(FILE *f);

/* Runs smoltest with its full argv and returns the exit status. */
int cli_main(int argc, char **argv);

#endif
