/* prog: each run covers one function, chosen by its argument. */
#include <stdio.h>
#include <string.h>

int fa(int x) { return x + 1; }

int fb(int x) {
	if (x > 0)
		return x * 2;
	return 0;
}

int never(void) { return 42; }

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "a") == 0)
		printf("%d\n", fa(1));
	if (argc > 1 && strcmp(argv[1], "b") == 0)
		printf("%d\n", fb(1));
	return 0;
}
