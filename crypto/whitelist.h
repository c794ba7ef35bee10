/*
 * whitelist.h - the team's whitelist file: who may connect and who may
 * hold a room's key.
 *
 * One entry per line, "NAME PUBKEY", separated by spaces or tabs. NAME is
 * 1-32 characters from [A-Za-z0-9._-]; PUBKEY is the 44-character base64
 * of an Ed25519 public key that cove_pk_check() accepts (a key no secret
 * key can have is an error of its line). '#' starts a comment; blank lines
 * are ignored. Names and keys are unique within a file.
 *
 *   # the blue team
 *   alice  rXwUxxAHWZ2pXu46xK+urkAkXFhsrbS6C4q5V9hCAVs=
 *   bob    Jg0jO8XHHzYHKFSZJ3Szu0ypM7dLF7rkNVCn1p4AlIo=   # laptop
 *
 * Errors carry the line number and a message in struct cove_wl_diag, for
 * the caller to print as FILE:LINE: MESSAGE.
 */
#ifndef COVE_CRYPTO_WHITELIST_H
#define COVE_CRYPTO_WHITELIST_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sizes.h"

#define COVE_NAME_MAX 32
#define COVE_WL_MAX_FILE (16u << 20)

struct cove_wl_entry {
	char name[COVE_NAME_MAX + 1];
	uint8_t pk[COVE_PK_LEN];
	unsigned line;
};

struct cove_wl_diag {
	unsigned line;    /* 0 when the error is not about one line */
	char msg[256];
};

struct cove_wl; /* a parsed whitelist; opaque */

/* Whether name is 1-32 characters from [A-Za-z0-9._-]. */
int cove_name_valid(const char *name, size_t len);

/* Parses whitelist text. On success *out is a new list the caller frees
 * with cove_wl_free(). Returns 0, COVE_ERR_SYNTAX (diag filled: the first
 * error) or COVE_ERR_NOMEM. diag may be NULL. */
int cove_wl_parse(struct cove_wl **out, const char *text, size_t len,
		  struct cove_wl_diag *diag);

/* Like cove_wl_parse(), but reports every error through on_error instead
 * of stopping at the first (for `cove-keys check`). out may be NULL. */
int cove_wl_parse_all(struct cove_wl **out, const char *text, size_t len,
		      void (*on_error)(void *ctx, const struct cove_wl_diag *d), void *ctx);

/* Reads and parses path. Returns as cove_wl_parse(), or COVE_ERR_IO with
 * errno set, or COVE_ERR_LIMIT for a file above COVE_WL_MAX_FILE. */
int cove_wl_load(struct cove_wl **out, const char *path, struct cove_wl_diag *diag);

void cove_wl_free(struct cove_wl *wl);

size_t cove_wl_count(const struct cove_wl *wl);

/* The i-th entry in file order (i < cove_wl_count()); owned by wl. */
const struct cove_wl_entry *cove_wl_at(const struct cove_wl *wl, size_t i);

/* Looks an entry up by key (O(log n)) or by name; NULL when absent. */
const struct cove_wl_entry *cove_wl_find_pk(const struct cove_wl *wl,
					    const uint8_t pk[COVE_PK_LEN]);
const struct cove_wl_entry *cove_wl_find_name(const struct cove_wl *wl, const char *name);

/* Appends "NAME PUBKEY" to the file at path (creating it, mode 0644, if
 * absent), or removes NAME's line, keeping every other line and comment.
 * The file is locked (flock) for the whole read-modify-write and replaced
 * by rename, so concurrent edits are serialised and none is lost, and a
 * reader sees the old or the new file, never half of one.
 * Returns 0; COVE_ERR_SYNTAX when the current file does not parse (diag
 * says where; remove overlooks lines whose key fails cove_pk_check(), so
 * that such a line can be removed); COVE_ERR_EXISTS when the name or key
 * is already there, COVE_ERR_NOTFOUND when the name is not (diag says
 * which line); COVE_ERR_INVAL for an invalid name; COVE_ERR_BAD_KEY when
 * add's pk fails cove_pk_check(); COVE_ERR_IO with errno set. */
int cove_wl_add(const char *path, const char *name, const uint8_t pk[COVE_PK_LEN],
		struct cove_wl_diag *diag);
int cove_wl_remove(const char *path, const char *name, struct cove_wl_diag *diag);

#endif
