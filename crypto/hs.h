/*
 * hs.h - the signatures of the link handshake.
 *
 * Both sides sign the same transcript: the protocol version, the client's
 * ephemeral key and challenge, the server's ephemeral key and challenge.
 * The client's signature also covers the server's identity, so each
 * signature binds both ephemeral keys (and thus the link keys) to the
 * signer, and a fresh challenge from the other side means no signature can
 * be replayed onto another connection.
 *
 *   server signs  "COVE-HS-SERVER-V1\0" || transcript
 *   client signs  "COVE-HS-CLIENT-V1\0" || transcript || server_id
 *   transcript =  u8 version || eph_c || nonce_c || eph_s || nonce_s
 */
#ifndef COVE_CRYPTO_HS_H
#define COVE_CRYPTO_HS_H

#include <stdint.h>

#include "crypto/ident.h"
#include "crypto/sizes.h"

struct cove_hs_transcript {
	uint8_t version;
	uint8_t eph_c[COVE_XPK_LEN];
	uint8_t nonce_c[COVE_HS_NONCE_LEN];
	uint8_t eph_s[COVE_XPK_LEN];
	uint8_t nonce_s[COVE_HS_NONCE_LEN];
};

int cove_hs_server_sign(uint8_t sig[COVE_SIG_LEN], const struct cove_ident *server,
			const struct cove_hs_transcript *t);
/* Returns 0 or COVE_ERR_SIGNATURE. */
int cove_hs_server_verify(const uint8_t server_pk[COVE_PK_LEN],
			  const struct cove_hs_transcript *t, const uint8_t sig[COVE_SIG_LEN]);

int cove_hs_client_sign(uint8_t sig[COVE_SIG_LEN], const struct cove_ident *client,
			const struct cove_hs_transcript *t,
			const uint8_t server_pk[COVE_PK_LEN]);
/* Returns 0 or COVE_ERR_SIGNATURE. */
int cove_hs_client_verify(const uint8_t client_pk[COVE_PK_LEN],
			  const struct cove_hs_transcript *t,
			  const uint8_t server_pk[COVE_PK_LEN], const uint8_t sig[COVE_SIG_LEN]);

#endif
