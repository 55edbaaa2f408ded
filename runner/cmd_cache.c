/* Placeholder until the runner issue lands: replace this file. */
#include "commands.h"

int cmd_cache(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("cache", "the runner issue");
}

