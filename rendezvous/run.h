/*
 * run.h - cove-rendezvous as a function: main.c calls it with no hooks;
 * a test program (tests/tools/tamper.c) links the same objects and calls
 * it with a hook installed, so the tests run the relay that ships.
 */
#ifndef COVE_RV_RUN_H
#define COVE_RV_RUN_H

#include "rendezvous/server.h"

/* Test hooks; every one may be NULL. */
struct rv_hooks {
	rv_tamper_fn tamper; /* see rv_conf.tamper */
};

/* Parses the command line (argv is borrowed, and permuted as getopt_long
 * does), runs the relay until SIGTERM or SIGINT and returns the exit
 * status: 0 after a clean stop, --help or --version, 2 for a bad command
 * line, 1 for any other failure (said on standard error). hooks may be
 * NULL, and is read only before the relay starts. */
int rv_main(int argc, char **argv, const struct rv_hooks *hooks);

#endif
