/* calc OP A B WANT: exits 0 when A OP B is WANT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	long a = strtol(argv[2], NULL, 10), b = strtol(argv[3], NULL, 10);
	long want = strtol(argv[4], NULL, 10), got;
	if (!strcmp(argv[1], "add"))
		got = a + b;
	else if (!strcmp(argv[1], "sub"))
		got = a - b;
	else if (!strcmp(argv[1], "mul"))
		got = a * b;
	else
		return 2;
	printf("%ld %s %ld = %ld\n", a, argv[1], b, got);
	return got == want ? 0 : 1;
}
