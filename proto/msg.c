#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/msg.h"

_Static_assert(COVE_WSEALED_LEN == COVE_SEALED_GK_LEN, "sealed key size");
_Static_assert(COVE_WSID_LEN == COVE_SID_LEN, "sid size");
_Static_assert(COVE_WKID_LEN == COVE_KID_LEN, "kid size");
_Static_assert(COVE_WVIEW_LEN == COVE_VIEW_LEN, "view size");
_Static_assert(COVE_PAYLOAD_MAX == COVE_PAD_MAX_PAYLOAD, "payload fits a bucket");
_Static_assert(COVE_DAT_CT_MAX + 256 < COVE_FRAME_MAX, "a DAT fits a frame");

int cove_msg_init(struct cove_frame *f, uint8_t type, const char *room, size_t room_len,
		  const uint8_t from[COVE_ID_LEN], uint64_t seq, uint64_t ts)
{
	memset(f, 0, sizeof(*f));
	f->version = COVE_PROTO_VERSION;
	f->type = type;
	memcpy(f->from, from, COVE_ID_LEN);
	f->seq = seq;
	f->ts = ts;
	return cove_frame_set_room(f, room, room_len);
}

/* Signed bytes usually fit on the stack; only big DATs need the heap. */
#define SB_STACK 1024

/* Points *m at f's signed bytes: in small when they fit, else in a heap
 * buffer that sigbytes_release() frees. */
static int sigbytes_get(const struct cove_frame *f, uint8_t small[SB_STACK], uint8_t **m,
			size_t *n)
{
	size_t cap = SB_STACK;
	int ret;

	*m = small;
	if (f->type == COVE_F_DAT && f->u.dat.ct_len > SB_STACK - 200) {
		cap = COVE_SIGBYTES_MAX;
		*m = malloc(cap);
		if (!*m)
			return COVE_ERR_NOMEM;
	}
	ret = cove_frame_sigbytes(f, *m, cap, n);
	if (ret != COVE_OK && *m != small)
		free(*m);
	return ret;
}

static void sigbytes_release(uint8_t *m, const uint8_t *small)
{
	if (m != small)
		free(m);
}

int cove_msg_sign(struct cove_frame *f, const struct cove_ident *id)
{
	uint8_t small[SB_STACK], *m;
	size_t n = 0;
	int ret;

	if (sodium_memcmp(f->from, id->pk, COVE_ID_LEN) != 0)
		return COVE_ERR_INVAL;
	ret = sigbytes_get(f, small, &m, &n);
	if (ret != COVE_OK)
		return ret;
	ret = cove_sign(id, m, n, f->sig);
	sigbytes_release(m, small);
	return ret;
}

int cove_msg_verify_by(const struct cove_frame *f, const uint8_t pk[COVE_ID_LEN])
{
	uint8_t small[SB_STACK], *m;
	size_t n = 0;
	int ret = sigbytes_get(f, small, &m, &n);

	if (ret != COVE_OK)
		return ret;
	ret = cove_verify(pk, m, n, f->sig);
	sigbytes_release(m, small);
	return ret;
}

int cove_msg_verify(const struct cove_frame *f)
{
	return cove_msg_verify_by(f, f->from);
}

int cove_msg_dat_seal(struct cove_frame *f, uint8_t *ct, size_t cap,
		      const struct cove_payload *pl, const uint8_t *gk,
		      const struct cove_ident *id)
{
	uint8_t *pt = NULL, key[COVE_DATKEY_LEN], ad[COVE_DAT_AD_MAX];
	size_t len = 0, padded = 0, ad_len = 0;
	int ret;

	if (f->type != COVE_F_DAT)
		return COVE_ERR_INVAL;
	cove_gk_kid(f->u.dat.kid, gk, f->u.dat.epoch);
	pt = malloc(COVE_PAD_MAX);
	if (!pt)
		return COVE_ERR_NOMEM;
	ret = cove_payload_encode(pl, pt, COVE_PAD_MAX, &len);
	if (ret == COVE_OK)
		ret = cove_pad(pt, len, COVE_PAD_MAX, &padded);
	if (ret == COVE_OK && cap < padded + COVE_GCM_TAG_LEN)
		ret = COVE_ERR_SPACE;
	if (ret == COVE_OK)
		ret = cove_frame_dat_ad(f, ad, sizeof(ad), &ad_len);
	if (ret == COVE_OK)
		ret = cove_dat_key(key, gk, f->room, f->room_len, f->from, f->u.dat.epoch,
				   f->u.dat.sid);
	if (ret == COVE_OK)
		ret = cove_dat_seal(ct, pt, padded, ad, ad_len, f->seq, key);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pt, COVE_PAD_MAX);
	free(pt);
	if (ret != COVE_OK)
		return ret;
	f->u.dat.ct = ct;
	f->u.dat.ct_len = padded + COVE_GCM_TAG_LEN;
	return cove_msg_sign(f, id);
}

int cove_msg_dat_open(const struct cove_frame *f, const uint8_t *gk, uint8_t *pt, size_t cap,
		      struct cove_payload *pl)
{
	uint8_t key[COVE_DATKEY_LEN], ad[COVE_DAT_AD_MAX];
	size_t ad_len = 0, padded, len = 0;
	int ret;

	if (f->type != COVE_F_DAT || f->u.dat.ct_len < COVE_GCM_TAG_LEN)
		return COVE_ERR_INVAL;
	padded = f->u.dat.ct_len - COVE_GCM_TAG_LEN;
	if (padded > cap)
		return COVE_ERR_SPACE;
	ret = cove_frame_dat_ad(f, ad, sizeof(ad), &ad_len);
	if (ret != COVE_OK)
		return ret;
	ret = cove_dat_key(key, gk, f->room, f->room_len, f->from, f->u.dat.epoch,
			   f->u.dat.sid);
	if (ret == COVE_OK)
		ret = cove_dat_open(pt, f->u.dat.ct, f->u.dat.ct_len, ad, ad_len, f->seq, key);
	sodium_memzero(key, sizeof(key));
	if (ret != COVE_OK)
		return ret;
	ret = cove_unpad(pt, padded, &len);
	if (ret != COVE_OK)
		return ret;
	return cove_payload_decode(pl, pt, len);
}

int cove_msg_key_seal(struct cove_frame *f, const uint8_t to[COVE_ID_LEN],
		      const uint8_t xpk[COVE_XPK_LEN], uint32_t epoch, const uint8_t *gk,
		      const uint8_t view[COVE_VIEW_LEN], const struct cove_ident *id)
{
	int ret;

	if (f->type != COVE_F_KEY)
		return COVE_ERR_INVAL;
	memcpy(f->u.key.to, to, COVE_ID_LEN);
	memcpy(f->u.key.xpk, xpk, COVE_XPK_LEN);
	f->u.key.epoch = epoch;
	memcpy(f->u.key.view, view, COVE_VIEW_LEN);
	cove_gk_kid(f->u.key.kid, gk, epoch);
	ret = cove_gk_seal(f->u.key.sealed, gk, xpk);
	if (ret != COVE_OK)
		return ret;
	return cove_msg_sign(f, id);
}

int cove_msg_key_open(const struct cove_frame *f, const struct cove_xkp *kp, uint8_t *gk)
{
	uint8_t kid[COVE_KID_LEN];
	int ret;

	if (f->type != COVE_F_KEY || sodium_memcmp(f->u.key.xpk, kp->pk, COVE_XPK_LEN) != 0)
		return COVE_ERR_INVAL;
	ret = cove_gk_open(gk, f->u.key.sealed, kp);
	if (ret != COVE_OK)
		return ret;
	/* The box opened, but is it the key the frame commits to (and the
	 * room's DATs will carry)? A broken or hostile sender could seal any
	 * 32 bytes. */
	cove_gk_kid(kid, gk, f->u.key.epoch);
	if (sodium_memcmp(kid, f->u.key.kid, COVE_KID_LEN) != 0) {
		sodium_memzero(gk, COVE_GK_LEN);
		return COVE_ERR_KEY_COMMIT;
	}
	return COVE_OK;
}
