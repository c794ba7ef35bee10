/*
 * payload.h - the typed plaintext inside a DAT, before padding.
 *
 * A payload is one msgpack array whose first element is its kind, so new
 * kinds of content (files, direct messages, reactions) need no new frame
 * type. Kinds so far:
 *
 *   TEXT (1):    [1, text]   text: str, valid UTF-8, 1..COVE_TEXT_MAX bytes
 *   RESEND (2):  [2, from, sid, first, last]
 *                from: bin 32, sid: bin 16, first <= last: uint. "The
 *                member `from` is asked to send its messages first..last
 *                of session sid in this room again": a receiver that
 *                found a gap asks the whole room; only `from` acts on it.
 *                Never shown to users.
 *   CATCHUP (3): [3, within_ms, heads]
 *                heads: array of at most COVE_CATCHUP_MAX [from bin32,
 *                sid bin16, n uint]. "Everyone: send again what you sent
 *                in the last within_ms milliseconds, after message n of
 *                session sid if you are listed" (a member whose link was
 *                down; receivers drop what they already have). Never
 *                shown.
 *   HOLDERS (4): [4, epoch, ids]
 *                epoch: uint (32-bit), ids: array of at most
 *                COVE_HOLDERS_MAX bin 32. "I sealed the key of this
 *                epoch to these members": sent by a member after it hands
 *                the room's key to anyone, numbered like a message, so
 *                that every member learns who holds each key and a relay
 *                cannot hide a member from another without leaving a
 *                gap. Never shown.
 *   GONE (5):    [5, byes]
 *                byes: array of 1..COVE_GONE_MAX bin of
 *                1..COVE_GONE_BYE_MAX bytes, each a member's own BYE frame
 *                as it was encoded and signed. "These members left; here
 *                are their signed goodbyes": sent by a member when it sees
 *                a member's BYE, numbered, so that a relay that shows a
 *                BYE to some members only cannot keep the others sending
 *                under a key the departed one holds; the BYE itself is the
 *                proof, so no member can claim another left. Never shown.
 *
 * A receiver that meets an unknown kind gets COVE_ERR_TYPE with the kind
 * filled in, and should say it cannot show that content.
 */
#ifndef COVE_WIRE_PAYLOAD_H
#define COVE_WIRE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define COVE_PL_TEXT 1
#define COVE_PL_RESEND 2
#define COVE_PL_CATCHUP 3
#define COVE_PL_HOLDERS 4
#define COVE_PL_GONE 5

/* Members a CATCHUP names with the last message the asker has of them;
 * members a HOLDERS names (a room's key goes to more in several). */
#define COVE_CATCHUP_MAX 128
#define COVE_HOLDERS_MAX 128

/* BYEs a GONE carries, and the size of each (a BYE frame takes about 200
 * bytes with the longest room name). */
#define COVE_GONE_MAX 8
#define COVE_GONE_BYE_MAX 512

/* The payload must fit the largest padding bucket less its one-byte marker
 * (32767 bytes): a text of COVE_TEXT_MAX bytes takes 1 + 1 + 5 more. */
#define COVE_PAYLOAD_MAX 32767
#define COVE_TEXT_MAX (COVE_PAYLOAD_MAX - 7)

#define COVE_PAYLOAD_DEPTH 4 /* room for nested kinds to come */

struct cove_payload {
	uint32_t kind;
	const char *text;  /* TEXT: borrowed, not NUL-terminated */
	size_t text_len;
	struct {
		uint8_t from[32];
		uint8_t sid[16];
		uint64_t first, last;
	} resend;          /* RESEND */
	struct {
		uint64_t within_ms;
		size_t nheads;
		struct {
			uint8_t from[32];
			uint8_t sid[16];
			uint64_t n;
		} heads[COVE_CATCHUP_MAX];
	} catchup;         /* CATCHUP */
	struct {
		uint32_t epoch;
		size_t nids;
		uint8_t ids[COVE_HOLDERS_MAX][32];
	} holders;         /* HOLDERS */
	struct {
		size_t nbyes;
		const uint8_t *bye[COVE_GONE_MAX]; /* borrowed: the BYE frames' bytes */
		size_t bye_len[COVE_GONE_MAX];
	} gone;            /* GONE */
};

/* Encodes p into out (capacity cap); *len receives the size. Returns 0,
 * COVE_ERR_INVAL (unknown kind, empty or oversized text, first > last),
 * COVE_ERR_UTF8 or COVE_ERR_SPACE. */
int cove_payload_encode(const struct cove_payload *p, uint8_t *out, size_t cap, size_t *len);

/* Decodes a payload; TEXT's text and GONE's byes point into buf. Returns 0,
 * COVE_ERR_MSGPACK, COVE_ERR_DEPTH, COVE_ERR_TRAILING, COVE_ERR_FIELD,
 * COVE_ERR_UTF8, or COVE_ERR_TYPE (p->kind says which kind). */
int cove_payload_decode(struct cove_payload *p, const uint8_t *buf, size_t len);

#endif
