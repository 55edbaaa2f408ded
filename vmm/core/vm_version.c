/* Placeholder until the VMM core lands. */
#include "smolvm/version.h"

const char *smolvm_version(void)
{
	return SMOLTEST_VERSION;
}
