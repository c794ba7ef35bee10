#include <string.h>

#include <msgpack.h>

#include "common/err.h"
#include "wire/frame.h"
#include "wire/mpcheck.h"
#include "wire/mpout.h"

static const char sig_domain[] = "COVE-FRAME-V1"; /* signed with its NUL: 14 bytes */

const char *cove_errcode_name(uint32_t code)
{
	switch (code) {
	case COVE_EC_BAD_FRAME: return "bad_frame";
	case COVE_EC_BAD_SIGNATURE: return "bad_signature";
	case COVE_EC_NOT_WHITELISTED: return "not_whitelisted";
	case COVE_EC_WRONG_SENDER: return "wrong_sender";
	case COVE_EC_NOT_MEMBER: return "not_member";
	case COVE_EC_ALREADY_JOINED: return "already_joined";
	case COVE_EC_WRONG_DIRECTION: return "wrong_direction";
	case COVE_EC_REPLAY: return "replay";
	case COVE_EC_LIMIT: return "limit";
	case COVE_EC_NO_KEY: return "no_key";
	case COVE_EC_SHUTDOWN: return "shutdown";
	case COVE_EC_REVOKED: return "revoked";
	case COVE_EC_REPLACED: return "replaced";
	case COVE_EC_RATE: return "rate_limited";
	case COVE_EC_STALE_EPOCH: return "stale_epoch";
	}
	return "unknown";
}

int cove_frame_is_signed(uint8_t type)
{
	return (type >= COVE_F_INI && type <= COVE_F_REK) || type == COVE_F_SYN ||
	       type == COVE_F_UPD || type == COVE_F_PRS;
}

int cove_room_valid(const char *name, size_t len)
{
	if (len == 0 || len > COVE_ROOM_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			return 0;
	return 1;
}

/* ERR and WLC may concern no room; every other signed frame names one. */
static int room_ok(uint8_t type, const char *room, size_t len)
{
	if (len == 0)
		return type == COVE_F_ERR || type == COVE_F_WLC;
	return cove_room_valid(room, len);
}

int cove_frame_set_room(struct cove_frame *f, const char *name, size_t len)
{
	if (len > COVE_ROOM_MAX || (len > 0 && !cove_room_valid(name, len)))
		return COVE_ERR_INVAL;
	if (len)
		memcpy(f->room, name, len);
	f->room[len] = '\0';
	f->room_len = (uint8_t)len;
	return COVE_OK;
}

/* Elements in the msgpack array of each type; 0 for unknown types. */
static unsigned frame_elems(uint8_t type)
{
	switch (type) {
	case COVE_F_INI: return 8;
	case COVE_F_KEY: return 13;
	case COVE_F_DAT: return 12;
	case COVE_F_ERR: return 10;
	case COVE_F_ASK: return 10;
	case COVE_F_BYE: return 8;
	case COVE_F_WLC: return 10;
	case COVE_F_RDY: return 8;
	case COVE_F_RKY: return 8;
	case COVE_F_REK: return 9;
	case COVE_F_PING: return 3;
	case COVE_F_PONG: return 3;
	case COVE_F_FWD: return 5;
	case COVE_F_SYN: return 9;
	case COVE_F_UPD: return 9;
	case COVE_F_PRS: return 10;
	case COVE_F_HELLO: return 4;
	case COVE_F_CHALLENGE: return 4;
	case COVE_F_SRV_AUTH: return 4;
	case COVE_F_CLI_AUTH: return 4;
	case COVE_F_VERSION: return 2;
	}
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

static int get_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return COVE_ERR_FIELD;
	*v = o->via.u64;
	return COVE_OK;
}

static int get_bin(const msgpack_object *o, uint8_t *out, size_t n)
{
	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
		return COVE_ERR_FIELD;
	memcpy(out, o->via.bin.ptr, n);
	return COVE_OK;
}

static int get_str(const msgpack_object *o, size_t max, const char **p, size_t *n)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max)
		return COVE_ERR_FIELD;
	*p = o->via.str.ptr;
	*n = o->via.str.size;
	return COVE_OK;
}

#define TRY(x) do { int r_ = (x); if (r_ != COVE_OK) return r_; } while (0)

static int decode_signed(struct cove_frame *f, const msgpack_object *e)
{
	const char *room;
	size_t room_len;
	uint64_t v;

	TRY(get_str(&e[2], COVE_ROOM_MAX, &room, &room_len));
	if (!room_ok(f->type, room, room_len))
		return COVE_ERR_FIELD;
	if (room_len) /* msgpack-c gives a NULL pointer for an empty str */
		memcpy(f->room, room, room_len);
	f->room[room_len] = '\0';
	f->room_len = (uint8_t)room_len;
	TRY(get_bin(&e[3], f->from, COVE_ID_LEN));
	TRY(get_uint(&e[4], UINT64_MAX, &f->seq));
	TRY(get_uint(&e[5], UINT64_MAX, &f->ts));
	switch (f->type) {
	case COVE_F_INI:
		TRY(get_bin(&e[6], f->u.ini.xpk, COVE_WXPK_LEN));
		break;
	case COVE_F_KEY:
		TRY(get_bin(&e[6], f->u.key.to, COVE_ID_LEN));
		TRY(get_bin(&e[7], f->u.key.xpk, COVE_WXPK_LEN));
		TRY(get_uint(&e[8], UINT32_MAX, &v));
		f->u.key.epoch = (uint32_t)v;
		TRY(get_bin(&e[9], f->u.key.sealed, COVE_WSEALED_LEN));
		TRY(get_bin(&e[10], f->u.key.kid, COVE_WKID_LEN));
		TRY(get_bin(&e[11], f->u.key.view, COVE_WVIEW_LEN));
		break;
	case COVE_F_DAT:
		TRY(get_uint(&e[6], UINT32_MAX, &v));
		f->u.dat.epoch = (uint32_t)v;
		TRY(get_bin(&e[7], f->u.dat.sid, COVE_WSID_LEN));
		TRY(get_uint(&e[8], UINT64_MAX, &f->u.dat.n));
		TRY(get_bin(&e[9], f->u.dat.kid, COVE_WKID_LEN));
		if (e[10].type != MSGPACK_OBJECT_BIN || e[10].via.bin.size == 0)
			return COVE_ERR_FIELD;
		f->u.dat.ct = (const uint8_t *)e[10].via.bin.ptr;
		f->u.dat.ct_len = e[10].via.bin.size;
		break;
	case COVE_F_ERR:
		TRY(get_uint(&e[6], UINT32_MAX, &v));
		f->u.err.code = (uint32_t)v;
		TRY(get_uint(&e[7], UINT64_MAX, &f->u.err.ref));
		TRY(get_str(&e[8], COVE_ERR_TEXT_MAX, &f->u.err.text, &f->u.err.text_len));
		break;
	case COVE_F_ASK:
		TRY(get_bin(&e[6], f->u.ask.to, COVE_ID_LEN));
		TRY(get_bin(&e[7], f->u.ask.joiner, COVE_ID_LEN));
		TRY(get_bin(&e[8], f->u.ask.xpk, COVE_WXPK_LEN));
		break;
	case COVE_F_BYE:
		TRY(get_bin(&e[6], f->u.bye.who, COVE_ID_LEN));
		break;
	case COVE_F_WLC:
		TRY(get_bin(&e[6], f->u.wlc.you, COVE_ID_LEN));
		TRY(get_uint(&e[7], UINT32_MAX, &v));
		f->u.wlc.rate = (uint32_t)v;
		TRY(get_uint(&e[8], UINT32_MAX, &v));
		f->u.wlc.burst = (uint32_t)v;
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		TRY(get_uint(&e[6], UINT32_MAX, &v));
		f->u.rdy.epoch = (uint32_t)v;
		break;
	case COVE_F_REK:
		TRY(get_bin(&e[6], f->u.rek.to, COVE_ID_LEN));
		TRY(get_uint(&e[7], UINT32_MAX, &v));
		f->u.rek.epoch = (uint32_t)v;
		break;
	case COVE_F_SYN:
		TRY(get_uint(&e[6], UINT64_MAX, &f->u.syn.after));
		TRY(get_uint(&e[7], UINT64_MAX, &f->u.syn.after_dat));
		break;
	case COVE_F_UPD:
		TRY(get_uint(&e[6], UINT64_MAX, &f->u.upd.next));
		TRY(get_uint(&e[7], UINT64_MAX, &f->u.upd.missed));
		break;
	case COVE_F_PRS:
		TRY(get_bin(&e[6], f->u.prs.who, COVE_ID_LEN));
		TRY(get_uint(&e[7], 1, &v));
		f->u.prs.here = (uint32_t)v;
		TRY(get_uint(&e[8], UINT64_MAX, &f->u.prs.seen));
		break;
	}
	return get_bin(&e[frame_elems(f->type) - 1], f->sig, COVE_WSIG_LEN);
}

static int decode_object(struct cove_frame *f, const msgpack_object *root)
{
	const msgpack_object *e;
	uint64_t v;
	unsigned n;

	if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2)
		return COVE_ERR_FIELD;
	e = root->via.array.ptr;
	TRY(get_uint(&e[0], 255, &v));
	f->version = (uint8_t)v; /* kept even when unsupported, to be reported */
	if (v != COVE_PROTO_VERSION)
		return COVE_ERR_VERSION;
	TRY(get_uint(&e[1], 255, &v));
	f->type = (uint8_t)v;
	n = frame_elems(f->type);
	if (n == 0)
		return COVE_ERR_TYPE;
	if (root->via.array.size != n)
		return COVE_ERR_FIELD;
	if (cove_frame_is_signed(f->type))
		return decode_signed(f, e);
	switch (f->type) {
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE:
		TRY(get_bin(&e[2], f->u.hello.eph, COVE_WXPK_LEN));
		return get_bin(&e[3], f->u.hello.nonce, COVE_WNONCE_LEN);
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH:
		TRY(get_bin(&e[2], f->u.auth.id, COVE_ID_LEN));
		return get_bin(&e[3], f->u.auth.sig, COVE_WSIG_LEN);
	case COVE_F_PING:
	case COVE_F_PONG:
		return get_uint(&e[2], UINT64_MAX, &f->u.ping.n);
	case COVE_F_FWD:
		TRY(get_uint(&e[2], UINT64_MAX, &f->u.fwd.rseq));
		TRY(get_uint(&e[3], UINT64_MAX, &f->u.fwd.rdat));
		if (e[4].type != MSGPACK_OBJECT_BIN || e[4].via.bin.size == 0 ||
		    e[4].via.bin.size > COVE_FWD_INNER_MAX)
			return COVE_ERR_FIELD;
		f->u.fwd.frame = (const uint8_t *)e[4].via.bin.ptr;
		f->u.fwd.frame_len = e[4].via.bin.size;
		return COVE_OK;
	}
	return COVE_OK; /* VERSION: [version, type] says it all */
}

int cove_frame_decode(struct cove_frame *f, const uint8_t *buf, size_t len)
{
	msgpack_zone zone;
	msgpack_object root;
	size_t off = 0;
	int ret;

	memset(f, 0, sizeof(*f));
	if (len == 0 || len > COVE_FRAME_MAX)
		return COVE_ERR_FRAME_SIZE;
	ret = cove_mp_check(buf, len, COVE_FRAME_DEPTH);
	if (ret != COVE_OK)
		return ret;
	if (!msgpack_zone_init(&zone, 256))
		return COVE_ERR_NOMEM;
	switch (msgpack_unpack((const char *)buf, len, &off, &zone, &root)) {
	case MSGPACK_UNPACK_SUCCESS:
		ret = off == len ? decode_object(f, &root) : COVE_ERR_TRAILING;
		break;
	case MSGPACK_UNPACK_EXTRA_BYTES:
		ret = COVE_ERR_TRAILING;
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		ret = COVE_ERR_NOMEM;
		break;
	default:
		ret = COVE_ERR_MSGPACK;
		break;
	}
	msgpack_zone_destroy(&zone);
	return ret;
}

/* ---- encoding ---------------------------------------------------------- */


/* Sizes of msgpack headers, for cove_frame_size(). */
static size_t mp_bin_hdr(size_t n)
{
	return n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static size_t mp_str_hdr(size_t n)
{
	return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

#define BIN(n) (mp_bin_hdr(n) + (n))
#define U64 9
#define U32 5

size_t cove_frame_size(const struct cove_frame *f)
{
	size_t s = 1 + 1 + 1; /* fixarray header, version, type */

	if (cove_frame_is_signed(f->type)) {
		if (!room_ok(f->type, f->room, f->room_len))
			return 0;
		s += mp_str_hdr(f->room_len) + f->room_len + BIN(COVE_ID_LEN) + U64 + U64 +
		     BIN(COVE_WSIG_LEN);
	}
	switch (f->type) {
	case COVE_F_INI: return s + BIN(COVE_WXPK_LEN);
	case COVE_F_KEY:
		return s + BIN(COVE_ID_LEN) + BIN(COVE_WXPK_LEN) + U32 + BIN(COVE_WSEALED_LEN) +
		       BIN(COVE_WKID_LEN) + BIN(COVE_WVIEW_LEN);
	case COVE_F_DAT:
		if (f->u.dat.ct_len == 0 || f->u.dat.ct_len > COVE_FRAME_MAX)
			return 0;
		s += U32 + BIN(COVE_WSID_LEN) + U64 + BIN(COVE_WKID_LEN) + BIN(f->u.dat.ct_len);
		return s <= COVE_FRAME_MAX ? s : 0;
	case COVE_F_ERR:
		if (f->u.err.text_len > COVE_ERR_TEXT_MAX)
			return 0;
		return s + U32 + U64 + mp_str_hdr(f->u.err.text_len) + f->u.err.text_len;
	case COVE_F_ASK: return s + BIN(COVE_ID_LEN) + BIN(COVE_ID_LEN) + BIN(COVE_WXPK_LEN);
	case COVE_F_BYE: return s + BIN(COVE_ID_LEN);
	case COVE_F_WLC: return s + BIN(COVE_ID_LEN) + U32 + U32;
	case COVE_F_RDY: return s + U32;
	case COVE_F_RKY: return s + U32;
	case COVE_F_REK: return s + BIN(COVE_ID_LEN) + U32;
	case COVE_F_SYN:
	case COVE_F_UPD: return s + U64 + U64;
	case COVE_F_PRS: return f->u.prs.here <= 1 ? s + BIN(COVE_ID_LEN) + U32 + U64 : 0;
	case COVE_F_PING:
	case COVE_F_PONG: return s + U64;
	case COVE_F_FWD:
		if (f->u.fwd.frame_len == 0 || f->u.fwd.frame_len > COVE_FWD_INNER_MAX)
			return 0;
		return s + U64 + U64 + BIN(f->u.fwd.frame_len);
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE: return s + BIN(COVE_WXPK_LEN) + BIN(COVE_WNONCE_LEN);
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH: return s + BIN(COVE_ID_LEN) + BIN(COVE_WSIG_LEN);
	case COVE_F_VERSION: return s;
	}
	return 0;
}

static int pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
	if (msgpack_pack_bin(pk, n) != 0)
		return -1;
	return msgpack_pack_bin_body(pk, p, n);
}

static int pack_str(msgpack_packer *pk, const char *p, size_t n)
{
	if (msgpack_pack_str(pk, n) != 0)
		return -1;
	return msgpack_pack_str_body(pk, p, n);
}

int cove_frame_encode(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len)
{
	struct cove_mpout fb = { out, cap, 0 };
	size_t want = cove_frame_size(f);
	msgpack_packer pk;
	int r = 0;

	if (want == 0)
		return COVE_ERR_INVAL;
	if (cap < want)
		return COVE_ERR_SPACE;
	msgpack_packer_init(&pk, &fb, cove_mpout_write);
	r |= msgpack_pack_array(&pk, frame_elems(f->type));
	r |= msgpack_pack_uint8(&pk, COVE_PROTO_VERSION);
	r |= msgpack_pack_uint8(&pk, f->type);
	if (cove_frame_is_signed(f->type)) {
		r |= pack_str(&pk, f->room, f->room_len);
		r |= pack_bin(&pk, f->from, COVE_ID_LEN);
		r |= msgpack_pack_fix_uint64(&pk, f->seq);
		r |= msgpack_pack_fix_uint64(&pk, f->ts);
	}
	switch (f->type) {
	case COVE_F_INI:
		r |= pack_bin(&pk, f->u.ini.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_KEY:
		r |= pack_bin(&pk, f->u.key.to, COVE_ID_LEN);
		r |= pack_bin(&pk, f->u.key.xpk, COVE_WXPK_LEN);
		r |= msgpack_pack_fix_uint32(&pk, f->u.key.epoch);
		r |= pack_bin(&pk, f->u.key.sealed, COVE_WSEALED_LEN);
		r |= pack_bin(&pk, f->u.key.kid, COVE_WKID_LEN);
		r |= pack_bin(&pk, f->u.key.view, COVE_WVIEW_LEN);
		break;
	case COVE_F_DAT:
		r |= msgpack_pack_fix_uint32(&pk, f->u.dat.epoch);
		r |= pack_bin(&pk, f->u.dat.sid, COVE_WSID_LEN);
		r |= msgpack_pack_fix_uint64(&pk, f->u.dat.n);
		r |= pack_bin(&pk, f->u.dat.kid, COVE_WKID_LEN);
		r |= pack_bin(&pk, f->u.dat.ct, f->u.dat.ct_len);
		break;
	case COVE_F_ERR:
		r |= msgpack_pack_fix_uint32(&pk, f->u.err.code);
		r |= msgpack_pack_fix_uint64(&pk, f->u.err.ref);
		r |= pack_str(&pk, f->u.err.text, f->u.err.text_len);
		break;
	case COVE_F_ASK:
		r |= pack_bin(&pk, f->u.ask.to, COVE_ID_LEN);
		r |= pack_bin(&pk, f->u.ask.joiner, COVE_ID_LEN);
		r |= pack_bin(&pk, f->u.ask.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_BYE:
		r |= pack_bin(&pk, f->u.bye.who, COVE_ID_LEN);
		break;
	case COVE_F_WLC:
		r |= pack_bin(&pk, f->u.wlc.you, COVE_ID_LEN);
		r |= msgpack_pack_fix_uint32(&pk, f->u.wlc.rate);
		r |= msgpack_pack_fix_uint32(&pk, f->u.wlc.burst);
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		r |= msgpack_pack_fix_uint32(&pk, f->u.rdy.epoch);
		break;
	case COVE_F_REK:
		r |= pack_bin(&pk, f->u.rek.to, COVE_ID_LEN);
		r |= msgpack_pack_fix_uint32(&pk, f->u.rek.epoch);
		break;
	case COVE_F_SYN:
		r |= msgpack_pack_fix_uint64(&pk, f->u.syn.after);
		r |= msgpack_pack_fix_uint64(&pk, f->u.syn.after_dat);
		break;
	case COVE_F_UPD:
		r |= msgpack_pack_fix_uint64(&pk, f->u.upd.next);
		r |= msgpack_pack_fix_uint64(&pk, f->u.upd.missed);
		break;
	case COVE_F_PRS:
		r |= pack_bin(&pk, f->u.prs.who, COVE_ID_LEN);
		r |= msgpack_pack_fix_uint32(&pk, f->u.prs.here);
		r |= msgpack_pack_fix_uint64(&pk, f->u.prs.seen);
		break;
	case COVE_F_PING:
	case COVE_F_PONG:
		r |= msgpack_pack_fix_uint64(&pk, f->u.ping.n);
		break;
	case COVE_F_FWD:
		r |= msgpack_pack_fix_uint64(&pk, f->u.fwd.rseq);
		r |= msgpack_pack_fix_uint64(&pk, f->u.fwd.rdat);
		r |= pack_bin(&pk, f->u.fwd.frame, f->u.fwd.frame_len);
		break;
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE:
		r |= pack_bin(&pk, f->u.hello.eph, COVE_WXPK_LEN);
		r |= pack_bin(&pk, f->u.hello.nonce, COVE_WNONCE_LEN);
		break;
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH:
		r |= pack_bin(&pk, f->u.auth.id, COVE_ID_LEN);
		r |= pack_bin(&pk, f->u.auth.sig, COVE_WSIG_LEN);
		break;
	}
	if (cove_frame_is_signed(f->type))
		r |= pack_bin(&pk, f->sig, COVE_WSIG_LEN);
	if (r != 0 || fb.len != want)
		return COVE_ERR_SPACE;
	*len = fb.len;
	return COVE_OK;
}

/* ---- signed bytes ------------------------------------------------------ */

struct sb {
	uint8_t *p;
	size_t cap, len;
	int over;
};

static void sb_put(struct sb *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->over || n > b->cap - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void sb_be(struct sb *b, uint64_t v, unsigned n)
{
	uint8_t t[8];

	for (unsigned i = 0; i < n; i++)
		t[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	sb_put(b, t, n);
}

/* Writes the signed bytes; with ad_only, stops after a DAT's sid. */
static int sigbytes(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len,
		    int ad_only)
{
	struct sb b = { out, cap, 0, 0 };

	if (!cove_frame_is_signed(f->type) || !room_ok(f->type, f->room, f->room_len))
		return COVE_ERR_INVAL;
	sb_put(&b, sig_domain, sizeof(sig_domain));
	sb_be(&b, COVE_PROTO_VERSION, 1);
	sb_be(&b, f->type, 1);
	sb_be(&b, f->room_len, 1);
	sb_put(&b, f->room, f->room_len);
	sb_put(&b, f->from, COVE_ID_LEN);
	sb_be(&b, f->seq, 8);
	sb_be(&b, f->ts, 8);
	switch (f->type) {
	case COVE_F_INI:
		sb_put(&b, f->u.ini.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_KEY:
		sb_put(&b, f->u.key.to, COVE_ID_LEN);
		sb_put(&b, f->u.key.xpk, COVE_WXPK_LEN);
		sb_be(&b, f->u.key.epoch, 4);
		sb_put(&b, f->u.key.sealed, COVE_WSEALED_LEN);
		sb_put(&b, f->u.key.kid, COVE_WKID_LEN);
		sb_put(&b, f->u.key.view, COVE_WVIEW_LEN);
		break;
	case COVE_F_DAT:
		sb_be(&b, f->u.dat.epoch, 4);
		sb_put(&b, f->u.dat.sid, COVE_WSID_LEN);
		sb_be(&b, f->u.dat.n, 8);
		sb_put(&b, f->u.dat.kid, COVE_WKID_LEN);
		if (ad_only)
			break;
		sb_be(&b, f->u.dat.ct_len, 4);
		sb_put(&b, f->u.dat.ct, f->u.dat.ct_len);
		break;
	case COVE_F_ERR:
		if (f->u.err.text_len > COVE_ERR_TEXT_MAX)
			return COVE_ERR_INVAL;
		sb_be(&b, f->u.err.code, 4);
		sb_be(&b, f->u.err.ref, 8);
		sb_be(&b, f->u.err.text_len, 2);
		sb_put(&b, f->u.err.text, f->u.err.text_len);
		break;
	case COVE_F_ASK:
		sb_put(&b, f->u.ask.to, COVE_ID_LEN);
		sb_put(&b, f->u.ask.joiner, COVE_ID_LEN);
		sb_put(&b, f->u.ask.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_BYE:
		sb_put(&b, f->u.bye.who, COVE_ID_LEN);
		break;
	case COVE_F_WLC:
		sb_put(&b, f->u.wlc.you, COVE_ID_LEN);
		sb_be(&b, f->u.wlc.rate, 4);
		sb_be(&b, f->u.wlc.burst, 4);
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		sb_be(&b, f->u.rdy.epoch, 4);
		break;
	case COVE_F_REK:
		sb_put(&b, f->u.rek.to, COVE_ID_LEN);
		sb_be(&b, f->u.rek.epoch, 4);
		break;
	case COVE_F_SYN:
		sb_be(&b, f->u.syn.after, 8);
		sb_be(&b, f->u.syn.after_dat, 8);
		break;
	case COVE_F_UPD:
		sb_be(&b, f->u.upd.next, 8);
		sb_be(&b, f->u.upd.missed, 8);
		break;
	case COVE_F_PRS:
		sb_put(&b, f->u.prs.who, COVE_ID_LEN);
		sb_be(&b, f->u.prs.here, 4);
		sb_be(&b, f->u.prs.seen, 8);
		break;
	}
	if (b.over)
		return COVE_ERR_SPACE;
	*len = b.len;
	return COVE_OK;
}

int cove_frame_sigbytes(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len)
{
	return sigbytes(f, out, cap, len, 0);
}

int cove_frame_dat_ad(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len)
{
	if (f->type != COVE_F_DAT)
		return COVE_ERR_INVAL;
	return sigbytes(f, out, cap, len, 1);
}
