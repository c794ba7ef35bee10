/*
 * out.c - everything the room logic sends out: frames the relay signs
 * (INI "first", ASK, REK, BYE), ERRs, frames fanned out to a room, and
 * log lines, all through what the hub was given (int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "crypto/ident.h"
#include "room/int.h"

void rm_say(const struct rm_hub *h, enum rm_log_level level, const char *file, int line,
	    const char *fmt, ...)
{
	va_list ap;

	if (!h->deps.log)
		return;
	va_start(ap, fmt);
	h->deps.log(h->deps.ctx, level, file, line, fmt, ap);
	va_end(ap);
}

const char *rm_who(const struct rm_member *m, char *buf, size_t cap)
{
	char b64[COVE_PK_B64_LEN + 1];

	if (m->peer)
		return m->peer->link.ops->label(m->peer->link.ctx, buf, cap);
	cove_pk_to_b64(b64, m->pk);
	snprintf(buf, cap, "away %.12s", b64);
	return buf;
}

int rm_send_raw(const struct rm_member *m, const uint8_t *raw, size_t len)
{
	if (!m->peer)
		return COVE_ERR_STATE;
	return m->peer->link.ops->send(m->peer->link.ctx, raw, len);
}

void rm_own_frame(struct cove_frame *f, uint8_t type, const struct rm_room *r)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	cove_frame_set_room(f, r->name, r->name_len);
}

int rm_sign_own(const struct rm_room *r, struct cove_frame *f, uint8_t *buf, size_t *len)
{
	const struct rm_hub *h = r->hub;
	int ret = h->deps.sign(h->deps.ctx, f);

	return ret == COVE_OK ? cove_frame_encode(f, buf, RM_OWN_FRAME_MAX, len) : ret;
}

int rm_send_own(const struct rm_member *m, struct cove_frame *f)
{
	uint8_t buf[RM_OWN_FRAME_MAX];
	size_t len = 0;
	int ret = rm_sign_own(m->room, f, buf, &len);

	return ret == COVE_OK ? rm_send_raw(m, buf, len) : ret;
}

size_t rm_fan_out(struct rm_room *r, const struct rm_member *skip, const struct rm_out *o,
		  enum rm_to to)
{
	const struct rm_hub *h = r->hub;

	return h->deps.fanout->send(h->deps.fanout_ctx, r, skip, o, to);
}

size_t rm_fan_raw(struct rm_room *r, const struct rm_member *skip, const uint8_t *raw,
		  size_t len, enum rm_to to)
{
	struct rm_out o = { raw, len, NULL, 0 };

	return rm_fan_out(r, skip, &o, to);
}

int rm_send_out(const struct rm_member *m, const struct rm_out *o)
{
	/* FWD only to one that asked for it (SYN): a node of before knows
	 * only bare frames (the transition rule, design note 10) */
	if (m->synced && o->fwd)
		return rm_send_raw(m, o->fwd, o->fwd_len);
	return rm_send_raw(m, o->raw, o->len);
}

size_t rm_room_deliver(struct rm_room *r, const struct rm_member *skip, const struct rm_out *o,
		       enum rm_to to)
{
	struct rm_member *m;
	size_t n = 0;

	TAILQ_FOREACH(m, &r->members, next) {
		if (m == skip || !rm_gets_live(m) ||
		    (to == RM_TO_KEYED && !m->keyed && !m->key_sent))
			continue;
		if (rm_send_out(m, o) == COVE_OK)
			n++;
	}
	return n;
}

void rm_tell(const struct rm_member *m, uint32_t code, const char *fmt, ...)
{
	char text[COVE_ERR_TEXT_MAX + 1];
	va_list ap;

	if (!m->peer)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m->peer->link.ops->err(m->peer->link.ctx, m->room->name, code, text);
}
