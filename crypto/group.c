#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/group.h"

static const char dat_key_domain[] = "COVE-DAT-KEY-V1"; /* sizeof includes the NUL */

struct cove_xkp *cove_xkp_new(void)
{
	struct cove_xkp *kp = sodium_malloc(sizeof(*kp));

	if (kp)
		crypto_box_keypair(kp->pk, kp->sk);
	return kp;
}

void cove_xkp_free(struct cove_xkp *kp)
{
	if (kp)
		sodium_free(kp);
}

uint8_t *cove_gk_alloc(void)
{
	uint8_t *gk = sodium_malloc(COVE_GK_LEN);

	if (gk)
		sodium_memzero(gk, COVE_GK_LEN);
	return gk;
}

uint8_t *cove_gk_new(void)
{
	uint8_t *gk = sodium_malloc(COVE_GK_LEN);

	if (gk)
		crypto_aead_aes256gcm_keygen(gk);
	return gk;
}

void cove_gk_free(uint8_t *gk)
{
	if (gk)
		sodium_free(gk);
}

int cove_gk_seal(uint8_t sealed[COVE_SEALED_GK_LEN], const uint8_t *gk,
		 const uint8_t xpk[COVE_XPK_LEN])
{
	if (crypto_box_seal(sealed, gk, COVE_GK_LEN, xpk) != 0)
		return COVE_ERR_INVAL;
	return COVE_OK;
}

int cove_gk_open(uint8_t *gk, const uint8_t sealed[COVE_SEALED_GK_LEN],
		 const struct cove_xkp *kp)
{
	if (crypto_box_seal_open(gk, sealed, COVE_SEALED_GK_LEN, kp->pk, kp->sk) != 0)
		return COVE_ERR_DECRYPT;
	return COVE_OK;
}

int cove_dat_key(uint8_t out[COVE_DATKEY_LEN], const uint8_t *gk,
		 const char *room, size_t room_len, const uint8_t from[32],
		 uint32_t epoch, const uint8_t sid[COVE_SID_LEN])
{
	crypto_generichash_state st;
	uint8_t rl, ep[4];

	if (room_len == 0 || room_len > 255)
		return COVE_ERR_INVAL;
	rl = (uint8_t)room_len;
	ep[0] = (uint8_t)(epoch >> 24);
	ep[1] = (uint8_t)(epoch >> 16);
	ep[2] = (uint8_t)(epoch >> 8);
	ep[3] = (uint8_t)epoch;
	crypto_generichash_init(&st, gk, COVE_GK_LEN, COVE_DATKEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)dat_key_domain, sizeof(dat_key_domain));
	crypto_generichash_update(&st, &rl, 1);
	crypto_generichash_update(&st, (const uint8_t *)room, room_len);
	crypto_generichash_update(&st, from, 32);
	crypto_generichash_update(&st, ep, sizeof(ep));
	crypto_generichash_update(&st, sid, COVE_SID_LEN);
	crypto_generichash_final(&st, out, COVE_DATKEY_LEN);
	sodium_memzero(&st, sizeof(st));
	return COVE_OK;
}

static void be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void cove_gk_kid(uint8_t kid[COVE_KID_LEN], const uint8_t *gk, uint32_t epoch)
{
	static const char domain[] = "COVE-KID-V2"; /* with its NUL */
	crypto_generichash_state st;
	uint8_t ep[4];

	be32(ep, epoch);
	crypto_generichash_init(&st, gk, COVE_GK_LEN, COVE_KID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, ep, sizeof(ep));
	crypto_generichash_final(&st, kid, COVE_KID_LEN);
	sodium_memzero(&st, sizeof(st));
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void cove_view_hash(uint8_t out[COVE_VIEW_LEN], uint32_t epoch, uint8_t (*ids)[32], size_t n)
{
	static const char domain[] = "COVE-VIEW-V1"; /* with its NUL */
	crypto_generichash_state st;
	uint8_t ep[4];

	if (n > 1)
		qsort(ids, n, 32, cmp_id);
	be32(ep, epoch);
	crypto_generichash_init(&st, NULL, 0, COVE_VIEW_LEN);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, ep, sizeof(ep));
	for (size_t i = 0; i < n; i++)
		crypto_generichash_update(&st, ids[i], 32);
	crypto_generichash_final(&st, out, COVE_VIEW_LEN);
}

static void dat_nonce(uint8_t n[COVE_GCM_NONCE_LEN], uint64_t seq)
{
	memset(n, 0, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

int cove_dat_seal(uint8_t *ct, const uint8_t *pt, size_t pt_len,
		  const uint8_t *ad, size_t ad_len, uint64_t seq,
		  const uint8_t key[COVE_DATKEY_LEN])
{
	uint8_t n[COVE_GCM_NONCE_LEN];

	dat_nonce(n, seq);
	crypto_aead_aes256gcm_encrypt(ct, NULL, pt, pt_len, ad, ad_len, NULL, n, key);
	return COVE_OK;
}

int cove_dat_open(uint8_t *pt, const uint8_t *ct, size_t ct_len,
		  const uint8_t *ad, size_t ad_len, uint64_t seq,
		  const uint8_t key[COVE_DATKEY_LEN])
{
	uint8_t n[COVE_GCM_NONCE_LEN];

	if (ct_len < COVE_GCM_TAG_LEN)
		return COVE_ERR_INVAL;
	dat_nonce(n, seq);
	if (crypto_aead_aes256gcm_decrypt(pt, NULL, NULL, ct, ct_len, ad, ad_len, n, key) != 0)
		return COVE_ERR_DECRYPT;
	return COVE_OK;
}
