/* Placeholder until the agent issue lands: replace this file. */
#include "commands.h"

int cmd_exec(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("exec", "the agent issue");
}

