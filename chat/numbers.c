/*
 * numbers.c - each sender's message numbers in a room: which were seen
 * (a window of COVE_CHAT_WINDOW behind the highest), so that a duplicate
 * is dropped, and which are missing (gaps), so that they are asked for
 * again and reported when they do not come.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/room.h"

#define WORDS (COVE_CHAT_WINDOW / 64)

static int seen_bit(const struct member *m, uint64_t d)
{
	return (m->seen[d / 64] >> (d % 64)) & 1;
}

static void set_seen(struct member *m, uint64_t d)
{
	m->seen[d / 64] |= (uint64_t)1 << (d % 64);
}

/* Moves the window up by k: bit i becomes bit i + k. */
static void shift_seen(struct member *m, uint64_t k)
{
	uint64_t out[WORDS] = { 0 };

	if (k < COVE_CHAT_WINDOW) {
		size_t words = (size_t)(k / 64), bits = (size_t)(k % 64);

		for (size_t i = 0; i + words < WORDS; i++) {
			out[i + words] |= m->seen[i] << bits;
			if (bits && i + words + 1 < WORDS)
				out[i + words + 1] |= m->seen[i] >> (64 - bits);
		}
	}
	memcpy(m->seen, out, sizeof(out));
}

static void add_gap(struct member *m, uint64_t first, uint64_t last, uint64_t now)
{
	struct gap *g = realloc(m->gaps, (m->ngaps + 1) * sizeof(*g));

	if (!g)
		return;
	m->gaps = g;
	g[m->ngaps].first = first;
	g[m->ngaps].last = last;
	g[m->ngaps].noticed_ms = now;
	g[m->ngaps].asked_ms = 0;
	m->ngaps++;
}

static void fill_gap(struct member *m, uint64_t n)
{
	for (size_t i = 0; i < m->ngaps; i++) {
		struct gap *g = &m->gaps[i];

		if (n < g->first || n > g->last)
			continue;
		if (g->first == g->last) {
			m->gaps[i] = m->gaps[--m->ngaps];
		} else if (n == g->first) {
			g->first++;
		} else if (n == g->last) {
			g->last--;
		} else {
			struct gap rest = *g;

			g->last = n - 1;
			rest.first = n + 1;
			add_gap(m, rest.first, rest.last, rest.noticed_ms);
			m->gaps[m->ngaps - 1].asked_ms = rest.asked_ms;
		}
		return;
	}
}

int numbers_track(struct member *m, const uint8_t sid[COVE_SID_LEN], uint64_t n,
			uint64_t now)
{
	uint64_t d;

	if (n == COVE_CHAT_UNNUMBERED)
		return 1; /* a request: never resent, so never a duplicate */
	if (!m->have_sid || memcmp(m->sid, sid, COVE_SID_LEN) != 0) {
		/* a new session of that sender (it restarted): start afresh */
		memcpy(m->sid, sid, COVE_SID_LEN);
		m->have_sid = 1;
		m->high = n;
		memset(m->seen, 0, sizeof(m->seen));
		set_seen(m, 0);
		free(m->gaps);
		m->gaps = NULL;
		m->ngaps = 0;
		return 1;
	}
	if (n > m->high) {
		shift_seen(m, n - m->high);
		set_seen(m, 0);
		if (n > m->high + 1)
			add_gap(m, m->high + 1, n - 1, now);
		m->high = n;
		return 1;
	}
	d = m->high - n;
	if (d >= COVE_CHAT_WINDOW || seen_bit(m, d))
		return 0;
	set_seen(m, d);
	fill_gap(m, n);
	return 1;
}
