/*
 * group.h - a room's group key: sealing it to a joiner, deriving the
 * per-sender DAT keys from it, and the AES-256-GCM of DAT frames.
 *
 * Group keys and session X25519 key pairs live in locked memory: get them
 * from cove_gk_new() and cove_xkp_new(), release them with the matching
 * _free(), which wipes.
 */
#ifndef COVE_CRYPTO_GROUP_H
#define COVE_CRYPTO_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sizes.h"

/* A session X25519 key pair: fresh for each join, wiped once the joiner
 * holds the group key. */
struct cove_xkp {
	uint8_t pk[COVE_XPK_LEN];
	uint8_t sk[COVE_XSK_LEN];
};

/* Returns a new random key pair in locked memory, or NULL. */
struct cove_xkp *cove_xkp_new(void);
void cove_xkp_free(struct cove_xkp *kp);

/* Returns COVE_GK_LEN random bytes in locked memory, or NULL. */
uint8_t *cove_gk_new(void);
/* Returns COVE_GK_LEN zero bytes in locked memory (to be filled by
 * cove_gk_open()), or NULL. */
uint8_t *cove_gk_alloc(void);
void cove_gk_free(uint8_t *gk);

/* Seals gk to a joiner's session key (crypto_box_seal). */
int cove_gk_seal(uint8_t sealed[COVE_SEALED_GK_LEN], const uint8_t *gk,
		 const uint8_t xpk[COVE_XPK_LEN]);

/* Opens a sealed group key with the joiner's session key pair into gk.
 * Returns 0 or COVE_ERR_DECRYPT. */
int cove_gk_open(uint8_t *gk, const uint8_t sealed[COVE_SEALED_GK_LEN],
		 const struct cove_xkp *kp);

/* Derives the DAT key of one sender's session in one room and epoch:
 * BLAKE2b-256 keyed with gk over "COVE-DAT-KEY-V1\0" || u8 room_len ||
 * room || from || u32be epoch || sid. room_len is 1..255. */
int cove_dat_key(uint8_t out[COVE_DATKEY_LEN], const uint8_t *gk,
		 const char *room, size_t room_len, const uint8_t from[32],
		 uint32_t epoch, const uint8_t sid[COVE_SID_LEN]);

#define COVE_KID_LEN 32
#define COVE_VIEW_LEN 16

/* The key id carried in every DAT and KEY: a commitment to gk and its
 * epoch, so that two members holding different keys for one epoch find
 * out, and a joiner knows the key it opened is the one the room's DATs
 * use. BLAKE2b-256 keyed with gk over "COVE-KID-V2\0" || u32be epoch:
 * 256 bits, so that finding two keys with one id costs about 2^128 work
 * (AES-GCM does not commit to its key; this does). Reveals nothing of
 * gk. */
void cove_gk_kid(uint8_t kid[COVE_KID_LEN], const uint8_t *gk, uint32_t epoch);

/* The hash of a member list carried in KEY: BLAKE2b-128 over
 * "COVE-VIEW-V1\0" || u32be epoch || the n identities sorted bytewise.
 * ids is sorted in place. */
void cove_view_hash(uint8_t out[COVE_VIEW_LEN], uint32_t epoch, uint8_t (*ids)[32], size_t n);

/* AES-256-GCM with nonce = 0x00000000 || u64be seq. ct receives
 * pt_len + COVE_GCM_TAG_LEN bytes. The caller must never reuse a seq
 * under one key. Returns 0. */
int cove_dat_seal(uint8_t *ct, const uint8_t *pt, size_t pt_len,
		  const uint8_t *ad, size_t ad_len, uint64_t seq,
		  const uint8_t key[COVE_DATKEY_LEN]);

/* Inverse of cove_dat_seal; pt receives ct_len - COVE_GCM_TAG_LEN bytes.
 * Returns 0, COVE_ERR_INVAL (ct shorter than a tag) or COVE_ERR_DECRYPT. */
int cove_dat_open(uint8_t *pt, const uint8_t *ct, size_t ct_len,
		  const uint8_t *ad, size_t ad_len, uint64_t seq,
		  const uint8_t key[COVE_DATKEY_LEN]);

#endif
