/* smoltest: the CI test runner. All logic lives in the library; main() only
 * hands over the arguments and exits with the status it gets back. */
#include "cmd/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
