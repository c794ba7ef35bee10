/*
 * test_room_away.c - members across connections (design note
 * persistent-rooms.md, R1-R14): away with no BYE and no rekey, presence,
 * returns, expiry and whitelist removal, catch-up after SYN (in order, in
 * batches, with exact counts of what retention dropped), a relay started
 * again on its store, and a store that is full; without a store and over
 * every backend (room_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/msg.h"
#include "tests/unit/room_fixture.h"

/* ---- away and back (design note persistent-rooms.md, R1-R12) ------------------- */

static int member_state(int i)
{
	uint8_t pk[COVE_ID_LEN];

	rw_pk(pk, i);
	return rm_hub_member(w.hub, ROOM, strlen(ROOM), pk);
}

/* The last PRS peer i got, which must be the relay's, about who. */
static void assert_prs(int i, int who, int here)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_PRS, &f) >= 1);
	assert_true(from_relay(&f));
	assert_true(is_peer(f.u.prs.who, who));
	assert_u64(f.u.prs.here, here);
}

/* Was a lost member's grace expiry; a lost member is away now, for good. */
TEST(a_lost_member_is_away_with_no_bye_and_no_rekey)
{
	uint64_t before;

	keyed(2);
	rw_disconnect(&w, B);
	assert_prs(A, B, 0);
	assert_int_equal(member_state(B), 2);
	before = w.stats.deliveries;
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(w.stats.deliveries - before, 0); /* away: it gets nothing live */
	rw_advance(&w, RW_EXPIRY_MS - 60000);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_int_equal(member_state(B), 2);
}

TEST(a_member_away_past_its_expiry_is_removed_and_the_room_rekeyed)
{
	keyed(2);
	rw_disconnect(&w, B);
	rw_advance(&w, RW_EXPIRY_MS + 60000);
	assert_relay_bye(A, B);
	assert_rek(A, 1);
	assert_u64(w.stats.expired, 1);
	assert_int_equal(member_state(B), 0);
	joins(B); /* back only as a new member */
	assert_u64(w.stats.joins, 3);
	assert_asked(A, B, 1);
}

TEST(presence_says_who_is_here_and_who_is_away)
{
	keyed(2);
	rw_disconnect(&w, B);
	rw_clear_all(&w);
	joins(C); /* told of each member, its latest INI, and of B: away */
	assert_u64(rw_count(&w, C, COVE_F_INI, NULL), 2);
	assert_u64(rw_count(&w, C, COVE_F_PRS, NULL), 1);
	assert_prs(C, B, 0);
	/* an arrival is its INI, fanned out: no PRS, for a join or a return */
	assert_u64(rw_count(&w, A, COVE_F_PRS, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_INI, NULL), 1);
	rw_clear_all(&w);
	joins(B);
	assert_u64(rw_count(&w, A, COVE_F_PRS, NULL) + rw_count(&w, C, COVE_F_PRS, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_INI, NULL), 1);
	assert_u64(rw_count(&w, C, COVE_F_INI, NULL), 1);
}

/* Was a member back within its grace period: it takes its place back. */
TEST(a_member_that_comes_back_takes_its_place_with_no_rekey)
{
	struct cove_frame f;

	keyed(2);
	rw_disconnect(&w, B);
	rw_advance(&w, RW_EXPIRY_MS / 2);
	joins(B);
	assert_u64(rw_count(&w, A, COVE_F_INI, &f), 1); /* with its new session key */
	assert_bytes(f.u.ini.xpk, w.peer[B].xpk, COVE_WXPK_LEN);
	assert_int_equal(member_state(B), 1);
	/* it is given its turn to say what it holds before anyone is asked */
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0); /* no leave */
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0); /* no rekey */
	assert_u64(w.stats.returns, 1);
	assert_u64(w.stats.joins, 2);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
}

TEST(a_member_back_without_its_key_is_given_it_after_its_turn)
{
	keyed(2);
	rw_disconnect(&w, B);
	joins(B); /* a node started afresh: it holds nothing */
	rw_advance(&w, RW_JOIN_TIMEOUT_MS - 1);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	rw_advance(&w, 1);
	assert_asked(A, B, 1);
}

TEST(a_lone_member_back_keeps_its_room)
{
	/* Its away place was the room's only member: the room stays (found
	 * by fuzz_room with the grace period of before). */
	keyed(1);
	rw_disconnect(&w, A);
	assert_u64(rm_hub_nrooms(w.hub), 1);
	joins(A);
	assert_u64(w.stats.returns, 1);
	assert_u64(rm_hub_nrooms(w.hub), 1);
	assert_u64(firsts(A), 0); /* it may hold the key: its turn first */
	rw_advance(&w, RW_JOIN_TIMEOUT_MS);
	assert_u64(firsts(A), 1); /* it did not say: nobody here holds a key */
	joins(B);
	assert_asked(A, B, 1);
	assert_u64(firsts(B), 0);
}

static int keep_only_a(void *arg, const uint8_t pk[COVE_ID_LEN])
{
	(void)arg;
	return is_peer(pk, A);
}

/* Was: revoked, it leaves at once. Removal from the whitelist reaches the
 * members away too. */
TEST(whitelist_removal_removes_here_and_away_with_a_bye_and_a_rekey)
{
	keyed(3);
	rw_disconnect(&w, C);
	assert_u64(rm_hub_remove(w.hub, keep_only_a, NULL), 2);
	rw_run(&w);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 2);
	assert_rek(A, 1);
	assert_int_equal(member_state(B), 0);
	assert_int_equal(member_state(C), 0);
	assert_u64(w.stats.removed, 2);
}

/* Was: a joiner without a key got no grace. Now it is a member too. */
TEST(a_joiner_without_a_key_that_goes_is_away_too)
{
	keyed(1);
	joins(C);
	rw_disconnect(&w, C);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0);
	assert_int_equal(member_state(C), 2);
	assert_prs(A, C, 0);
}

TEST(a_member_that_never_says_syn_gets_frames_bare)
{
	keyed(2);
	rw_disconnect(&w, B);
	joins(B);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
	assert_u64(rw_count(&w, B, COVE_F_FWD, NULL), 0);
}

TEST(a_second_syn_is_refused_and_a_joiner_is_up_to_date_at_once)
{
	struct cove_frame f;

	keyed(1);
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, UINT64_MAX, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_u64(f.u.upd.missed, 0);
	assert_int_equal(rw_syn(&w, B, ROOM, 0, 0), COVE_EC_ALREADY_JOINED);
	assert_int_equal(rw_key(&w, A, ROOM, B, 0), 0);
	/* from its SYN on in FWD, with the rseq of a store (none without) */
	assert_u64(rw_count(&w, B, COVE_F_FWD, &f), backend ? 1 : 0);
}

/* ---- the store ------------------------------------------------------------------ */

/* What a read of the store gave: each frame's type and addressee. */
struct seen_frames {
	size_t n;
	uint8_t type[64];
	int to[64];                    /* the peer a KEY is for; -1: everyone */
	uint64_t seq[64], rdat[64];
};

static int seen_frame(void *arg, const struct cove_store_frame *f)
{
	struct seen_frames *s = arg;

	if (s->n == 64)
		return 1;
	s->type[s->n] = f->type;
	s->to[s->n] = f->has_to ? f->to[0] - 0xa0 : -1;
	s->seq[s->n] = f->seq;
	s->rdat[s->n] = f->rdat;
	s->n++;
	return 0;
}

static struct seen_frames stored_for(int reader)
{
	struct seen_frames s;
	uint8_t pk[COVE_ID_LEN];

	memset(&s, 0, sizeof(s));
	rw_pk(pk, reader);
	assert_true(cove_store_read(store, ROOM, strlen(ROOM), pk, 0, 64, seen_frame, &s) >= 0);
	return s;
}

struct seen_members {
	size_t n;
	uint32_t epoch;
	int epoch_known;
	uint64_t since[RW_PEERS];
	uint32_t member_epoch[RW_PEERS];
	int who[RW_PEERS];
};

static int seen_room(void *arg, const struct cove_store_room *r)
{
	struct seen_members *s = arg;

	s->epoch = r->epoch;
	s->epoch_known = r->epoch_known;
	return 0;
}

static int seen_member(void *arg, const struct cove_store_room *r,
		       const struct cove_store_member *m)
{
	struct seen_members *s = arg;

	(void)r;
	if (s->n < RW_PEERS) {
		s->who[s->n] = m->pk[0] - 0xa0;
		s->since[s->n] = m->since;
		s->member_epoch[s->n] = m->epoch;
		s->n++;
	}
	return 0;
}

TEST(the_store_holds_the_frames_fanned_out_and_who_is_in)
{
	struct seen_frames s;
	struct seen_members m;

	if (!backend)
		skip();
	keyed(2);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
	/* A's INI, B's INI, the KEY A sealed to B, the DAT: KEYs only for
	 * their addressee, rdat counting DATs */
	s = stored_for(B);
	assert_u64(s.n, 4);
	assert_int_equal(s.type[0], COVE_F_INI);
	assert_int_equal(s.type[1], COVE_F_INI);
	assert_int_equal(s.type[2], COVE_F_KEY);
	assert_int_equal(s.to[2], B);
	assert_int_equal(s.type[3], COVE_F_DAT);
	assert_u64(s.rdat[2], 0);
	assert_u64(s.rdat[3], 1);
	s = stored_for(C);
	assert_u64(s.n, 3);
	assert_int_equal(s.type[2], COVE_F_DAT);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_int_equal(m.epoch_known, 1);
	assert_u64(m.epoch, 0);
	assert_u64(m.n, 2);
	assert_int_equal(m.who[0], A);
	assert_int_equal(m.who[1], B);
	assert_u64(m.since[0], 1); /* the seq of each one's INI */
	assert_u64(m.since[1], 2);
	/* a leave: the BYE is kept, the member goes, the epoch moves on */
	assert_int_equal(rw_bye(&w, B, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	s = stored_for(C);
	assert_int_equal(s.type[s.n - 1], COVE_F_BYE);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_u64(m.n, 1);
	assert_u64(m.epoch, 1);
	assert_u64(m.member_epoch[0], 1);
	/* the last one out: the room is forgotten */
	assert_int_equal(rw_bye(&w, A, ROOM), 0);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_u64(m.n, 0);
}

TEST(a_full_store_is_counted_and_live_delivery_goes_on)
{
	if (!backend)
		skip();
	assert_u64(rw_free(&w), 0);
	cove_store_close(store);
	store_conf.max_bytes = 64 * 1024;
	store_open();
	assert_int_equal(rw_init_store(&w, store), 0);
	keyed(2);
	for (int i = 0; i < 400; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 400);
	assert_true(w.stats.store_failures > 0);
	assert_true(w.errors_logged >= 1);
	assert_true(w.errors_logged < 10); /* rate-limited, not one a frame */
}

/* Where the room's frames stand in the store: what a member that had
 * processed everything so far would say in its SYN. */
static struct cove_store_span span_now(void)
{
	struct cove_store_span sp;

	assert_ok(cove_store_span(store, ROOM, strlen(ROOM), &sp));
	return sp;
}

/* The FWDs peer i got, in order: their rseqs strictly rise, and each
 * frame's type is counted. Returns how many. */
static size_t fwds(int i, size_t *dats, size_t *keys_to_i, size_t *keys_to_others)
{
	struct cove_frame f, in;
	uint64_t last = 0;
	size_t n = 0;

	*dats = *keys_to_i = *keys_to_others = 0;
	for (size_t k = 0; k < w.peer[i].ngot; k++) {
		if (!rw_frame(&w, i, k, &f) || f.type != COVE_F_FWD)
			continue;
		assert_true(f.u.fwd.rseq > last);
		last = f.u.fwd.rseq;
		assert_ok(cove_frame_decode(&in, f.u.fwd.frame, f.u.fwd.frame_len));
		if (in.type == COVE_F_DAT)
			(*dats)++;
		if (in.type == COVE_F_KEY && is_peer(in.u.key.to, i))
			(*keys_to_i)++;
		else if (in.type == COVE_F_KEY)
			(*keys_to_others)++;
		n++;
	}
	return n;
}

TEST(a_member_back_catches_up_in_order_with_its_keys_and_nobody_elses)
{
	struct cove_store_span sp;
	struct cove_frame f;
	size_t dats, mine, others;

	if (!backend)
		skip();
	keyed(3);
	sp = span_now(); /* B has everything up to here */
	rw_disconnect(&w, B);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_int_equal(rw_key(&w, A, ROOM, B, 0), 0); /* stored for it (R8) */
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0); /* for C only */
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 5);
	assert_u64(mine, 1);
	assert_u64(others, 0);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_u64(f.u.upd.next, span_now().next);
	assert_u64(f.u.upd.missed, 0);
	/* the UPD comes after the last FWD, then it is live, in FWD */
	assert_true(rw_frame(&w, B, w.peer[B].ngot - 1, &f) && f.type == COVE_F_UPD);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	assert_int_equal(rw_dat(&w, C, ROOM, 0), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 6);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 0); /* never bare after SYN */
}

TEST(a_catch_up_goes_in_batches_as_the_link_drains)
{
	struct cove_store_span sp;
	size_t dats, mine, others, first;

	if (!backend)
		skip();
	keyed(2);
	sp = span_now();
	rw_disconnect(&w, B);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	joins(B);
	w.peer[B].queued = 300 * 1024; /* its link is full */
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	assert_u64(fwds(B, &dats, &mine, &others), 0);
	rw_drained(&w, B, 200 * 1024); /* room for one batch of 256, not more */
	first = fwds(B, &dats, &mine, &others);
	assert_u64(first, 256);
	assert_u64(rw_count(&w, B, COVE_F_UPD, NULL), 0);
	/* each drain lets at most what fits under the bound go */
	for (int turn = 0; turn < 10 && !rw_count(&w, B, COVE_F_UPD, NULL); turn++) {
		size_t before = fwds(B, &dats, &mine, &others);

		rw_drained(&w, B, 0);
		assert_true(fwds(B, &dats, &mine, &others) - before <= 3 * 256);
	}
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 1000);
	assert_u64(rw_count(&w, B, COVE_F_UPD, NULL), 1);
}

TEST(upd_counts_exactly_the_dats_retention_dropped)
{
	struct cove_store_span sp;
	struct cove_frame f;
	size_t dats, mine, others;

	memset(&f, 0, sizeof(f));
	if (!backend)
		skip();
	assert_u64(rw_free(&w), 0);
	cove_store_close(store);
	store_conf.retain_bytes = 4000; /* about ten DATs */
	store_open();
	assert_int_equal(rw_init_store(&w, store), 0);
	keyed(2);
	sp = span_now();
	rw_disconnect(&w, B);
	for (int i = 0; i < 50; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_true(dats > 0 && dats < 50);
	assert_u64(f.u.upd.missed + dats, 50);
}

TEST(a_restarted_relay_keeps_members_and_epochs)
{
	keyed(2);
	assert_int_equal(rw_rky(&w, A, ROOM, 0), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_key(&w, A, ROOM, B, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	if (!backend)
		skip();
	/* the relay stops (its connections go) and starts on the same store */
	assert_u64(rw_free(&w), 0);
	if (strcmp(backend->name, "mem") != 0) {
		cove_store_close(store);
		store_open();
	}
	assert_int_equal(rw_init_store(&w, store), 0);
	assert_ok(rm_hub_load(w.hub));
	assert_u64(rm_hub_nrooms(w.hub), 1);
	assert_int_equal(member_state(A), 2);
	assert_int_equal(member_state(B), 2);
	assert_room_epoch(1);
	joins(A);
	joins(B);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(w.stats.joins, 0); /* members, not joiners */
	assert_u64(w.stats.returns, 2);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0);
	assert_u64(firsts(A) + firsts(B), 0);
	assert_room_epoch(1);
}

/* The same, with nodes of version 2: each comes back with its SYN, and
 * says RDY only after the UPD that ends its catch-up. The relay must wait
 * for that RDY, not take the end of the catch-up as the end of its turn. */
TEST(a_restarted_relay_keeps_its_epoch_for_members_that_catch_up_first)
{
	struct cove_store_span sp;

	keyed(2);
	if (!backend)
		skip();
	assert_ok(cove_store_span(store, ROOM, strlen(ROOM), &sp));
	assert_u64(rw_free(&w), 0);
	if (strcmp(backend->name, "mem") != 0) {
		cove_store_close(store);
		store_open();
	}
	assert_int_equal(rw_init_store(&w, store), 0);
	assert_ok(rm_hub_load(w.hub));
	joins(A);
	assert_int_equal(rw_syn(&w, A, ROOM, sp.next - 1, sp.dats), 0);
	assert_u64(rw_count(&w, A, COVE_F_UPD, NULL), 1);
	assert_u64(firsts(A), 0); /* its turn to say RDY is not over */
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 0), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(w.stats.returns, 2);
	assert_u64(firsts(A) + firsts(B), 0);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL) + rw_count(&w, B, COVE_F_REK, NULL), 0);
	assert_room_epoch(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(a_lost_member_is_away_with_no_bye_and_no_rekey),
		T(a_member_away_past_its_expiry_is_removed_and_the_room_rekeyed),
		T(presence_says_who_is_here_and_who_is_away),
		T(a_member_that_comes_back_takes_its_place_with_no_rekey),
		T(a_member_back_without_its_key_is_given_it_after_its_turn),
		T(a_lone_member_back_keeps_its_room),
		T(whitelist_removal_removes_here_and_away_with_a_bye_and_a_rekey),
		T(a_joiner_without_a_key_that_goes_is_away_too),
		T(a_member_that_never_says_syn_gets_frames_bare),
		T(a_second_syn_is_refused_and_a_joiner_is_up_to_date_at_once),
		T(the_store_holds_the_frames_fanned_out_and_who_is_in),
		T(a_full_store_is_counted_and_live_delivery_goes_on),
		T(a_member_back_catches_up_in_order_with_its_keys_and_nobody_elses),
		T(a_catch_up_goes_in_batches_as_the_link_drains),
		T(upd_counts_exactly_the_dats_retention_dropped),
		T(a_restarted_relay_keeps_members_and_epochs),
		T(a_restarted_relay_keeps_its_epoch_for_members_that_catch_up_first),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	return room_run(tests, sizeof(tests) / sizeof(tests[0]));
}
