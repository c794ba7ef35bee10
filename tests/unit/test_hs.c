/*
 * test_hs.c - the handshake signatures: each binds the whole transcript
 * (and, for the client, the server's identity) under its own domain, so
 * none can be moved to another connection or the other role.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto/hs.h"
#include "tests/unit/check.h"

struct keys {
	struct cove_ident *server, *client;
	struct cove_hs_transcript t;
};

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->server = cove_ident_new();
	k->client = cove_ident_new();
	if (!k->server || !k->client)
		return -1;
	cove_ident_generate(k->server);
	cove_ident_generate(k->client);
	k->t.version = 2; /* the protocol version, as proto/sess.c sets it */
	randombytes_buf(k->t.eph_c, sizeof(k->t.eph_c));
	randombytes_buf(k->t.nonce_c, sizeof(k->t.nonce_c));
	randombytes_buf(k->t.eph_s, sizeof(k->t.eph_s));
	randombytes_buf(k->t.nonce_s, sizeof(k->t.nonce_s));
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	cove_ident_free(k->server);
	cove_ident_free(k->client);
	free(k);
	return 0;
}

/* The documented message: domain with its NUL || transcript [|| server]. */
static size_t message(uint8_t *m, const char *domain, const struct cove_hs_transcript *t,
		      const uint8_t *server_pk)
{
	size_t o = strlen(domain) + 1;

	memcpy(m, domain, o);
	m[o++] = t->version;
	memcpy(m + o, t->eph_c, 32); o += 32;
	memcpy(m + o, t->nonce_c, 32); o += 32;
	memcpy(m + o, t->eph_s, 32); o += 32;
	memcpy(m + o, t->nonce_s, 32); o += 32;
	if (server_pk) {
		memcpy(m + o, server_pk, 32);
		o += 32;
	}
	return o;
}

TEST(server_signature_covers_the_documented_message)
{
	struct keys *k = *cmocka_state_;
	uint8_t sig[COVE_SIG_LEN], m[256];
	size_t n = message(m, "COVE-HS-SERVER-V1", &k->t, NULL);

	assert_ok(cove_hs_server_sign(sig, k->server, &k->t));
	assert_int_equal(crypto_sign_verify_detached(sig, m, n, k->server->pk), 0);
	assert_ok(cove_hs_server_verify(k->server->pk, &k->t, sig));
}

TEST(client_signature_covers_the_documented_message)
{
	struct keys *k = *cmocka_state_;
	uint8_t sig[COVE_SIG_LEN], m[256];
	size_t n = message(m, "COVE-HS-CLIENT-V1", &k->t, k->server->pk);

	assert_ok(cove_hs_client_sign(sig, k->client, &k->t, k->server->pk));
	assert_int_equal(crypto_sign_verify_detached(sig, m, n, k->client->pk), 0);
	assert_ok(cove_hs_client_verify(k->client->pk, &k->t, k->server->pk, sig));
}

/* Every byte of the transcript is bound: flip each in turn. */
TEST(changing_any_transcript_byte_breaks_both_signatures)
{
	struct keys *k = *cmocka_state_;
	uint8_t ssig[COVE_SIG_LEN], csig[COVE_SIG_LEN];
	uint8_t *fields[] = { &k->t.version, k->t.eph_c, k->t.nonce_c, k->t.eph_s, k->t.nonce_s };
	static const size_t sizes[] = { 1, 32, 32, 32, 32 };
	static const char *names[] = { "version", "eph_c", "nonce_c", "eph_s", "nonce_s" };

	assert_ok(cove_hs_server_sign(ssig, k->server, &k->t));
	assert_ok(cove_hs_client_sign(csig, k->client, &k->t, k->server->pk));
	for (size_t f = 0; f < 5; f++) {
		for (size_t i = 0; i < sizes[f]; i++) {
			int rs, rc;

			fields[f][i] ^= 0x10;
			rs = cove_hs_server_verify(k->server->pk, &k->t, ssig);
			rc = cove_hs_client_verify(k->client->pk, &k->t, k->server->pk, csig);
			fields[f][i] ^= 0x10;
			if (rs != COVE_ERR_SIGNATURE || rc != COVE_ERR_SIGNATURE)
				fail_msg("%s byte %zu changed: server %d, client %d", names[f], i, rs,
					 rc);
		}
	}
}

TEST(client_signature_is_bound_to_the_server_identity)
{
	struct keys *k = *cmocka_state_;
	struct cove_ident *other = cove_ident_new();
	uint8_t sig[COVE_SIG_LEN];

	assert_non_null(other);
	cove_ident_generate(other);
	assert_ok(cove_hs_client_sign(sig, k->client, &k->t, k->server->pk));
	assert_err(cove_hs_client_verify(k->client->pk, &k->t, other->pk, sig),
		   COVE_ERR_SIGNATURE);
	cove_ident_free(other);
}

TEST(a_signature_does_not_verify_in_the_other_role)
{
	struct keys *k = *cmocka_state_;
	uint8_t sig[COVE_SIG_LEN];

	/* The same key signing as server cannot pass as client, and back. */
	assert_ok(cove_hs_server_sign(sig, k->server, &k->t));
	assert_err(cove_hs_client_verify(k->server->pk, &k->t, k->server->pk, sig),
		   COVE_ERR_SIGNATURE);
	assert_ok(cove_hs_client_sign(sig, k->client, &k->t, k->server->pk));
	assert_err(cove_hs_server_verify(k->client->pk, &k->t, sig), COVE_ERR_SIGNATURE);
}

TEST(a_signature_by_another_key_fails)
{
	struct keys *k = *cmocka_state_;
	uint8_t sig[COVE_SIG_LEN];

	assert_ok(cove_hs_server_sign(sig, k->client, &k->t));
	assert_err(cove_hs_server_verify(k->server->pk, &k->t, sig), COVE_ERR_SIGNATURE);
}

#define HS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		HS_TEST(server_signature_covers_the_documented_message),
		HS_TEST(client_signature_covers_the_documented_message),
		HS_TEST(changing_any_transcript_byte_breaks_both_signatures),
		HS_TEST(client_signature_is_bound_to_the_server_identity),
		HS_TEST(a_signature_does_not_verify_in_the_other_role),
		HS_TEST(a_signature_by_another_key_fails),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
