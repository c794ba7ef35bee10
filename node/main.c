/*
 * cove-node - join rooms on a Cove rendezvous and chat: interactively on
 * a terminal, line by line through a pipe, or as JSON lines (--json).
 * All of it is in run.c; this file only keeps main() out of the objects a
 * test program links.
 */
#include <stddef.h>

#include "node/run.h"

int main(int argc, char **argv)
{
	return nd_main(argc, argv, NULL);
}
