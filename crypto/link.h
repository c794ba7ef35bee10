/*
 * link.h - the encrypted, authenticated record layer between a node and
 * the rendezvous.
 *
 * Each direction has its own ChaCha20-Poly1305 (IETF) key from libsodium's
 * crypto_kx over the handshake's ephemeral X25519 keys, and its own 64-bit
 * record counter that starts at 0. The nonce is 0x00000000 || u64be
 * counter, so a record that is dropped, repeated, reordered or injected
 * fails to open. Records are only ever opened in order; the first failure
 * is final for the connection.
 *
 * struct cove_link holds session keys: call cove_link_wipe() when done.
 */
#ifndef COVE_CRYPTO_LINK_H
#define COVE_CRYPTO_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/group.h"
#include "crypto/sizes.h"

struct cove_link {
	uint8_t rx[COVE_LINK_KEY_LEN];
	uint8_t tx[COVE_LINK_KEY_LEN];
	uint64_t rx_n;
	uint64_t tx_n;
};

/* Derives the client's keys from its ephemeral key pair and the server's
 * ephemeral public key. Returns 0 or COVE_ERR_PEER_KEY (a weak key). */
int cove_link_client(struct cove_link *l, const struct cove_xkp *eph,
		     const uint8_t server_eph[COVE_XPK_LEN]);

/* The server's side of cove_link_client(). */
int cove_link_server(struct cove_link *l, const struct cove_xkp *eph,
		     const uint8_t client_eph[COVE_XPK_LEN]);

void cove_link_wipe(struct cove_link *l);

/* Encrypts pt under the next send counter into out (pt_len +
 * COVE_LINK_TAG_LEN bytes; out may equal pt). ad is authenticated, not
 * encrypted. Returns 0 or COVE_ERR_LIMIT when the counter is exhausted. */
int cove_link_seal(struct cove_link *l, uint8_t *out, const uint8_t *pt, size_t pt_len,
		   const uint8_t *ad, size_t ad_len);

/* Decrypts the next received record into out (ct_len - COVE_LINK_TAG_LEN
 * bytes; out may equal ct). Returns 0, COVE_ERR_INVAL (too short),
 * COVE_ERR_DECRYPT or COVE_ERR_LIMIT. */
int cove_link_open(struct cove_link *l, uint8_t *out, const uint8_t *ct, size_t ct_len,
		   const uint8_t *ad, size_t ad_len);

#endif
