#include <string.h>

#include <msgpack.h>

#include "common/err.h"
#include "common/utf8.h"
#include "wire/mpcheck.h"
#include "wire/mpout.h"
#include "wire/payload.h"

int cove_payload_encode(const struct cove_payload *p, uint8_t *out, size_t cap, size_t *len)
{
	struct cove_mpout fb = { out, cap, 0 };
	msgpack_packer pk;

	if (p->kind == COVE_PL_RESEND) {
		int r = 0;

		if (p->resend.first > p->resend.last)
			return COVE_ERR_INVAL;
		msgpack_packer_init(&pk, &fb, cove_mpout_write);
		r |= msgpack_pack_array(&pk, 5);
		r |= msgpack_pack_uint32(&pk, p->kind);
		r |= msgpack_pack_bin(&pk, 32);
		r |= msgpack_pack_bin_body(&pk, p->resend.from, 32);
		r |= msgpack_pack_bin(&pk, 16);
		r |= msgpack_pack_bin_body(&pk, p->resend.sid, 16);
		r |= msgpack_pack_fix_uint64(&pk, p->resend.first);
		r |= msgpack_pack_fix_uint64(&pk, p->resend.last);
		if (r)
			return COVE_ERR_SPACE;
		*len = fb.len;
		return COVE_OK;
	}
	if (p->kind == COVE_PL_CATCHUP) {
		int r = 0;

		if (p->catchup.nheads > COVE_CATCHUP_MAX)
			return COVE_ERR_INVAL;
		msgpack_packer_init(&pk, &fb, cove_mpout_write);
		r |= msgpack_pack_array(&pk, 3);
		r |= msgpack_pack_uint32(&pk, p->kind);
		r |= msgpack_pack_fix_uint64(&pk, p->catchup.within_ms);
		r |= msgpack_pack_array(&pk, p->catchup.nheads);
		for (size_t i = 0; i < p->catchup.nheads; i++) {
			r |= msgpack_pack_array(&pk, 3);
			r |= msgpack_pack_bin(&pk, 32);
			r |= msgpack_pack_bin_body(&pk, p->catchup.heads[i].from, 32);
			r |= msgpack_pack_bin(&pk, 16);
			r |= msgpack_pack_bin_body(&pk, p->catchup.heads[i].sid, 16);
			r |= msgpack_pack_fix_uint64(&pk, p->catchup.heads[i].n);
		}
		if (r)
			return COVE_ERR_SPACE;
		*len = fb.len;
		return COVE_OK;
	}
	if (p->kind == COVE_PL_GONE) {
		int r = 0;

		if (p->gone.nbyes == 0 || p->gone.nbyes > COVE_GONE_MAX)
			return COVE_ERR_INVAL;
		for (size_t i = 0; i < p->gone.nbyes; i++)
			if (p->gone.bye_len[i] == 0 || p->gone.bye_len[i] > COVE_GONE_BYE_MAX)
				return COVE_ERR_INVAL;
		msgpack_packer_init(&pk, &fb, cove_mpout_write);
		r |= msgpack_pack_array(&pk, 2);
		r |= msgpack_pack_uint32(&pk, p->kind);
		r |= msgpack_pack_array(&pk, p->gone.nbyes);
		for (size_t i = 0; i < p->gone.nbyes; i++) {
			r |= msgpack_pack_bin(&pk, p->gone.bye_len[i]);
			r |= msgpack_pack_bin_body(&pk, p->gone.bye[i], p->gone.bye_len[i]);
		}
		if (r)
			return COVE_ERR_SPACE;
		*len = fb.len;
		return COVE_OK;
	}
	if (p->kind == COVE_PL_HOLDERS) {
		int r = 0;

		if (p->holders.nids > COVE_HOLDERS_MAX)
			return COVE_ERR_INVAL;
		msgpack_packer_init(&pk, &fb, cove_mpout_write);
		r |= msgpack_pack_array(&pk, 3);
		r |= msgpack_pack_uint32(&pk, p->kind);
		r |= msgpack_pack_fix_uint32(&pk, p->holders.epoch);
		r |= msgpack_pack_array(&pk, p->holders.nids);
		for (size_t i = 0; i < p->holders.nids; i++) {
			r |= msgpack_pack_bin(&pk, 32);
			r |= msgpack_pack_bin_body(&pk, p->holders.ids[i], 32);
		}
		if (r)
			return COVE_ERR_SPACE;
		*len = fb.len;
		return COVE_OK;
	}
	if (p->kind != COVE_PL_TEXT || p->text_len == 0 || p->text_len > COVE_TEXT_MAX)
		return COVE_ERR_INVAL;
	if (!cove_utf8_valid(p->text, p->text_len))
		return COVE_ERR_UTF8;
	msgpack_packer_init(&pk, &fb, cove_mpout_write);
	if (msgpack_pack_array(&pk, 2) != 0 || msgpack_pack_uint32(&pk, p->kind) != 0 ||
	    msgpack_pack_str(&pk, p->text_len) != 0 ||
	    msgpack_pack_str_body(&pk, p->text, p->text_len) != 0)
		return COVE_ERR_SPACE;
	*len = fb.len;
	return COVE_OK;
}

static int decode_object(struct cove_payload *p, const msgpack_object *root)
{
	const msgpack_object *e;

	if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 1)
		return COVE_ERR_FIELD;
	e = root->via.array.ptr;
	if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > UINT32_MAX)
		return COVE_ERR_FIELD;
	p->kind = (uint32_t)e[0].via.u64;
	if (p->kind == COVE_PL_RESEND) {
		if (root->via.array.size != 5 || e[1].type != MSGPACK_OBJECT_BIN ||
		    e[1].via.bin.size != 32 || e[2].type != MSGPACK_OBJECT_BIN ||
		    e[2].via.bin.size != 16 || e[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[3].via.u64 > e[4].via.u64)
			return COVE_ERR_FIELD;
		memcpy(p->resend.from, e[1].via.bin.ptr, 32);
		memcpy(p->resend.sid, e[2].via.bin.ptr, 16);
		p->resend.first = e[3].via.u64;
		p->resend.last = e[4].via.u64;
		return COVE_OK;
	}
	if (p->kind == COVE_PL_CATCHUP) {
		const msgpack_object *h;

		if (root->via.array.size != 3 || e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e[2].type != MSGPACK_OBJECT_ARRAY || e[2].via.array.size > COVE_CATCHUP_MAX)
			return COVE_ERR_FIELD;
		p->catchup.within_ms = e[1].via.u64;
		p->catchup.nheads = e[2].via.array.size;
		h = e[2].via.array.ptr;
		for (size_t i = 0; i < p->catchup.nheads; i++) {
			const msgpack_object *x = h[i].via.array.ptr;

			if (h[i].type != MSGPACK_OBJECT_ARRAY || h[i].via.array.size != 3 ||
			    x[0].type != MSGPACK_OBJECT_BIN || x[0].via.bin.size != 32 ||
			    x[1].type != MSGPACK_OBJECT_BIN || x[1].via.bin.size != 16 ||
			    x[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				return COVE_ERR_FIELD;
			memcpy(p->catchup.heads[i].from, x[0].via.bin.ptr, 32);
			memcpy(p->catchup.heads[i].sid, x[1].via.bin.ptr, 16);
			p->catchup.heads[i].n = x[2].via.u64;
		}
		return COVE_OK;
	}
	if (p->kind == COVE_PL_GONE) {
		const msgpack_object *x;

		if (root->via.array.size != 2 || e[1].type != MSGPACK_OBJECT_ARRAY ||
		    e[1].via.array.size == 0 || e[1].via.array.size > COVE_GONE_MAX)
			return COVE_ERR_FIELD;
		p->gone.nbyes = e[1].via.array.size;
		x = e[1].via.array.ptr;
		for (size_t i = 0; i < p->gone.nbyes; i++) {
			if (x[i].type != MSGPACK_OBJECT_BIN || x[i].via.bin.size == 0 ||
			    x[i].via.bin.size > COVE_GONE_BYE_MAX)
				return COVE_ERR_FIELD;
			p->gone.bye[i] = (const uint8_t *)x[i].via.bin.ptr;
			p->gone.bye_len[i] = x[i].via.bin.size;
		}
		return COVE_OK;
	}
	if (p->kind == COVE_PL_HOLDERS) {
		const msgpack_object *x, *ids = &e[2];

		if (root->via.array.size != 3 || e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e[1].via.u64 > UINT32_MAX)
			return COVE_ERR_FIELD;
		if (ids->type != MSGPACK_OBJECT_ARRAY || ids->via.array.size > COVE_HOLDERS_MAX)
			return COVE_ERR_FIELD;
		p->holders.epoch = (uint32_t)e[1].via.u64;
		p->holders.nids = ids->via.array.size;
		x = ids->via.array.ptr;
		for (size_t i = 0; i < p->holders.nids; i++) {
			if (x[i].type != MSGPACK_OBJECT_BIN || x[i].via.bin.size != 32)
				return COVE_ERR_FIELD;
			memcpy(p->holders.ids[i], x[i].via.bin.ptr, 32);
		}
		return COVE_OK;
	}
	if (p->kind != COVE_PL_TEXT)
		return COVE_ERR_TYPE;
	if (root->via.array.size != 2 || e[1].type != MSGPACK_OBJECT_STR ||
	    e[1].via.str.size == 0 || e[1].via.str.size > COVE_TEXT_MAX)
		return COVE_ERR_FIELD;
	if (!cove_utf8_valid(e[1].via.str.ptr, e[1].via.str.size))
		return COVE_ERR_UTF8;
	p->text = e[1].via.str.ptr;
	p->text_len = e[1].via.str.size;
	return COVE_OK;
}

int cove_payload_decode(struct cove_payload *p, const uint8_t *buf, size_t len)
{
	msgpack_zone zone;
	msgpack_object root;
	size_t off = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	if (len == 0 || len > COVE_PAYLOAD_MAX)
		return COVE_ERR_FIELD;
	ret = cove_mp_check(buf, len, COVE_PAYLOAD_DEPTH);
	if (ret != COVE_OK)
		return ret;
	if (!msgpack_zone_init(&zone, 256))
		return COVE_ERR_NOMEM;
	if (msgpack_unpack((const char *)buf, len, &off, &zone, &root) == MSGPACK_UNPACK_SUCCESS &&
	    off == len)
		ret = decode_object(p, &root);
	else
		ret = COVE_ERR_MSGPACK;
	msgpack_zone_destroy(&zone);
	return ret;
}
