/* Placeholder until the reporters issue lands: replace this file. */
#include "commands.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("report", "the reporters issue");
}

