/*
 * fuzz_payload.c - cove_payload_decode() on hostile plaintexts.
 *
 * A DAT's plaintext comes from another member, so it is as hostile as the
 * network. The input is decoded twice: as it is, and, when it carries
 * valid padding (cove_unpad()), as the payload inside, which is the path a
 * received DAT takes. Payload kinds are still being added, so the checks
 * hold for any kind the decoder accepts, with more for the kinds this file
 * knows:
 *  - only the documented errors, and COVE_ERR_TYPE only for a kind that
 *    wire/payload.h does not define;
 *  - a decoded TEXT has 1..COVE_TEXT_MAX bytes of valid UTF-8 pointing into
 *    the input; a decoded RESEND has first <= last;
 *  - a decoded payload encodes again into at most COVE_PAYLOAD_MAX bytes,
 *    the encoding decodes to the same kind (and text or RESEND fields), and
 *    encoding that gives the same bytes;
 *  - encoding into one byte less fails with COVE_ERR_SPACE without writing
 *    past the buffer;
 *  - the encoding pads and unpads back to its length.
 */
#include <string.h>

#include "common/err.h"
#include "common/utf8.h"
#include "crypto/pad.h"
#include "tests/fuzz/fuzz.h"
#include "wire/payload.h"

static int decode_error_ok(int r)
{
	switch (r) {
	case COVE_ERR_MSGPACK:
	case COVE_ERR_DEPTH:
	case COVE_ERR_TRAILING:
	case COVE_ERR_FIELD:
	case COVE_ERR_UTF8:
	case COVE_ERR_TYPE:
		return 1;
	}
	return 0;
}

/* Whether wire/payload.h defines kind. */
static int known_kind(uint32_t kind)
{
	if (kind == COVE_PL_TEXT)
		return 1;
#ifdef COVE_PL_RESEND
	if (kind == COVE_PL_RESEND)
		return 1;
#endif
#ifdef COVE_PL_CATCHUP
	if (kind == COVE_PL_CATCHUP)
		return 1;
#endif
#ifdef COVE_PL_HOLDERS
	if (kind == COVE_PL_HOLDERS || kind == COVE_PL_GONE)
		return 1;
#endif
	return 0;
}

/* The checks of one decoded payload that need no second decoding. */
static void check_fields(const struct cove_payload *p, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(known_kind(p->kind), "decoded unknown kind %u", p->kind);
	if (p->kind == COVE_PL_TEXT) {
		FUZZ_CHECK(p->text_len >= 1 && p->text_len <= COVE_TEXT_MAX &&
				   cove_utf8_valid(p->text, p->text_len),
			   "decoded a text of %zu bytes that is not 1..%d bytes of UTF-8",
			   p->text_len, COVE_TEXT_MAX);
		FUZZ_CHECK(p->text >= (const char *)data &&
				   p->text + p->text_len <= (const char *)data + size,
			   "the text does not point into the input");
	}
#ifdef COVE_PL_RESEND
	if (p->kind == COVE_PL_RESEND)
		FUZZ_CHECK(p->resend.first <= p->resend.last, "RESEND of %llu..%llu",
			   (unsigned long long)p->resend.first,
			   (unsigned long long)p->resend.last);
#endif
}

/* Compares two decodings of one payload, field by field for the kinds
 * this file knows (the stable re-encoding covers the rest). */
static void same_payload(const struct cove_payload *a, const struct cove_payload *b)
{
	FUZZ_CHECK(a->kind == b->kind, "kind %u became %u", a->kind, b->kind);
	if (a->kind == COVE_PL_TEXT)
		FUZZ_CHECK(a->text_len == b->text_len &&
				   memcmp(a->text, b->text, a->text_len) == 0,
			   "a text of %zu bytes became %zu bytes", a->text_len, b->text_len);
#ifdef COVE_PL_RESEND
	if (a->kind == COVE_PL_RESEND)
		FUZZ_CHECK(memcmp(a->resend.from, b->resend.from, sizeof(a->resend.from)) == 0 &&
				   memcmp(a->resend.sid, b->resend.sid, sizeof(a->resend.sid)) == 0 &&
				   a->resend.first == b->resend.first &&
				   a->resend.last == b->resend.last,
			   "RESEND changed in the round trip");
#endif
#ifdef COVE_PL_HOLDERS
	if (a->kind == COVE_PL_GONE) {
		FUZZ_CHECK(a->gone.nbyes == b->gone.nbyes, "GONE changed in the round trip");
		for (size_t i = 0; i < a->gone.nbyes; i++)
			FUZZ_CHECK(a->gone.bye_len[i] == b->gone.bye_len[i] &&
					   memcmp(a->gone.bye[i], b->gone.bye[i],
						  a->gone.bye_len[i]) == 0,
				   "GONE changed in the round trip");
	}
	if (a->kind == COVE_PL_HOLDERS)
		FUZZ_CHECK(a->holders.epoch == b->holders.epoch &&
				   a->holders.nids == b->holders.nids &&
				   memcmp(a->holders.ids, b->holders.ids, a->holders.nids * 32) == 0,
			   "HOLDERS changed in the round trip");
#endif
}

static void check_payload(const uint8_t *data, size_t size)
{
	struct cove_payload p1, p2;
	uint8_t *e1, *e2, *small, *padded;
	size_t n1 = 0, n2 = 0, m = 0, plen = 0, unpadded = 0;
	int r;

	r = cove_payload_decode(&p1, data, size);
	if (r != COVE_OK) {
		FUZZ_CHECK(decode_error_ok(r), "cove_payload_decode returned %d (%s)", r,
			   cove_strerror(r));
		if (r == COVE_ERR_TYPE)
			FUZZ_CHECK(!known_kind(p1.kind), "COVE_ERR_TYPE for kind %u", p1.kind);
		return;
	}
	check_fields(&p1, data, size);

	e1 = malloc(COVE_PAYLOAD_MAX + 64);
	e2 = malloc(COVE_PAYLOAD_MAX + 64);
	padded = malloc(COVE_PAD_MAX);
	FUZZ_CHECK(e1 && e2 && padded, "out of memory");
	r = cove_payload_encode(&p1, e1, COVE_PAYLOAD_MAX + 64, &n1);
	FUZZ_CHECK(r == COVE_OK && n1 >= 1 && n1 <= COVE_PAYLOAD_MAX,
		   "re-encoding kind %u: %d, %zu bytes", p1.kind, r, n1);
	small = malloc(n1 - 1 ? n1 - 1 : 1);
	FUZZ_CHECK(small != NULL, "out of memory");
	r = cove_payload_encode(&p1, small, n1 - 1, &m);
	FUZZ_CHECK(r == COVE_ERR_SPACE, "encoding into %zu of %zu bytes returned %d", n1 - 1, n1,
		   r);
	free(small);

	r = cove_payload_decode(&p2, e1, n1);
	FUZZ_CHECK(r == COVE_OK, "the re-encoding does not decode: %d (%s)", r, cove_strerror(r));
	same_payload(&p1, &p2);
	r = cove_payload_encode(&p2, e2, COVE_PAYLOAD_MAX + 64, &n2);
	FUZZ_CHECK(r == COVE_OK && n2 == n1 && memcmp(e1, e2, n1) == 0,
		   "the encoding is not stable (%d, %zu, %zu bytes)", r, n1, n2);

	memcpy(padded, e1, n1);
	r = cove_pad(padded, n1, COVE_PAD_MAX, &plen);
	FUZZ_CHECK(r == COVE_OK, "padding %zu bytes returned %d", n1, r);
	r = cove_unpad(padded, plen, &unpadded);
	FUZZ_CHECK(r == COVE_OK && unpadded == n1, "unpadding %zu bytes: %d, %zu (was %zu)", plen,
		   r, unpadded, n1);
	free(e1);
	free(e2);
	free(padded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t inner = 0;

	fuzz_sodium_init();
	check_payload(data, size);
	if (cove_unpad(data, size, &inner) == COVE_OK) {
		FUZZ_CHECK(inner < size && cove_pad_size(inner) == size,
			   "unpadded %zu bytes to %zu, whose bucket is %zu", size, inner,
			   cove_pad_size(inner));
		if (inner > 0)
			check_payload(data, inner);
	}
	return 0;
}
