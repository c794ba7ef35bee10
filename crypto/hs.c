#include <string.h>

#include "common/err.h"
#include "crypto/hs.h"

static const char server_domain[] = "COVE-HS-SERVER-V1"; /* signed with its NUL */
static const char client_domain[] = "COVE-HS-CLIENT-V1";

#define HS_DOMAIN_LEN sizeof(server_domain)
#define HS_T_LEN (1 + 2 * COVE_XPK_LEN + 2 * COVE_HS_NONCE_LEN)
#define HS_MSG_MAX (HS_DOMAIN_LEN + HS_T_LEN + COVE_PK_LEN)

_Static_assert(sizeof(server_domain) == sizeof(client_domain), "domains differ in length");

static size_t hs_message(uint8_t *m, const char *domain, const struct cove_hs_transcript *t,
			 const uint8_t *server_pk)
{
	size_t o = 0;

	memcpy(m + o, domain, HS_DOMAIN_LEN);
	o += HS_DOMAIN_LEN;
	m[o++] = t->version;
	memcpy(m + o, t->eph_c, COVE_XPK_LEN);
	o += COVE_XPK_LEN;
	memcpy(m + o, t->nonce_c, COVE_HS_NONCE_LEN);
	o += COVE_HS_NONCE_LEN;
	memcpy(m + o, t->eph_s, COVE_XPK_LEN);
	o += COVE_XPK_LEN;
	memcpy(m + o, t->nonce_s, COVE_HS_NONCE_LEN);
	o += COVE_HS_NONCE_LEN;
	if (server_pk) {
		memcpy(m + o, server_pk, COVE_PK_LEN);
		o += COVE_PK_LEN;
	}
	return o;
}

int cove_hs_server_sign(uint8_t sig[COVE_SIG_LEN], const struct cove_ident *server,
			const struct cove_hs_transcript *t)
{
	uint8_t m[HS_MSG_MAX];

	return cove_sign(server, m, hs_message(m, server_domain, t, NULL), sig);
}

int cove_hs_server_verify(const uint8_t server_pk[COVE_PK_LEN],
			  const struct cove_hs_transcript *t, const uint8_t sig[COVE_SIG_LEN])
{
	uint8_t m[HS_MSG_MAX];

	return cove_verify(server_pk, m, hs_message(m, server_domain, t, NULL), sig);
}

int cove_hs_client_sign(uint8_t sig[COVE_SIG_LEN], const struct cove_ident *client,
			const struct cove_hs_transcript *t,
			const uint8_t server_pk[COVE_PK_LEN])
{
	uint8_t m[HS_MSG_MAX];

	return cove_sign(client, m, hs_message(m, client_domain, t, server_pk), sig);
}

int cove_hs_client_verify(const uint8_t client_pk[COVE_PK_LEN],
			  const struct cove_hs_transcript *t,
			  const uint8_t server_pk[COVE_PK_LEN], const uint8_t sig[COVE_SIG_LEN])
{
	uint8_t m[HS_MSG_MAX];

	return cove_verify(client_pk, m, hs_message(m, client_domain, t, server_pk), sig);
}
