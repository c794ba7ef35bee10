/*
 * fuzz_chat.c - the chat core driven by sequences of frames, user actions
 * and timer ticks (the operations of tests/fuzz/chat_ops.h), in the world
 * of tests/fuzz/chat_world.h: a fake clock, and a fake relay that checks
 * and records what the core sends.
 *
 * The world builds correctly signed frames from the input, so that the
 * fuzzer reaches joins, rekeys, taints, gaps and resends rather than
 * stopping at the signature checks; bits of each operation break a
 * signature, replay an old session key, skip message numbers and so on.
 * Besides the world's checks, every call into the core must return only
 * what its contract (chat/chat.h) names.
 */
#include "tests/fuzz/chat_ops.h"
#include "tests/fuzz/chat_world.h"

/* ---- the input ------------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t u16(struct in *in)
{
	uint16_t hi = u8(in);

	return (uint16_t)(hi << 8 | u8(in));
}

/* n bytes of the input (fewer at its end); *got says how many. */
static const uint8_t *bytes(struct in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	*got = n < in->n ? n : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* ---- what the others do ---------------------------------------------------- */

static void feed_raw(const uint8_t *raw, size_t len, int remember)
{
	struct cove_frame d;
	int ret;

	if (!w.link_up || w.dead || cove_frame_decode(&d, raw, len) != COVE_OK)
		return;
	if (remember)
		ring_put(w.fed, &w.nfed, raw, len);
	ret = cove_chat_frame(w.core, &d, raw, len);
	FUZZ_CHECK(ret == COVE_OK || ret == COVE_ERR_STATE, "cove_chat_frame returned %d (%s)",
		   ret, cove_strerror(ret));
	if (ret != COVE_OK)
		w.dead = 1; /* the node cannot go on: cove-node exits */
}

/* Encodes f, signed by who (bad: then broken), and feeds it to alice. */
static void feed(struct cove_frame *f, int who, int bad)
{
	static uint8_t raw[COVE_FRAME_MAX];
	size_t len = 0;

	if (cove_msg_sign(f, w.id[who]) != COVE_OK)
		return;
	if (bad)
		f->sig[bad % COVE_WSIG_LEN] ^= 1;
	if (cove_frame_encode(f, raw, sizeof(raw), &len) != COVE_OK)
		return;
	feed_raw(raw, len, 1);
}

static void frame_of(struct cove_frame *f, int who, uint8_t type, int room)
{
	cove_msg_init(f, type, room < 0 ? "" : room_names[room],
		      room < 0 ? 0 : strlen(room_names[room]), pk(who), ++w.seq[who], w.clock_ms);
}

static int member_of(uint8_t a)
{
	static const int pick[4] = { BOB, CAROL, DAVE, ALICE };

	return pick[(a >> 1) & 3];
}

/* An X25519 public key: member m's current (0) or previous (1), or one
 * nobody holds. */
static void member_xpk(struct fz_member *m, int which, uint8_t xpk[COVE_XPK_LEN])
{
	if (which == 0 && m->xkp)
		memcpy(xpk, m->xkp->pk, COVE_XPK_LEN);
	else if (which == 1 && m->prev)
		memcpy(xpk, m->prev->pk, COVE_XPK_LEN);
	else
		randombytes_buf(xpk, COVE_XPK_LEN);
}

static void op_ini(struct in *in)
{
	static const int64_t skew[4] = { 0, -(int64_t)COVE_CHAT_INI_MAX_AGE_MS - 60000, -60000,
					 3600000 };
	static uint8_t raw[COVE_FRAME_MAX];
	uint8_t a = u8(in);
	int who = member_of(a) == ALICE ? BOB : member_of(a), ri = a & 1, mode = (a >> 3) & 3;
	struct fz_member *m = &w.room[ri].mem[who];
	struct cove_frame f;
	size_t len = 0;

	if (mode == 3) {
		if (m->ini)
			feed_raw(m->ini, m->ini_len, 1);
		return;
	}
	if (mode == 0 || !m->xkp) {
		cove_xkp_free(m->prev);
		m->prev = m->xkp;
		m->xkp = cove_xkp_new();
		FUZZ_CHECK(m->xkp, "out of memory");
	}
	cove_msg_init(&f, COVE_F_INI, room_names[ri], strlen(room_names[ri]), pk(who),
		      ++w.seq[who], w.clock_ms + (uint64_t)skew[(a >> 5) & 3]);
	member_xpk(m, mode == 2, f.u.ini.xpk);
	if (cove_msg_sign(&f, w.id[who]) != COVE_OK)
		return;
	if (a & 0x80)
		f.sig[3] ^= 1;
	if (cove_frame_encode(&f, raw, sizeof(raw), &len) != COVE_OK)
		return;
	if (!(a & 0x80)) {
		/* signed: a session key alice may seal to, an INI a relay may
		 * show again */
		memcpy(m->xpks[m->inis++ % 8], f.u.ini.xpk, COVE_XPK_LEN);
		free(m->ini);
		m->ini = malloc(len);
		FUZZ_CHECK(m->ini, "out of memory");
		memcpy(m->ini, raw, len);
		m->ini_len = len;
	}
	feed_raw(raw, len, 1);
}

static void alice_xpk(const struct fz_room *r, int which, uint8_t xpk[COVE_XPK_LEN])
{
	if (which < 2 && r->naxpk > which)
		memcpy(xpk, r->axpk[which], COVE_XPK_LEN);
	else
		randombytes_buf(xpk, COVE_XPK_LEN);
}

static void op_first(struct in *in)
{
	uint8_t a = u8(in);
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_INI, a & 1);
	alice_xpk(&w.room[a & 1], (a >> 1) & 3, f.u.ini.xpk);
	feed(&f, RELAY, a & 0x08 ? 5 : 0);
}

static void op_ask(struct in *in)
{
	uint8_t a = u8(in);
	int who = member_of(a), ri = a & 1;
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_ASK, ri);
	memcpy(f.u.ask.to, pk(a & 0x20 ? BOB : ALICE), COVE_ID_LEN);
	memcpy(f.u.ask.joiner, pk(who), COVE_ID_LEN);
	member_xpk(&w.room[ri].mem[who], (a >> 3) & 3, f.u.ask.xpk);
	feed(&f, RELAY, a & 0x40 ? 9 : 0);
}

/* An epoch relative to alice's in room r, by mode. */
static uint32_t epoch_of(const struct fz_room *r, int mode, uint8_t c)
{
	switch (mode) {
	case 0: return r->epoch;
	case 1: return r->epoch + 1;
	case 2: return r->epoch + c;
	case 4: return COVE_EPOCH_END;
	case 5: return 0;
	case 6: return COVE_EPOCH_FIRST_MAX + 1;
	default: return r->epoch + COVE_EPOCH_STEP_MAX + 1;
	}
}

static void op_key(struct in *in)
{
	uint8_t a = u8(in), b = u8(in), c = u8(in), view[COVE_VIEW_LEN], ids[4][32];
	uint8_t gk[COVE_GK_LEN], xpk[COVE_XPK_LEN];
	int who = member_of(a), mode = (a >> 3) & 7;
	struct fz_room *r = &w.room[a & 1];
	struct cove_frame f;
	uint32_t epoch;
	size_t n = 0;

	if (mode == 3 && r->nkeys) {
		const struct fz_key *k = &r->keys[c % r->nkeys];

		epoch = k->epoch;
		memcpy(gk, k->gk, COVE_GK_LEN);
	} else {
		epoch = epoch_of(r, mode == 3 ? 1 : mode, c);
		randombytes_buf(gk, sizeof(gk));
		key_add(r, gk, epoch);
	}
	for (int i = 0; i < 4; i++)
		if (b & (1u << i))
			memcpy(ids[n++], pk(i), 32);
	cove_view_hash(view, epoch, ids, n);
	frame_of(&f, who, COVE_F_KEY, a & 1);
	alice_xpk(r, b & 0x10 ? 1 : 0, xpk);
	if (cove_msg_key_seal(&f, pk(b & 0x80 ? BOB : ALICE), xpk, epoch, gk, view,
			      w.id[who]) != COVE_OK)
		return;
	if (b & 0x20) {
		uint8_t other[COVE_GK_LEN];

		randombytes_buf(other, sizeof(other));
		cove_gk_kid(f.u.key.kid, other, epoch);
	}
	feed(&f, who, b & 0x40 ? 11 : 0);
	sodium_memzero(gk, sizeof(gk));
}

static void op_rek(struct in *in)
{
	static const int modes[4] = { 1, 0, 2, 7 };
	uint8_t a = u8(in), b = u8(in);
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_REK, a & 1);
	memcpy(f.u.rek.to, pk(a & 0x08 ? BOB : ALICE), COVE_ID_LEN);
	f.u.rek.epoch = epoch_of(&w.room[a & 1], modes[(a >> 1) & 3], b);
	feed(&f, RELAY, a & 0x10 ? 13 : 0);
}

/* Completes a DAT as cove_msg_dat_seal() does, but with the n bytes of
 * body as its plaintext, whatever they are (any kind, or none). */
static int seal_raw(struct cove_frame *f, uint8_t *ct, const uint8_t *body, size_t n,
		    const uint8_t *gk, int who)
{
	static uint8_t pt[COVE_PAD_MAX];
	uint8_t key[COVE_DATKEY_LEN], ad[COVE_DAT_AD_MAX];
	size_t padded = 0, ad_len = 0;
	int ret;

	cove_gk_kid(f->u.dat.kid, gk, f->u.dat.epoch);
	memcpy(pt, body, n);
	ret = cove_pad(pt, n, sizeof(pt), &padded);
	if (ret == COVE_OK)
		ret = cove_frame_dat_ad(f, ad, sizeof(ad), &ad_len);
	if (ret == COVE_OK)
		ret = cove_dat_key(key, gk, f->room, f->room_len, f->from, f->u.dat.epoch,
				   f->u.dat.sid);
	if (ret == COVE_OK)
		ret = cove_dat_seal(ct, pt, padded, ad, ad_len, f->seq, key);
	if (ret != COVE_OK)
		return ret;
	f->u.dat.ct = ct;
	f->u.dat.ct_len = padded + COVE_GCM_TAG_LEN;
	return cove_msg_sign(f, w.id[who]);
}

static void op_dat(struct in *in)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	static struct cove_payload pl;
	static char text[300];
	uint8_t a = u8(in), b = u8(in), c = u8(in);
	int who = member_of(a), ri = a & 1, kind = (a >> 3) & 7, nmode = (b >> 4) & 3;
	size_t len = kind == 1 ? u16(in) : u8(in);
	struct fz_room *r = &w.room[ri];
	struct fz_member *m = &r->mem[who];
	const struct fz_key *k = r->nkeys ? &r->keys[(b & 15) % r->nkeys] : NULL;
	uint8_t gk[COVE_GK_LEN];
	uint32_t epoch = k ? k->epoch : 0;
	struct cove_frame f;
	const uint8_t *body;
	size_t got;
	uint64_t num;

	body = bytes(in, len, &got);
	if (k)
		memcpy(gk, k->gk, COVE_GK_LEN);
	else
		randombytes_buf(gk, sizeof(gk));
	if (kind == 6 || kind == 7) {
		randombytes_buf(gk, sizeof(gk));
		if (kind == 7) {
			epoch = r->epoch + 1 + (c & 3);
			key_add(r, gk, epoch);
		}
	}
	if (!m->sidgen) {
		randombytes_buf(m->sid, sizeof(m->sid));
		m->sidgen = 1;
	}
	switch (nmode) {
	case 0: num = m->next_n++; break;
	case 1: num = m->next_n + c; m->next_n = num + 1; break;
	case 2: num = m->next_n > c ? m->next_n - c : 0; break;
	default: num = COVE_CHAT_UNNUMBERED; break;
	}
	memset(&pl, 0, sizeof(pl));
	switch (kind) {
	case 1:
		break; /* the bytes are the plaintext */
	case 2:
		pl.kind = COVE_PL_HOLDERS;
		pl.holders.epoch = epoch;
		for (int i = 0; i < NIDS; i++)
			if (c & (1u << i))
				memcpy(pl.holders.ids[pl.holders.nids++], pk(i), 32);
		break;
	case 3: {
		/* the BYEs of those c names, each its own (a proof) unless the
		 * top bit says the sender signed them (a claim, no proof) */
		static uint8_t byes[COVE_GONE_MAX][COVE_GONE_BYE_MAX];
		struct cove_frame bf;

		pl.kind = COVE_PL_GONE;
		for (int i = 0; i < NIDS && pl.gone.nbyes < COVE_GONE_MAX; i++) {
			int signer = c & 0x80 ? who : i;

			if (!(c & (1u << i)) || i >= 7)
				continue;
			frame_of(&bf, signer, COVE_F_BYE, ri);
			memcpy(bf.u.bye.who, pk(i), 32);
			if (cove_msg_sign(&bf, w.id[signer]) != COVE_OK ||
			    cove_frame_encode(&bf, byes[pl.gone.nbyes], COVE_GONE_BYE_MAX,
					      &pl.gone.bye_len[pl.gone.nbyes]) != COVE_OK)
				continue;
			pl.gone.bye[pl.gone.nbyes] = byes[pl.gone.nbyes];
			pl.gone.nbyes++;
		}
		break;
	}
	case 4:
		pl.kind = COVE_PL_RESEND;
		memcpy(pl.resend.from, pk(c & 0x80 ? BOB : ALICE), 32);
		memcpy(pl.resend.sid, r->asid, 16);
		pl.resend.first = r->ahigh > (c & 0x3fu) ? r->ahigh - (c & 0x3fu) : 0;
		pl.resend.last = c & 0x40 ? UINT64_MAX : pl.resend.first + (got ? body[0] : 0);
		break;
	case 5:
		pl.kind = COVE_PL_CATCHUP;
		pl.catchup.within_ms = (uint64_t)(c & 0x3f) * 5000;
		if (c & 0x40) {
			uint64_t back = got ? body[0] : 0;

			memcpy(pl.catchup.heads[0].from, pk(ALICE), 32);
			memcpy(pl.catchup.heads[0].sid, r->asid, 16);
			pl.catchup.heads[0].n = r->ahigh > back ? r->ahigh - back : 0;
			pl.catchup.nheads = 1;
		}
		break;
	default:
		pl.kind = COVE_PL_TEXT;
		/* a tag that names the message (or "------": not tracked), then
		 * printable bytes */
		if (w.nmsgs < NMSGS && num != COVE_CHAT_UNNUMBERED) {
			snprintf(text, sizeof(text), "#%04x:", (unsigned)w.nmsgs);
			w.msgs[w.nmsgs++] = (struct fz_msg){ ri, who, m->sidgen, num, 0 };
		} else {
			memcpy(text, "------", 6);
		}
		for (size_t i = 0; i < got; i++)
			text[6 + i] = (char)(0x20 + body[i] % 95);
		pl.text = text;
		pl.text_len = 6 + got;
		break;
	}
	frame_of(&f, who, COVE_F_DAT, ri);
	if (b >> 6 == 1)
		f.seq = w.seq[who] > c + 1u ? w.seq[who] - c - 1 : 1; /* an old seq, not kept */
	if (b >> 6 == 2)
		f.ts = START_MS - COVE_CHAT_STALE_MS - 1000;
	f.u.dat.epoch = epoch;
	memcpy(f.u.dat.sid, m->sid, COVE_SID_LEN);
	f.u.dat.n = num;
	if ((kind == 1 ? seal_raw(&f, ct, body, got, gk, who)
		       : cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, gk, w.id[who])) == COVE_OK) {
		static uint8_t raw[COVE_FRAME_MAX];
		size_t rlen = 0;

		if (kind == 6 && k) {
			memcpy(f.u.dat.kid, k->kid, COVE_KID_LEN);
			cove_msg_sign(&f, w.id[who]);
		}
		if (b >> 6 == 3)
			f.sig[7] ^= 1;
		if (cove_frame_encode(&f, raw, sizeof(raw), &rlen) == COVE_OK)
			feed_raw(raw, rlen, 1);
	}
	sodium_memzero(gk, sizeof(gk));
}

static void op_bye(struct in *in)
{
	uint8_t a = u8(in);
	int who = member_of(a), mode = (a >> 3) & 3, ri = a & 1;
	struct cove_frame f;

	frame_of(&f, mode == 1 ? RELAY : who, COVE_F_BYE, ri);
	memcpy(f.u.bye.who, pk(mode == 2 ? (who == BOB ? CAROL : BOB) : who), COVE_ID_LEN);
	if (mode < 2 && who != ALICE && w.link_up && !w.dead) {
		/* alice takes it: whoever she gave a key to here has left */
		for (size_t i = 0; i < w.room[ri].nkeys; i++)
			if (w.room[ri].keys[i].given & (1u << who))
				w.room[ri].keys[i].gone |= 1u << who;
	}
	feed(&f, mode == 1 ? RELAY : who, mode == 3 ? 17 : 0);
}

static void op_err(struct in *in)
{
	uint8_t a = u8(in), b = u8(in), len = u8(in);
	const struct fz_room *r = &w.room[a >> 7];
	struct cove_frame f;
	size_t got;

	frame_of(&f, RELAY, COVE_F_ERR, b & 1 ? -1 : a >> 7);
	f.u.err.code = a & 15;
	switch ((b >> 1) & 3) {
	case 1: f.u.err.ref = r->rdy_seq; break;
	case 2: f.u.err.ref = r->dat_seq; break;
	case 3: f.u.err.ref = w.alice_seq - (b >> 3); break;
	}
	f.u.err.text = (const char *)bytes(in, len, &got);
	f.u.err.text_len = got;
	feed(&f, RELAY, 0);
}

static void op_wlc(struct in *in)
{
	uint8_t a = u8(in);
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_WLC, -1);
	memcpy(f.u.wlc.you, pk(a & 1 ? BOB : ALICE), COVE_ID_LEN);
	f.u.wlc.rate = u16(in);
	f.u.wlc.burst = u16(in);
	feed(&f, RELAY, 0);
}

static void op_raw(struct in *in)
{
	size_t got;
	const uint8_t *p = bytes(in, u16(in), &got);

	feed_raw(p, got, 1);
}

static void op_send(struct in *in)
{
	uint8_t a = u8(in), len = u8(in);
	size_t got;
	const char *text = (const char *)bytes(in, len, &got);
	unsigned times = 1u << ((a >> 2) % 11);

	for (unsigned i = 0; i < times && !w.dead; i++) {
		int ret = cove_chat_send_text(w.core, a & 2 ? NULL : room_names[a & 1], text, got);

		FUZZ_CHECK(ret == COVE_OK || ret == COVE_ERR_INVAL || ret == COVE_ERR_UTF8 ||
				   ret == COVE_ERR_STATE || ret == COVE_ERR_LIMIT,
			   "cove_chat_send_text returned %d (%s)", ret, cove_strerror(ret));
	}
}

static void who_one(void *arg, const char *name, const uint8_t id[COVE_ID_LEN], int self)
{
	(void)arg;
	FUZZ_CHECK(name && id, "who: no name");
	FUZZ_CHECK(!self || memcmp(id, pk(ALICE), COVE_ID_LEN) == 0, "who: self is not alice");
}

static void queued_one(void *arg, const char *room, const char *text, size_t len)
{
	size_t *n = arg;

	FUZZ_CHECK(room && text && len >= 1 && len <= COVE_TEXT_MAX, "a queued message of %zu",
		   len);
	(*n)++;
}

static void op_query(void)
{
	size_t n = 0, q = cove_chat_queued(w.core);

	cove_chat_each_queued(w.core, queued_one, &n);
	FUZZ_CHECK(n == q && q <= NROOMS * COVE_CHAT_QUEUE_MAX, "%zu queued, %zu listed", q, n);
	FUZZ_CHECK(cove_chat_ready_count(w.core) <= NROOMS, "more rooms ready than there are");
	(void)cove_chat_settled(w.core);
	(void)cove_chat_authed(w.core);
	FUZZ_CHECK(cove_chat_room_count(w.core) == NROOMS, "rooms went missing");
	for (size_t i = 0; i < NROOMS; i++) {
		const char *name = cove_chat_room_name(w.core, i);

		FUZZ_CHECK(name && strcmp(name, room_names[i]) == 0, "room %zu is %s", i, name);
		FUZZ_CHECK(cove_chat_who(w.core, name, who_one, NULL) == COVE_OK, "who in %s", name);
	}
	FUZZ_CHECK(cove_chat_who(w.core, "nowhere", who_one, NULL) == COVE_ERR_NOTFOUND,
		   "who in a room alice is not in");
}

/* The relay of today refuses the SYNs of a link (wrong_direction): alice
 * then has nothing to catch up, as the corpus was recorded. */
static void refuse_syns(void)
{
	for (int ri = 0; ri < NROOMS; ri++) {
		struct cove_frame f;

		if (!w.syn[ri])
			continue;
		frame_of(&f, RELAY, COVE_F_ERR, -1);
		f.u.err.code = COVE_EC_WRONG_DIRECTION;
		f.u.err.ref = w.syn[ri];
		f.u.err.text = "wrong direction";
		f.u.err.text_len = 15;
		feed(&f, RELAY, 0);
	}
}

static void op_link_up(struct in *in)
{
	uint8_t a = u8(in);
	int ret;

	if (w.link_up)
		cove_chat_link_down(w.core); /* once per link */
	w.link_up = 1;
	memset(w.syn, 0, sizeof(w.syn));
	ret = cove_chat_link_up(w.core);
	FUZZ_CHECK(ret == COVE_OK, "cove_chat_link_up returned %d", ret);
	if (a & 1) {
		struct cove_frame f;

		frame_of(&f, RELAY, COVE_F_WLC, -1);
		memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
		feed(&f, RELAY, 0);
	}
	if (!(a & 4))
		refuse_syns();
	if (a & 2)
		for (int ri = 0; ri < NROOMS; ri++)
			for (int k = BOB; k <= DAVE; k++)
				if (w.room[ri].mem[k].ini)
					feed_raw(w.room[ri].mem[k].ini, w.room[ri].mem[k].ini_len, 0);
}

static void op_fwd(struct in *in)
{
	static uint8_t inner[COVE_FRAME_MAX], raw[COVE_FRAME_MAX];
	uint8_t a = u8(in);
	uint16_t rseq = u16(in);
	const struct fz_raw *src;
	struct cove_frame f;
	size_t len = 0;

	if (a & 1 ? !w.nsent : !w.nfed)
		return;
	src = a & 1 ? &w.sent[(a >> 1) % (w.nsent < NRING ? w.nsent : NRING)]
		    : &w.fed[(a >> 1) % (w.nfed < NRING ? w.nfed : NRING)];
	if (src->len > COVE_FWD_INNER_MAX)
		return;
	memcpy(inner, src->raw, src->len); /* the ring may change under the core */
	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = rseq;
	f.u.fwd.rdat = rseq / 2;
	f.u.fwd.frame = inner;
	f.u.fwd.frame_len = src->len;
	if (cove_frame_encode(&f, raw, sizeof(raw), &len) == COVE_OK)
		feed_raw(raw, len, 1);
}

static void op_upd(struct in *in)
{
	static const uint64_t missed[4] = { 0, 1, 1000, UINT64_MAX >> 1 };
	uint8_t a = u8(in);
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_UPD, a & 1);
	f.u.upd.next = w.seq[RELAY];
	f.u.upd.missed = missed[(a >> 1) & 3];
	feed(&f, RELAY, a & 0x80 ? 5 : 0);
}

static void op_prs(struct in *in)
{
	uint8_t a = u8(in);
	struct cove_frame f;

	frame_of(&f, RELAY, COVE_F_PRS, a & 1);
	memcpy(f.u.prs.who, pk(member_of(a)), COVE_ID_LEN);
	f.u.prs.here = !!(a & 0x08);
	f.u.prs.seen = w.clock_ms;
	feed(&f, RELAY, a & 0x80 ? 5 : 0);
}

static void op(struct in *in)
{
	uint8_t code = u8(in) % FZ_OP_COUNT, a;

	switch (code) {
	case FZ_OP_TICK: {
		static const uint64_t unit[4] = { 1, 100, 10000, 60000 };
		uint16_t v = u16(in);
		uint64_t ms = (v & 0x3fffu) * unit[v >> 14], step = ms / 8 + 1;

		for (uint64_t t = 0; t < ms && !w.dead; t += step) {
			w.clock_ms += step < ms - t ? step : ms - t;
			cove_chat_tick(w.core);
		}
		break;
	}
	case FZ_OP_INI: op_ini(in); break;
	case FZ_OP_FIRST: op_first(in); break;
	case FZ_OP_ASK: op_ask(in); break;
	case FZ_OP_KEY: op_key(in); break;
	case FZ_OP_REK: op_rek(in); break;
	case FZ_OP_DAT: op_dat(in); break;
	case FZ_OP_BYE: op_bye(in); break;
	case FZ_OP_ERR: op_err(in); break;
	case FZ_OP_WLC: op_wlc(in); break;
	case FZ_OP_RAW: op_raw(in); break;
	case FZ_OP_SEND: op_send(in); break;
	case FZ_OP_REKEY: {
		int ret;

		a = u8(in);
		ret = cove_chat_rekey(w.core, a & 2 ? NULL : room_names[a & 1]);
		FUZZ_CHECK(ret == COVE_OK || ret == COVE_ERR_STATE, "cove_chat_rekey returned %d", ret);
		break;
	}
	case FZ_OP_LINK_DOWN:
		if (w.link_up)
			cove_chat_link_down(w.core);
		w.link_up = 0;
		break;
	case FZ_OP_LINK_UP: op_link_up(in); break;
	case FZ_OP_WHITELIST:
		w.wl_mask = u8(in) & 15;
		cove_chat_set_whitelist(w.core, wl());
		break;
	case FZ_OP_LEAVE: cove_chat_leave_all(w.core); break;
	case FZ_OP_REPLAY:
		a = u8(in);
		if (w.nfed)
			feed_raw(w.fed[a % (w.nfed < NRING ? w.nfed : NRING)].raw,
				 w.fed[a % (w.nfed < NRING ? w.nfed : NRING)].len, 0);
		break;
	case FZ_OP_MUTATE: {
		static uint8_t raw[COVE_FRAME_MAX];
		const struct fz_raw *src;
		uint16_t pos;
		uint8_t v;

		a = u8(in);
		pos = u16(in);
		v = u8(in);
		if (!w.nfed)
			break;
		src = &w.fed[a % (w.nfed < NRING ? w.nfed : NRING)];
		memcpy(raw, src->raw, src->len);
		raw[pos % src->len] ^= v;
		feed_raw(raw, src->len, 0);
		break;
	}
	case FZ_OP_QUERY: op_query(); break;
	case FZ_OP_RESTART: {
		struct fz_member *m;

		a = u8(in);
		m = &w.room[a & 1].mem[member_of(a)];
		randombytes_buf(m->sid, sizeof(m->sid));
		m->sidgen++;
		m->next_n = 0;
		break;
	}
	case FZ_OP_FWD: op_fwd(in); break;
	case FZ_OP_UPD: op_upd(in); break;
	case FZ_OP_PRS: op_prs(in); break;
	case FZ_OP_ECHO:
		a = u8(in);
		if (w.nsent) {
			const struct fz_raw *s = &w.sent[a % (w.nsent < NRING ? w.nsent : NRING)];
			static uint8_t raw[COVE_FRAME_MAX];

			memcpy(raw, s->raw, s->len); /* the ring may change under the core */
			feed_raw(raw, s->len, 0);
		}
		break;
	}
}

/* ---- one input ---------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct cove_frame f;

	if (!w.id[0])
		world_init();
	fuzz_rng_restart();
	crypto_generichash_init(&w.trace, NULL, 0, 32);
	w.clock_ms = START_MS;
	for (int i = 0; i < NIDS; i++)
		w.seq[i] = w.clock_ms * 1000;
	w.alice_seq = 0;
	w.nalice = 0;
	w.wl_mask = 0x7; /* alice, bob, carol */
	w.link_up = 1;
	w.dead = 0;
	w.core = cove_chat_new(w.id[ALICE], wl(), pk(RELAY), &world_ui, &world_deps, &world_opts);
	FUZZ_CHECK(w.core, "cove_chat_new failed");
	for (int i = 0; i < NROOMS; i++)
		FUZZ_CHECK(cove_chat_add_room(w.core, room_names[i]) == COVE_OK, "add_room");
	memset(w.syn, 0, sizeof(w.syn));
	FUZZ_CHECK(cove_chat_link_up(w.core) == COVE_OK, "link_up");
	frame_of(&f, RELAY, COVE_F_WLC, -1);
	memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
	feed(&f, RELAY, 0);
	refuse_syns();
	for (int i = 0; i < MAX_OPS && in.n && !w.dead; i++)
		op(&in);
	world_clear();
	return 0;
}
