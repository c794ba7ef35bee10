/*
 * run.h - cove-node as a function: main.c calls it with no hooks; a test
 * program (tests/tools/keylog.c) links the same objects and calls it with
 * a hook installed, so the tests run the node that ships.
 */
#ifndef COVE_ND_RUN_H
#define COVE_ND_RUN_H

#include <stdint.h>

/* Test hooks; every one may be NULL. */
struct nd_hooks {
	/* Passed to the chat core as cove_chat_deps.keylog (chat/chat.h). */
	void (*keylog)(void *ctx, const char *room, uint32_t epoch, const uint8_t *gk);
	void *keylog_ctx;
};

/* Parses the command line (argv is borrowed, and permuted as getopt_long
 * does), runs the node until it quits and returns its exit status, as
 * cove-node(1) lists them (2 for a bad command line). hooks may be NULL;
 * it is copied before the node starts. */
int nd_main(int argc, char **argv, const struct nd_hooks *hooks);

#endif
