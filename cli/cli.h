/*
 * cli.h - what the three programs share on their command lines: loading a
 * key or a whitelist with messages that say what to do, parsing keys and
 * addresses, and reading a clock.
 *
 * Functions here print to standard error (prefixed with the program's
 * name) and return NULL or a negative value; main decides to exit.
 */
#ifndef COVE_CLI_CLI_H
#define COVE_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "crypto/whitelist.h"

/* The program name used as the prefix of messages. */
extern const char *cove_prog;

/* Prints "PROG: MESSAGE" and a newline to standard error, the message
 * passed through cove_utf8_visible() (it may quote a hostile name). */
void cove_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads the secret key in path: refuses a file others may read, asks for
 * the passphrase of an encrypted key (from pass_file, else from the
 * terminal when there is one). Returns the identity (free with
 * cove_ident_free()) or NULL after printing why. */
struct cove_ident *cove_cli_identity(const char *path, const char *pass_file);

/* Words for why a key file's public key is refused (COVE_ERR_BAD_KEY or
 * COVE_ERR_KEY_MISMATCH from cove_kf_parse() or cove_kf_unlock()), to
 * follow "key file 'PATH' is damaged: ". */
const char *cove_cli_key_damage(int err);

/* Loads a whitelist, or prints "PROG: PATH:LINE: MESSAGE" and returns NULL. */
struct cove_wl *cove_cli_whitelist(const char *path);

/* Parses a base64 public key given as option opt and refuses one that
 * cove_pk_check() refuses. Prints why on failure. Returns 0 or -1. */
int cove_cli_pubkey(const char *opt, const char *s, uint8_t pk[COVE_PK_LEN]);

/* Splits "HOST:PORT" or "[V6ADDR]:PORT" into host (NUL-terminated, at most
 * hostcap bytes) and port. Returns 0 or -1 (printing why; opt names the
 * option). With allow_zero, port 0 is accepted. */
int cove_cli_hostport(const char *opt, const char *s, char *host, size_t hostcap,
		      uint16_t *port, int allow_zero);

/* Milliseconds and microseconds since the Unix epoch (wall clock). */
uint64_t cove_now_ms(void);
uint64_t cove_now_us(void);

#endif
