#include <string.h>

#include "common/err.h"
#include "crypto/link.h"

int cove_link_client(struct cove_link *l, const struct cove_xkp *eph,
		     const uint8_t server_eph[COVE_XPK_LEN])
{
	memset(l, 0, sizeof(*l));
	if (crypto_kx_client_session_keys(l->rx, l->tx, eph->pk, eph->sk, server_eph) != 0)
		return COVE_ERR_PEER_KEY;
	return COVE_OK;
}

int cove_link_server(struct cove_link *l, const struct cove_xkp *eph,
		     const uint8_t client_eph[COVE_XPK_LEN])
{
	memset(l, 0, sizeof(*l));
	if (crypto_kx_server_session_keys(l->rx, l->tx, eph->pk, eph->sk, client_eph) != 0)
		return COVE_ERR_PEER_KEY;
	return COVE_OK;
}

void cove_link_wipe(struct cove_link *l)
{
	sodium_memzero(l, sizeof(*l));
}

static void link_nonce(uint8_t n[12], uint64_t ctr)
{
	memset(n, 0, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(ctr >> (56 - 8 * i));
}

int cove_link_seal(struct cove_link *l, uint8_t *out, const uint8_t *pt, size_t pt_len,
		   const uint8_t *ad, size_t ad_len)
{
	uint8_t n[12];

	if (l->tx_n == UINT64_MAX)
		return COVE_ERR_LIMIT;
	link_nonce(n, l->tx_n++);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, pt_len, ad, ad_len,
						  NULL, n, l->tx);
	return COVE_OK;
}

int cove_link_open(struct cove_link *l, uint8_t *out, const uint8_t *ct, size_t ct_len,
		   const uint8_t *ad, size_t ad_len)
{
	uint8_t n[12];

	if (ct_len < COVE_LINK_TAG_LEN)
		return COVE_ERR_INVAL;
	if (l->rx_n == UINT64_MAX)
		return COVE_ERR_LIMIT;
	link_nonce(n, l->rx_n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ct_len, ad, ad_len,
						      n, l->rx) != 0)
		return COVE_ERR_DECRYPT;
	l->rx_n++;
	return COVE_OK;
}
