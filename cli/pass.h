/*
 * pass.h - reading passphrases, from a file or from the terminal.
 *
 * Passphrases live in locked memory: free them with cove_pass_free(),
 * which wipes.
 */
#ifndef COVE_CLI_PASS_H
#define COVE_CLI_PASS_H

#include <stddef.h>

#define COVE_PASS_MAX 1024

/* Reads the first line of path, without its line ending, into *out
 * (NUL-terminated). Returns 0, COVE_ERR_IO (errno set), COVE_ERR_LIMIT
 * (longer than COVE_PASS_MAX) or COVE_ERR_NOMEM. */
int cove_pass_from_file(const char *path, char **out, size_t *len);

/* Prints prompt on the controlling terminal and reads a line with echo
 * turned off (restored even on Ctrl-C). With confirm, asks a second time
 * and fails with COVE_ERR_PASSPHRASE when the two differ. Returns 0,
 * COVE_ERR_IO (no terminal), COVE_ERR_LIMIT or COVE_ERR_NOMEM. */
int cove_pass_prompt(const char *prompt, int confirm, char **out, size_t *len);

void cove_pass_free(char *p);

#endif
