/*
 * fuzz_stream.c - cove_stream_feed() on a hostile byte stream cut at
 * hostile places.
 *
 * The input is
 *
 *   u8 m | u8 k | k chunk sizes (u8 each) | the stream
 *
 * m picks the stream's maximum: 1 + m for m < 128 (tiny records, so
 * oversized lengths are easy to reach), else 4000 + 4 * (m - 128), which
 * straddles the 4096 bytes above which the stream frees its buffer between
 * records. The stream is fed in chunks of the given sizes, cycling (a size
 * of 0 feeds an empty chunk), or in one piece when k is 0. Each chunk is a
 * separate allocation of its exact size, so reading past it is caught.
 *
 * A reference model walks the same bytes and the stream must agree with it
 * after every call: the same records, each returned by the call that
 * consumes its last byte; the error exactly when a zero or oversized length
 * is complete; the same count of pending bytes. Also: no record longer than
 * the maximum, a buffer never larger than one record, and once failed the
 * stream refuses everything.
 */
#include <string.h>

#include "common/err.h"
#include "tests/fuzz/fuzz.h"
#include "wire/stream.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The model's view of the stream: the whole records (their bytes start at
 * rec_off[i]), and where the four bytes of the first zero or oversized
 * length end (0 when there is none). */
struct model {
	const uint8_t *bytes;
	size_t len;
	size_t max;
	size_t *rec_off, *rec_len, nrec; /* room for len / 5 records */
	size_t bad_end; /* 0: none */
};

static void model_build(struct model *m)
{
	size_t pos = 0;

	m->nrec = 0;
	m->bad_end = 0;
	while (m->len - pos >= 4) {
		uint32_t n = be32(m->bytes + pos);

		if (n == 0 || n > m->max) {
			m->bad_end = pos + 4;
			break;
		}
		if (m->len - pos - 4 < n)
			break;
		m->rec_off[m->nrec] = pos + 4;
		m->rec_len[m->nrec] = n;
		m->nrec++;
		pos += 4 + (size_t)n;
	}
}

static size_t rec_end(const struct model *m, size_t i)
{
	return m->rec_off[i] + m->rec_len[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cove_stream s;
	struct model model;
	const uint8_t *sizes, *bytes;
	size_t nsizes, len, max, consumed = 0, next = 0, last_end = 0, ci = 0, zeros = 0;
	int failed = 0;

	fuzz_sodium_init();
	if (size < 2)
		return 0;
	max = data[0] < 128 ? 1u + data[0] : 4000u + 4u * (data[0] - 128u);
	nsizes = data[1];
	if (nsizes > size - 2)
		nsizes = size - 2;
	sizes = data + 2;
	bytes = data + 2 + nsizes;
	len = size - 2 - nsizes;

	model.bytes = bytes;
	model.len = len;
	model.max = max;
	model.rec_off = malloc((len / 5 + 1) * sizeof(size_t));
	model.rec_len = malloc((len / 5 + 1) * sizeof(size_t));
	FUZZ_CHECK(model.rec_off && model.rec_len, "out of memory");
	model_build(&model);

	cove_stream_init(&s, max);
	for (size_t off = 0; off < len || (nsizes && ci == 0);) {
		size_t clen = nsizes ? sizes[ci++ % nsizes] : len;
		size_t cpos = 0;
		uint8_t *chunk;
		int r;

		if (clen > len - off)
			clen = len - off;
		chunk = malloc(clen ? clen : 1);
		FUZZ_CHECK(chunk != NULL, "out of memory");
		memcpy(chunk, bytes + off, clen);
		do {
			const uint8_t *rec = NULL;
			size_t used = 12345, rec_len = 0, rest = clen - cpos;

			r = cove_stream_feed(&s, chunk + cpos, rest, &used, &rec, &rec_len);
			FUZZ_CHECK(used <= rest, "used %zu of %zu bytes", used, rest);
			if (failed) {
				FUZZ_CHECK(r == COVE_ERR_FRAME_SIZE && used == 0,
					   "after an error the stream returned %d, used %zu", r,
					   used);
				break;
			}
			cpos += used;
			consumed += used;
			if (r == 1) {
				FUZZ_CHECK(rec_len >= 1 && rec_len <= max,
					   "record of %zu bytes, max %zu", rec_len, max);
				FUZZ_CHECK(next < model.nrec,
					   "record %zu of %zu bytes returned at offset %zu: the "
					   "stream has only %zu", next, rec_len, consumed,
					   model.nrec);
				FUZZ_CHECK(rec_len == model.rec_len[next] &&
						   consumed == rec_end(&model, next) &&
						   memcmp(rec, bytes + model.rec_off[next], rec_len) == 0,
					   "record %zu: %zu bytes ending at %zu, expected %zu at %zu",
					   next, rec_len, consumed, model.rec_len[next],
					   rec_end(&model, next));
				last_end = consumed;
				next++;
			} else if (r == 0) {
				FUZZ_CHECK(used == rest, "returned 0 having used %zu of %zu", used,
					   rest);
				FUZZ_CHECK(next == model.nrec || rec_end(&model, next) > consumed,
					   "record %zu (ending at %zu) was not returned by %zu",
					   next, rec_end(&model, next), consumed);
				FUZZ_CHECK(model.bad_end == 0 || model.bad_end > consumed,
					   "the bad length ending at %zu was not refused by %zu",
					   model.bad_end, consumed);
			} else {
				FUZZ_CHECK(r == COVE_ERR_FRAME_SIZE, "feed returned %d (%s)", r,
					   cove_strerror(r));
				/* The call that sees the fourth byte of the bad length
				 * refuses it. How much of the length *used counts then
				 * varies (0 on the fast path), and the stream is dead. */
				FUZZ_CHECK(next == model.nrec && model.bad_end > consumed - used &&
						   model.bad_end <= consumed - used + rest &&
						   consumed <= model.bad_end,
					   "refused in a call given bytes %zu..%zu after %zu records; "
					   "expected the length ending at %zu after %zu",
					   consumed - used, consumed - used + rest, next,
					   model.bad_end, model.nrec);
				failed = 1;
			}
			if (!failed) {
				FUZZ_CHECK(cove_stream_pending(&s) == consumed - last_end,
					   "pending %zu, expected %zu", cove_stream_pending(&s),
					   consumed - last_end);
				FUZZ_CHECK(s.have <= s.need && s.need <= max && s.cap <= max,
					   "holds have %zu need %zu cap %zu, max %zu", s.have,
					   s.need, s.cap, max);
			}
		} while (r == 1 && cpos < clen);
		free(chunk);
		off += clen;
		zeros = clen ? 0 : zeros + 1;
		if (zeros > nsizes)
			break; /* a whole cycle of empty chunks would never end */
	}
	if (!failed && consumed == len)
		FUZZ_CHECK(next == model.nrec, "%zu records returned, %zu in the stream", next,
			   model.nrec);
	cove_stream_free(&s);
	free(model.rec_off);
	free(model.rec_len);
	return 0;
}
