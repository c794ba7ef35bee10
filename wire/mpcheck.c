#include "common/err.h"
#include "wire/mpcheck.h"

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int cove_mp_check(const uint8_t *buf, size_t len, unsigned max_depth)
{
	uint64_t owed[COVE_MP_MAX_DEPTH + 1]; /* elements still owed per level */
	uint64_t pending = 1;                 /* sum of owed[] */
	unsigned sp = 0;
	size_t pos = 0;

	if (max_depth > COVE_MP_MAX_DEPTH)
		return COVE_ERR_INVAL;
	owed[0] = 1;
	for (;;) {
		uint8_t b;
		unsigned hdr = 1;       /* header bytes of this value */
		uint64_t body = 0;      /* payload bytes that follow the header */
		uint64_t children = 0;  /* elements a container adds */
		int container = 0;

		while (owed[sp] == 0) {
			if (sp == 0)
				return pos == len ? 0 : COVE_ERR_TRAILING;
			sp--;
		}
		if (pos >= len)
			return COVE_ERR_MSGPACK;
		b = buf[pos];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixints, nil, booleans: the byte is the whole value */
		} else if (b >= 0x80 && b <= 0x8f) {
			children = 2u * (b & 0x0f);
			container = 1;
		} else if (b >= 0x90 && b <= 0x9f) {
			children = b & 0x0f;
			container = 1;
		} else if (b >= 0xa0 && b <= 0xbf) {
			body = b & 0x1f;
		} else {
			static const uint8_t lenbytes[] = {
				/* c4 bin8 */ 1, 2, 4, /* c7 ext8 */ 1, 2, 4,
				/* ca float32 */ 0, 0, /* cc uint8 */ 0, 0, 0, 0,
				/* d0 int8 */ 0, 0, 0, 0, /* d4 fixext */ 0, 0, 0, 0, 0,
				/* d9 str8 */ 1, 2, 4, /* dc array16 */ 2, 4, /* de map16 */ 2, 4,
			};
			static const uint8_t fixed[] = {
				0, 0, 0, 0, 0, 0, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17,
				0, 0, 0, 0, 0, 0, 0,
			};
			unsigned k, lb;

			if (b == 0xc1)
				return COVE_ERR_MSGPACK;
			k = b - 0xc4u;
			lb = lenbytes[k];
			if (lb == 0) {
				body = fixed[k]; /* numbers and fixext: fixed sizes */
			} else {
				if (len - pos < 1u + lb)
					return COVE_ERR_MSGPACK;
				hdr = 1 + lb;
				if (b >= 0xdc) {
					children = be(buf + pos + 1, lb) * (b >= 0xde ? 2 : 1);
					container = 1;
				} else {
					body = be(buf + pos + 1, lb);
					if (b >= 0xc7 && b <= 0xc9)
						body += 1; /* the ext type byte */
				}
			}
		}
		if (len - pos < hdr || len - pos - hdr < body)
			return COVE_ERR_MSGPACK;
		pos += hdr + body;
		owed[sp]--;
		pending--;
		if (container && children > 0) {
			if (sp + 1 > max_depth)
				return COVE_ERR_DEPTH;
			if (children > len - pos || pending + children > len - pos)
				return COVE_ERR_MSGPACK;
			owed[++sp] = children;
			pending += children;
		} else if (container && sp + 1 > max_depth) {
			return COVE_ERR_DEPTH;
		}
	}
}
