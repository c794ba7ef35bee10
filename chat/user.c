/*
 * user.c - what the user does and asks, of chat.h: sending, asking for a
 * rekey, leaving a room or all of them, quitting, a new whitelist, and
 * the questions (rooms, members, what waits). It sits above the driver
 * (chat.c), which handles what comes from the relay, and uses the same
 * parts below it.
 */
#include <string.h>

#include "chat/epoch.h"
#include "chat/msgs.h"
#include "chat/room.h"
#include "common/err.h"
#include "proto/msg.h"

/* ---- questions ------------------------------------------------------------- */

size_t cove_chat_room_count(const struct cove_chat *c)
{
	return c->nrooms;
}

const char *cove_chat_room_name(const struct cove_chat *c, size_t i)
{
	return i < c->nrooms ? c->rooms[i].name : NULL;
}

size_t cove_chat_queued(const struct cove_chat *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrooms; i++)
		n += c->rooms[i].nq;
	return n;
}

void cove_chat_each_queued(const struct cove_chat *c,
			   void (*fn)(void *arg, const char *room, const char *text, size_t len),
			   void *arg)
{
	for (size_t i = 0; i < c->nrooms; i++)
		for (size_t k = 0; k < c->rooms[i].nq; k++)
			fn(arg, c->rooms[i].name, c->rooms[i].q[k].text, c->rooms[i].q[k].len);
}

int cove_chat_authed(const struct cove_chat *c)
{
	return c->authed;
}

int cove_chat_who(const struct cove_chat *c, const char *room,
		  void (*fn)(void *arg, const char *name, const uint8_t pk[COVE_ID_LEN], int self),
		  void *arg)
{
	struct room *r = room_find((struct cove_chat *)c, room, strlen(room));
	const struct cove_wl_entry *me;

	if (!r)
		return COVE_ERR_NOTFOUND;
	me = cove_wl_find_pk(c->wl, c->id->pk);
	fn(arg, me ? me->name : "(you)", c->id->pk, 1);
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i].present)
			fn(arg, r->members[i].name, r->members[i].pk, 0);
	return COVE_OK;
}

int cove_chat_members(const struct cove_chat *c, const char *room,
		      void (*fn)(void *arg, const struct cove_chat_member *m), void *arg)
{
	struct room *r = room_find((struct cove_chat *)c, room, strlen(room));
	const struct cove_wl_entry *me;
	struct cove_chat_member cm;

	if (!r)
		return COVE_ERR_NOTFOUND;
	me = cove_wl_find_pk(c->wl, c->id->pk);
	cm = (struct cove_chat_member){ me ? me->name : "(you)", c->id->pk, 1, 1, 0 };
	fn(arg, &cm);
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct member *m = &r->members[i];

		if (m->left || (!m->present && !m->away))
			continue;
		cm = (struct cove_chat_member){ m->name, m->pk, 0, m->present && !m->away,
						m->seen_ms };
		fn(arg, &cm);
	}
	return COVE_OK;
}

int cove_chat_catching_up(const struct cove_chat *c, const char *room)
{
	struct room *r = room_find((struct cove_chat *)c, room, strlen(room));

	return r && r->catching_up;
}

/* ---- what the user does -------------------------------------------------------- */

int cove_chat_send_text(struct cove_chat *c, const char *room, const char *text, size_t len)
{
	struct room *r = room ? room_find(c, room, strlen(room)) : (c->nrooms ? c->rooms : NULL);

	if (!r)
		return COVE_ERR_NOTFOUND;
	if (len == 0 || len > COVE_TEXT_MAX)
		return COVE_ERR_INVAL;
	if (r->st == R_FAILED)
		return COVE_ERR_STATE;
	if (r->st == R_READY && c->authed && r->nq == 0 && !epoch_blocked(c, r) &&
	    room_pace(c, 0))
		return msgs_send(c, r, text, len);
	if (r->st == R_READY && r->tainted && !r->taint_noted) {
		r->taint_noted = 1;
		room_note(c, r, "held",
			  "room %s: your message waits for the room's next key (%s %s)", r->name,
			  r->taint_who, r->taint_why);
	}
	return msgs_queue(r, text, len);
}

int cove_chat_rekey(struct cove_chat *c, const char *room)
{
	int any = 0;

	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (room && strcmp(r->name, room) != 0)
			continue;
		if (r->st != R_READY || !c->authed) {
			if (room)
				return COVE_ERR_STATE;
			continue;
		}
		r->last_rky_ms = 0; /* asked for by the user: not rate-limited */
		epoch_request(c, r, "asked for");
		any = 1;
	}
	return any || !room ? COVE_OK : COVE_ERR_NOTFOUND;
}

/* Our signed BYE for r, when r has sent its INI on this link: joining or
 * ready (cove_chat_link_down() sets rooms idle), perhaps before the
 * relay's WLC came, and the relay acts on a BYE behind it. Returns
 * whether it went. */
static int say_bye(struct cove_chat *c, struct room *r)
{
	struct cove_frame f;

	if (r->st != R_READY && r->st != R_JOINING)
		return 0;
	cove_msg_init(&f, COVE_F_BYE, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	memcpy(f.u.bye.who, c->id->pk, COVE_ID_LEN);
	r->st = R_IDLE;
	return cove_msg_sign(&f, c->id) == COVE_OK && c->deps.send(c->deps.send_ctx, &f) == COVE_OK;
}

void cove_chat_leave_all(struct cove_chat *c)
{
	for (size_t i = 0; i < c->nrooms; i++)
		say_bye(c, &c->rooms[i]);
}

void cove_chat_quit(struct cove_chat *c)
{
	int bye = c->opts.bye_on_quit ? c->opts.bye_on_quit > 0 : COVE_CHAT_BYE_ON_QUIT;

	if (bye)
		cove_chat_leave_all(c);
}

int cove_chat_leave(struct cove_chat *c, const char *room)
{
	struct room *r = room_find(c, room, strlen(room));
	size_t i;

	if (!r)
		return COVE_ERR_NOTFOUND;
	/* Joined on an earlier link, and this one not up yet: without the
	 * BYE the others would keep us a member. */
	if (r->st == R_IDLE && r->ever_keyed)
		return COVE_ERR_STATE;
	say_bye(c, r);
	if (r->nq)
		room_say(c, r, "not_sent", 0, "%zu message%s waiting for room %s were dropped: "
			 "you left it", r->nq, r->nq == 1 ? "" : "s", r->name);
	if (c->deps.persist.forget)
		c->deps.persist.forget(c->deps.persist.ctx, r->name);
	chat_room_free(r);
	i = (size_t)(r - c->rooms);
	memmove(r, r + 1, (c->nrooms - i - 1) * sizeof(*r));
	c->nrooms--;
	return COVE_OK;
}

void cove_chat_set_whitelist(struct cove_chat *c, const struct cove_wl *wl)
{
	c->wl = wl;
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];
		int distrusted = 0;

		for (size_t k = 0; k < r->nmembers; k++) {
			struct member *m = &r->members[k];
			const struct cove_wl_entry *e = cove_wl_find_pk(wl, m->pk);

			if (e) {
				snprintf(m->name, sizeof(m->name), "%s", e->name);
			} else if (m->exposed && r->gk) {
				/* It may hold our key: nothing more under it, and a
				 * new epoch asked for (made by us, since we ask: it
				 * goes only to those we trust). Also while the room
				 * is joined again after a lost link: the key we hold
				 * comes back as it was, and must stay tainted. */
				epoch_taint(c, r, m->name, "is no longer on your whitelist", 0);
			} else if (m->present) {
				distrusted = 1;
			}
		}
		if (distrusted && r->st == R_READY && !r->tainted) {
			r->last_rky_ms = 0;
			epoch_request(c, r, "someone present left your whitelist");
		}
	}
}
