#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "wire/stream.h"

#define STREAM_KEEP 4096

void cove_stream_init(struct cove_stream *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void cove_stream_set_max(struct cove_stream *s, size_t max)
{
	s->max = max;
}

void cove_stream_free(struct cove_stream *s)
{
	if (s->buf)
		explicit_bzero(s->buf, s->cap);
	free(s->buf);
	cove_stream_init(s, s->max);
}

size_t cove_stream_pending(const struct cove_stream *s)
{
	return s->hdr_have + s->have;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int cove_stream_feed(struct cove_stream *s, const uint8_t *data, size_t len, size_t *used,
		     const uint8_t **rec, size_t *rec_len)
{
	size_t pos = 0;

	*used = 0;
	if (s->failed)
		return COVE_ERR_FRAME_SIZE;
	/* Between records, give back a large buffer: an idle connection
	 * should not keep 64 KiB because it once sent a big frame. */
	if (s->hdr_have == 0 && s->cap > STREAM_KEEP) {
		explicit_bzero(s->buf, s->cap);
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
	if (s->hdr_have < COVE_STREAM_HDR) {
		size_t take = COVE_STREAM_HDR - s->hdr_have;

		/* Fast path: a whole record at the start of data is returned in
		 * place, without a copy. */
		if (s->hdr_have == 0 && len >= COVE_STREAM_HDR) {
			uint32_t n = be32(data);

			if (n == 0 || n > s->max) {
				s->failed = 1;
				*used = COVE_STREAM_HDR; /* the length was read, as on the slow path */
				return COVE_ERR_FRAME_SIZE;
			}
			if (len - COVE_STREAM_HDR >= n) {
				*rec = data + COVE_STREAM_HDR;
				*rec_len = n;
				*used = COVE_STREAM_HDR + (size_t)n;
				return 1;
			}
		}
		if (take > len)
			take = len;
		memcpy(s->hdr + s->hdr_have, data, take);
		s->hdr_have += take;
		pos = take;
		if (s->hdr_have < COVE_STREAM_HDR) {
			*used = pos;
			return 0;
		}
		s->need = be32(s->hdr);
		if (s->need == 0 || s->need > s->max) {
			s->failed = 1;
			*used = pos;
			return COVE_ERR_FRAME_SIZE;
		}
		s->have = 0;
		if (s->cap < s->need) {
			uint8_t *nb = malloc(s->need);

			if (nb && s->buf) {
				explicit_bzero(s->buf, s->cap);
				free(s->buf);
			}
			if (!nb) {
				s->failed = 1;
				*used = pos;
				return COVE_ERR_NOMEM;
			}
			s->buf = nb;
			s->cap = s->need;
		}
	}
	{
		size_t take = s->need - s->have;

		if (take > len - pos)
			take = len - pos;
		memcpy(s->buf + s->have, data + pos, take);
		s->have += take;
		pos += take;
	}
	*used = pos;
	if (s->have < s->need)
		return 0;
	*rec = s->buf;
	*rec_len = s->need;
	s->hdr_have = 0;
	s->have = 0;
	s->need = 0;
	return 1;
}
