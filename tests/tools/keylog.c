/*
 * keylog.c - build/tests/cove-node-keylog: the real node (linked from the
 * very objects of cove-node, run through nd_main()) with a keylog hook
 * that appends every group key it takes to the file COVE_TEST_KEYLOG
 * names, one "ROOM EPOCH HEXKEY" line each, so a test can show what a
 * removed member's last key can and cannot open.
 *
 * Nothing here is built into the programs that are installed: there the
 * hook is NULL, and nothing reads this variable.
 */
#include <stdio.h>
#include <stdlib.h>

#include "crypto/sizes.h"
#include "node/run.h"

static void keylog(void *ctx, const char *room, uint32_t epoch, const uint8_t *gk)
{
	const char *path = getenv("COVE_TEST_KEYLOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	(void)ctx;
	if (!f)
		return;
	fprintf(f, "%s %u ", room, epoch);
	for (size_t i = 0; i < COVE_GK_LEN; i++)
		fprintf(f, "%02x", gk[i]);
	fprintf(f, "\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct nd_hooks hooks = { .keylog = keylog };

	return nd_main(argc, argv, &hooks);
}
