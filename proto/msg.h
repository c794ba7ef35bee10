/*
 * msg.h - building, signing, verifying and opening Cove's signed frames.
 *
 * This is where keys meet bytes: it composes crypto/ (signatures, sealing,
 * AES-256-GCM, padding) with wire/ (frames, payloads). It keeps no state:
 * sequence numbers, timestamps and keys are the caller's.
 */
#ifndef COVE_PROTO_MSG_H
#define COVE_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/group.h"
#include "crypto/ident.h"
#include "crypto/pad.h"
#include "wire/frame.h"
#include "wire/payload.h"

/* Epoch numbers (docs/PROTOCOL.md 5.2). A room's first key takes epoch 0,
 * or one above the highest its maker held there, never more than
 * COVE_EPOCH_FIRST_MAX; each rekey names an epoch above every one named
 * before, and a member takes it only within its epoch credit: the epochs
 * it skips to get there (a rekey to the next one skips 1) come out of a
 * credit of COVE_EPOCH_STEP_MAX at its first key that grows by
 * COVE_EPOCH_STEP_PER_S a second, up to COVE_EPOCH_CREDIT_DAYS days'
 * worth. A member away while the room was rekeyed many times still takes
 * the room's key when it is back, yet nobody can push it near the end
 * faster than the clock allows (2^31 epochs take years). COVE_EPOCH_END
 * is never made nor taken, so epochs never wrap. Members and the relay
 * refuse anything else: nobody can choose an epoch that stops later
 * rekeys. */
#define COVE_EPOCH_FIRST_MAX 0x7fffffffu
#define COVE_EPOCH_STEP_MAX 1024u
#define COVE_EPOCH_STEP_PER_S 16u
#define COVE_EPOCH_CREDIT_DAYS 31u
#define COVE_EPOCH_END 0xffffffffu

/* Space a DAT's ciphertext needs: the largest bucket plus the GCM tag. */
#define COVE_DAT_CT_MAX (COVE_PAD_MAX + COVE_GCM_TAG_LEN)

/* Fills the common header of a signed frame (f is zeroed first). */
int cove_msg_init(struct cove_frame *f, uint8_t type, const char *room, size_t room_len,
		  const uint8_t from[COVE_ID_LEN], uint64_t seq, uint64_t ts);

/* Signs f with id over cove_frame_sigbytes(). f->from must be id's key.
 * Returns 0, COVE_ERR_INVAL or COVE_ERR_NOMEM. */
int cove_msg_sign(struct cove_frame *f, const struct cove_ident *id);

/* Verifies f's signature against f->from. Deciding whether f->from may
 * send f is the caller's job. Returns 0, COVE_ERR_SIGNATURE,
 * COVE_ERR_INVAL or COVE_ERR_NOMEM. */
int cove_msg_verify(const struct cove_frame *f);

/* Verifies f's signature against pk (for frames a relay signs). */
int cove_msg_verify_by(const struct cove_frame *f, const uint8_t pk[COVE_ID_LEN]);

/* Completes a DAT whose header (cove_msg_init), epoch, sid and n are set:
 * sets kid from gk, encodes and pads pl, encrypts it under the sender's
 * DAT key derived from gk, writes the ciphertext to ct (capacity cap, at least
 * COVE_DAT_CT_MAX is always enough) and points f->u.dat.ct at it, then
 * signs f with id. Returns 0, COVE_ERR_INVAL, COVE_ERR_UTF8 or
 * COVE_ERR_SPACE. */
int cove_msg_dat_seal(struct cove_frame *f, uint8_t *ct, size_t cap,
		      const struct cove_payload *pl, const uint8_t *gk,
		      const struct cove_ident *id);

/* Decrypts a DAT whose signature the caller has verified, into pt
 * (capacity cap, at least COVE_PAD_MAX), unpads it and decodes the payload
 * into pl, whose text then points into pt. Returns 0, COVE_ERR_DECRYPT,
 * COVE_ERR_PADDING, COVE_ERR_SPACE, or a payload decoding error
 * (COVE_ERR_TYPE for a kind this version does not know). */
int cove_msg_dat_open(const struct cove_frame *f, const uint8_t *gk, uint8_t *pt, size_t cap,
		      struct cove_payload *pl);

/* Completes a KEY whose header is set: seals gk to the recipient's
 * session key xpk, addresses it to `to`, commits to gk with its kid
 * (cove_gk_kid() of gk and epoch), carries view (the hash of the
 * sender's member list, cove_view_hash()), and signs it. */
int cove_msg_key_seal(struct cove_frame *f, const uint8_t to[COVE_ID_LEN],
		      const uint8_t xpk[COVE_XPK_LEN], uint32_t epoch, const uint8_t *gk,
		      const uint8_t view[COVE_VIEW_LEN], const struct cove_ident *id);

/* Opens a verified KEY with the joiner's session key pair into gk, and
 * checks that gk is the key the KEY's kid commits to. Returns 0,
 * COVE_ERR_INVAL (not sealed to kp), COVE_ERR_DECRYPT or
 * COVE_ERR_KEY_COMMIT (it opens, but to another key than its kid names;
 * gk is wiped). */
int cove_msg_key_open(const struct cove_frame *f, const struct cove_xkp *kp, uint8_t *gk);

#endif
