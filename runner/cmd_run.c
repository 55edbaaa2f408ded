/* Placeholder until the runner issue lands: replace this file. */
#include "commands.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("run", "the runner issue");
}

int cmd_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("list", "the runner issue");
}

int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("validate", "the runner issue");
}

