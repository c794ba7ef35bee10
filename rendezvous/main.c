/*
 * cove-rendezvous - the relay: authenticates nodes against the whitelist
 * and forwards their signed frames between the members of each room,
 * seeing neither messages nor keys. All of it is in run.c; this file only
 * keeps main() out of the objects a test program links.
 */
#include <stddef.h>

#include "rendezvous/run.h"

int main(int argc, char **argv)
{
	return rv_main(argc, argv, NULL);
}
