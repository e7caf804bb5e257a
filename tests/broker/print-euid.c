/* print-euid: prints its effective uid.  Installed setuid root by a test. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("%u\n", (unsigned int)geteuid());
	return 0;
}
