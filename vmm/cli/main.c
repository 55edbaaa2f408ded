/* Placeholder until the VMM core lands: `smolvm --version` only. */
#include "smolvm/version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("smolvm %s\n", smolvm_version());
		return 0;
	}
	fprintf(stderr, "smolvm: not implemented yet (the VMM core issue)\n");
	return 2;
}
