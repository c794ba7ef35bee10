/*
 * fuzz_frame.c - cove_frame_decode() on hostile bytes.
 *
 * Every byte a relay or node reads from the link goes through the
 * decoder. Beyond "no crash", it checks what wire/frame.h promises:
 *  - only the documented errors come back, and COVE_ERR_VERSION keeps the
 *    declared version;
 *  - a decoded frame encodes again (cove_frame_size() bytes exactly), the
 *    encoding decodes to the same frame field by field, and encoding that
 *    gives the same bytes (the encoding is stable);
 *  - encoding into one byte less than cove_frame_size() fails with
 *    COVE_ERR_SPACE without writing past the buffer;
 *  - a signed frame's signed bytes can be computed, are the same for both
 *    decodings, and a DAT's associated data is their prefix;
 *  - a FWD's inner frame holds to all of this too.
 */
#include <string.h>

#include "common/err.h"
#include "tests/fuzz/fuzz.h"
#include "wire/frame.h"

static int decode_error_ok(int r)
{
	switch (r) {
	case COVE_ERR_FRAME_SIZE:
	case COVE_ERR_MSGPACK:
	case COVE_ERR_DEPTH:
	case COVE_ERR_TRAILING:
	case COVE_ERR_VERSION:
	case COVE_ERR_TYPE:
	case COVE_ERR_FIELD:
		return 1;
	}
	return 0;
}

#define SAME(field) \
	FUZZ_CHECK(a->field == b->field, "type %u: %s: %llu != %llu", a->type, #field, \
		   (unsigned long long)a->field, (unsigned long long)b->field)
#define SAME_BYTES(field, n) \
	FUZZ_CHECK(memcmp(a->field, b->field, (n)) == 0, "type %u: %s differs", a->type, #field)

/* Compares two decodings of one frame, field by field. */
static void same_frame(const struct cove_frame *a, const struct cove_frame *b)
{
	struct cove_frame x = *a, y = *b;

	SAME(version);
	SAME(type);
	SAME(room_len);
	SAME_BYTES(room, a->room_len + 1u);
	SAME_BYTES(from, COVE_ID_LEN);
	SAME(seq);
	SAME(ts);
	switch (a->type) {
	case COVE_F_INI:
		SAME_BYTES(u.ini.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_KEY:
		SAME_BYTES(u.key.to, COVE_ID_LEN);
		SAME_BYTES(u.key.xpk, COVE_WXPK_LEN);
		SAME(u.key.epoch);
		SAME_BYTES(u.key.sealed, COVE_WSEALED_LEN);
		SAME_BYTES(u.key.kid, COVE_WKID_LEN);
		SAME_BYTES(u.key.view, COVE_WVIEW_LEN);
		break;
	case COVE_F_DAT:
		SAME(u.dat.epoch);
		SAME_BYTES(u.dat.sid, COVE_WSID_LEN);
		SAME(u.dat.n);
		SAME_BYTES(u.dat.kid, COVE_WKID_LEN);
		SAME(u.dat.ct_len);
		SAME_BYTES(u.dat.ct, a->u.dat.ct_len);
		break;
	case COVE_F_ERR:
		SAME(u.err.code);
		SAME(u.err.ref);
		SAME(u.err.text_len);
		if (a->u.err.text_len)
			SAME_BYTES(u.err.text, a->u.err.text_len);
		break;
	case COVE_F_ASK:
		SAME_BYTES(u.ask.to, COVE_ID_LEN);
		SAME_BYTES(u.ask.joiner, COVE_ID_LEN);
		SAME_BYTES(u.ask.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_BYE:
		SAME_BYTES(u.bye.who, COVE_ID_LEN);
		break;
	case COVE_F_WLC:
		SAME_BYTES(u.wlc.you, COVE_ID_LEN);
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		SAME(u.rdy.epoch);
		break;
	case COVE_F_REK:
		SAME_BYTES(u.rek.to, COVE_ID_LEN);
		SAME(u.rek.epoch);
		break;
	case COVE_F_PING:
	case COVE_F_PONG:
		SAME(u.ping.n);
		break;
	case COVE_F_FWD:
		SAME(u.fwd.rseq);
		SAME(u.fwd.rdat);
		SAME(u.fwd.frame_len);
		SAME_BYTES(u.fwd.frame, a->u.fwd.frame_len);
		break;
	case COVE_F_SYN:
		SAME(u.syn.after);
		SAME(u.syn.after_dat);
		break;
	case COVE_F_UPD:
		SAME(u.upd.next);
		SAME(u.upd.missed);
		break;
	case COVE_F_PRS:
		SAME_BYTES(u.prs.who, COVE_ID_LEN);
		SAME(u.prs.here);
		SAME(u.prs.seen);
		break;
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE:
		SAME_BYTES(u.hello.eph, COVE_WXPK_LEN);
		SAME_BYTES(u.hello.nonce, COVE_WNONCE_LEN);
		break;
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH:
		SAME_BYTES(u.auth.id, COVE_ID_LEN);
		SAME_BYTES(u.auth.sig, COVE_WSIG_LEN);
		break;
	}
	SAME_BYTES(sig, COVE_WSIG_LEN);
	/* The decoder zeroes the struct first, so apart from the borrowed
	 * pointers two decodings of one frame are the same bytes: this
	 * catches a field the list above forgot. */
	if (x.type == COVE_F_DAT) {
		x.u.dat.ct = y.u.dat.ct = NULL;
	} else if (x.type == COVE_F_ERR) {
		x.u.err.text = y.u.err.text = NULL;
	} else if (x.type == COVE_F_FWD) {
		x.u.fwd.frame = y.u.fwd.frame = NULL;
	}
	FUZZ_CHECK(memcmp(&x, &y, sizeof(x)) == 0, "type %u: the structs differ", a->type);
}

/* Signed bytes of f in a buffer of exactly the right size (checked
 * against a one-byte-short buffer too). Caller frees. */
static uint8_t *sigbytes_of(const struct cove_frame *f, size_t *len)
{
	uint8_t *big = malloc(COVE_SIGBYTES_MAX), *exact, *small;
	size_t n = 0, m = 0;
	int r;

	FUZZ_CHECK(big != NULL, "out of memory");
	r = cove_frame_sigbytes(f, big, COVE_SIGBYTES_MAX, &n);
	FUZZ_CHECK(r == COVE_OK, "type %u: cove_frame_sigbytes returned %d", f->type, r);
	FUZZ_CHECK(n > 0 && n <= COVE_SIGBYTES_MAX, "type %u: %zu signed bytes", f->type, n);
	exact = malloc(n);
	small = malloc(n - 1 ? n - 1 : 1);
	FUZZ_CHECK(exact && small, "out of memory");
	r = cove_frame_sigbytes(f, exact, n, &m);
	FUZZ_CHECK(r == COVE_OK && m == n && memcmp(exact, big, n) == 0,
		   "type %u: sigbytes into %zu bytes: %d, %zu", f->type, n, r, m);
	r = cove_frame_sigbytes(f, small, n - 1, &m);
	FUZZ_CHECK(r == COVE_ERR_SPACE, "type %u: sigbytes into %zu of %zu bytes returned %d",
		   f->type, n - 1, n, r);
	free(small);
	free(big);
	*len = n;
	return exact;
}

static void check_signed(const struct cove_frame *f1, const struct cove_frame *f2)
{
	size_t n1, n2;
	uint8_t *s1 = sigbytes_of(f1, &n1), *s2 = sigbytes_of(f2, &n2);

	FUZZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0,
		   "type %u: the two decodings sign different bytes (%zu, %zu)", f1->type, n1, n2);
	if (f1->type == COVE_F_DAT) {
		uint8_t ad[COVE_DAT_AD_MAX];
		size_t adl = 0;
		int r = cove_frame_dat_ad(f1, ad, sizeof(ad), &adl);

		FUZZ_CHECK(r == COVE_OK, "cove_frame_dat_ad returned %d", r);
		FUZZ_CHECK(adl <= COVE_DAT_AD_MAX && adl < n1 && memcmp(ad, s1, adl) == 0,
			   "the DAT's associated data (%zu bytes) is not a prefix of its "
			   "signed bytes (%zu)", adl, n1);
	} else {
		uint8_t ad[COVE_DAT_AD_MAX];
		size_t adl = 0;

		FUZZ_CHECK(cove_frame_dat_ad(f1, ad, sizeof(ad), &adl) == COVE_ERR_INVAL,
			   "cove_frame_dat_ad accepted type %u", f1->type);
	}
	free(s1);
	free(s2);
}

/* All of the above for one frame's bytes; a FWD's inner frame, which
 * the node decodes in turn, is checked the same way. */
static void check_frame(const uint8_t *data, size_t size)
{
	struct cove_frame f1, f2;
	uint8_t *e1 = NULL, *e2 = NULL, *small = NULL;
	size_t want, n1 = 0, n2 = 0, m = 0;
	int r;

	r = cove_frame_decode(&f1, data, size);
	if (r != COVE_OK) {
		FUZZ_CHECK(decode_error_ok(r), "cove_frame_decode returned %d (%s)", r,
			   cove_strerror(r));
		if (r == COVE_ERR_VERSION)
			FUZZ_CHECK(f1.version != COVE_PROTO_VERSION,
				   "COVE_ERR_VERSION with version %u", f1.version);
		return;
	}
	FUZZ_CHECK(f1.version == COVE_PROTO_VERSION, "decoded version %u", f1.version);

	want = cove_frame_size(&f1);
	if (want == 0) {
		/* The decoder takes integers in any width and the encoder
		 * writes them at fixed width, so a DAT with a ciphertext close
		 * to the limit may decode from fewer than COVE_FRAME_MAX bytes
		 * but need more to encode again: at most 258 bytes of fields
		 * surround the ciphertext (the 32-byte kid among them). Nothing
		 * else may be unencodable. */
		FUZZ_CHECK(f1.type == COVE_F_DAT && f1.u.dat.ct_len + 258 > COVE_FRAME_MAX,
			   "type %u decodes but cove_frame_size() says it cannot be encoded",
			   f1.type);
		return;
	}
	FUZZ_CHECK(want <= COVE_FRAME_MAX, "type %u: cove_frame_size() is %zu", f1.type, want);
	e1 = malloc(want);
	small = malloc(want - 1);
	FUZZ_CHECK(e1 && small, "out of memory");
	r = cove_frame_encode(&f1, small, want - 1, &m);
	FUZZ_CHECK(r == COVE_ERR_SPACE, "type %u: encoding into %zu of %zu bytes returned %d",
		   f1.type, want - 1, want, r);
	r = cove_frame_encode(&f1, e1, want, &n1);
	FUZZ_CHECK(r == COVE_OK && n1 == want, "type %u: encode returned %d, %zu of %zu bytes",
		   f1.type, r, n1, want);

	r = cove_frame_decode(&f2, e1, n1);
	FUZZ_CHECK(r == COVE_OK, "type %u: the re-encoding does not decode: %d (%s)", f1.type,
		   r, cove_strerror(r));
	same_frame(&f1, &f2);

	FUZZ_CHECK(cove_frame_size(&f2) == want, "type %u: size changed from %zu to %zu",
		   f1.type, want, cove_frame_size(&f2));
	e2 = malloc(want);
	FUZZ_CHECK(e2 != NULL, "out of memory");
	r = cove_frame_encode(&f2, e2, want, &n2);
	FUZZ_CHECK(r == COVE_OK && n2 == n1 && memcmp(e1, e2, n1) == 0,
		   "type %u: the encoding is not stable (%d, %zu, %zu bytes)", f1.type, r, n1, n2);

	if (cove_frame_is_signed(f1.type)) {
		check_signed(&f1, &f2);
	} else {
		uint8_t sb[64];
		size_t sl = 0;

		r = cove_frame_sigbytes(&f1, sb, sizeof(sb), &sl);
		FUZZ_CHECK(r == COVE_ERR_INVAL, "sigbytes of unsigned type %u returned %d",
			   f1.type, r);
	}
	free(e1);
	free(e2);
	free(small);
	/* the inner frame is shorter than the FWD, so this ends */
	if (f1.type == COVE_F_FWD)
		check_frame(f1.u.fwd.frame, f1.u.fwd.frame_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_sodium_init();
	check_frame(data, size);
	return 0;
}
