/*
 * sign.h - the relay's own frames: signed with its identity, and numbered
 * by one counter for everything it signs (ERR, WLC, and the rooms'
 * INI, ASK, REK and BYE).
 */
#ifndef COVE_RV_SIGN_H
#define COVE_RV_SIGN_H

#include <stdint.h>

#include "crypto/ident.h"
#include "wire/frame.h"

struct rv_signer {
	const struct cove_ident *id;   /* borrowed */
	uint64_t seq;                  /* the last number given */
};

/* Starts s for id. The numbers start at the clock, in microseconds, so
 * that they keep rising across restarts. */
void rv_signer_init(struct rv_signer *s, const struct cove_ident *id);

/* Fills f's from, seq and ts as the relay's and signs it. Returns 0 or
 * a negative cove_err. */
int rv_sign(struct rv_signer *s, struct cove_frame *f);

#endif
