/* Placeholder until the image builder issue lands: replace this file. */
#include "commands.h"

int cmd_image(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_implemented("image", "the image builder issue");
}

