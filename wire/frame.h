/*
 * frame.h - Cove's frames: their msgpack encoding, strict decoding, and
 * the exact bytes a signature covers.
 *
 * Every frame is one msgpack array whose first two elements are the
 * protocol version and the frame type; the rest depend on the type (see
 * docs/PROTOCOL.md, which this header and frame.c must match byte for
 * byte). This module knows bytes only: no keys, no policy.
 */
#ifndef COVE_WIRE_FRAME_H
#define COVE_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define COVE_PROTO_VERSION 2

#define COVE_ID_LEN 32        /* an Ed25519 public key on the wire */
#define COVE_WSIG_LEN 64      /* an Ed25519 signature */
#define COVE_WXPK_LEN 32      /* an X25519 public key */
#define COVE_WSID_LEN 16      /* DAT session id */
#define COVE_WSEALED_LEN 80   /* a sealed group key */
#define COVE_WKID_LEN 32      /* DAT, KEY: commitment to the group key (fork detection) */
#define COVE_WVIEW_LEN 16     /* KEY: hash of the sender's member list */
#define COVE_WNONCE_LEN 32    /* handshake challenge */
#define COVE_ROOM_MAX 64      /* room name bytes */
#define COVE_ERR_TEXT_MAX 256 /* ERR text bytes */

/* Largest msgpack frame, and largest record on the link (a frame padded
 * to its size class, 67584 bytes for the largest frame, plus the link's
 * 16-byte tag; crypto/pad.h). The 4-byte length prefix is checked against
 * these before anything is allocated. */
#define COVE_FRAME_MAX 65536
#define COVE_RECORD_MAX (67584 + 16)
/* Largest clear-text handshake frame (HELLO, CHALLENGE, VERSION). */
#define COVE_HS_FRAME_MAX 128

/* The largest frame a FWD may carry: a FWD of it is at most
 * COVE_FRAME_MAX bytes. The relay stores and forwards only frames up to
 * this size. */
#define COVE_FWD_INNER_MAX (COVE_FRAME_MAX - 32)

/* Arrays may nest this deep in a frame: frames are flat, so one level. */
#define COVE_FRAME_DEPTH 1

enum cove_ftype {
	/* signed frames: node -> relay (INI, KEY, DAT, RDY, RKY, BYE),
	 * relay -> node (INI, KEY, DAT, ERR, ASK, BYE, WLC, REK) */
	COVE_F_INI = 1,   /* join a room with a session X25519 key; from the relay: "you are first" */
	COVE_F_KEY = 2,   /* a room's group key sealed to a joiner */
	COVE_F_DAT = 3,   /* an encrypted message */
	COVE_F_ERR = 4,   /* relay: refusal with a reason code */
	COVE_F_ASK = 5,   /* relay: "member, answer this joiner" */
	COVE_F_BYE = 6,   /* relay: "this member has left the room" */
	COVE_F_WLC = 7,   /* relay: "welcome, you are authenticated" */
	COVE_F_RDY = 8,   /* node -> relay: "I hold this room's key" */
	COVE_F_RKY = 9,   /* node -> relay: "please have this room rekeyed" */
	COVE_F_REK = 10,  /* relay -> node: "you make the room's next epoch" */
	/* link frames, unsigned (the link authenticates them) */
	COVE_F_PING = 11,
	COVE_F_PONG = 12,
	COVE_F_FWD = 13,  /* relay -> node: a stored room frame with its room seq */
	/* signed frames of persistent rooms */
	COVE_F_SYN = 14,  /* node -> relay: "I have this room up to rseq N: send the rest" */
	COVE_F_UPD = 15,  /* relay -> node: "you are up to date to here; this many were dropped" */
	/* handshake frames, unsigned or signed over the transcript */
	COVE_F_HELLO = 16,     /* client -> server, in the clear */
	COVE_F_CHALLENGE = 17, /* server -> client, in the clear */
	COVE_F_SRV_AUTH = 18,  /* server -> client, first link record */
	COVE_F_CLI_AUTH = 19,  /* client -> server, first link record */
	COVE_F_VERSION = 20,   /* server -> client, in the clear: "I speak version N only" */
	COVE_F_PRS = 21,       /* relay -> node, signed: a member is here or away */
};

/* Reason codes of ERR frames. */
enum cove_errcode {
	COVE_EC_BAD_FRAME = 1,        /* the frame did not decode */
	COVE_EC_BAD_SIGNATURE = 2,    /* its signature does not verify */
	COVE_EC_NOT_WHITELISTED = 3,  /* the sender is not on the relay's whitelist */
	COVE_EC_WRONG_SENDER = 4,     /* from is not the connection's identity */
	COVE_EC_NOT_MEMBER = 5,       /* the sender is not (keyed) in that room */
	COVE_EC_ALREADY_JOINED = 6,   /* a second INI for one room on one connection */
	COVE_EC_WRONG_DIRECTION = 7,  /* a type nodes may not send */
	COVE_EC_REPLAY = 8,           /* seq not above the connection's last */
	COVE_EC_LIMIT = 9,            /* a relay limit (rooms, rate) */
	COVE_EC_NO_KEY = 10,          /* no member delivered the group key */
	COVE_EC_SHUTDOWN = 11,        /* the relay is stopping */
	COVE_EC_REVOKED = 12,         /* removed from the whitelist */
	COVE_EC_REPLACED = 13,        /* a newer connection of the same identity */
	COVE_EC_RATE = 14,            /* sending faster than the relay allows */
	COVE_EC_STALE_EPOCH = 15,     /* a KEY or RDY for an epoch that is not current */
};

/* A stable snake_case name for an ERR code ("bad_signature"), or
 * "unknown". */
const char *cove_errcode_name(uint32_t code);

struct cove_frame {
	uint8_t version;
	uint8_t type;
	/* header of signed frames (types 1-10) */
	uint8_t room_len;
	char room[COVE_ROOM_MAX + 1]; /* NUL-terminated for convenience */
	uint8_t from[COVE_ID_LEN];
	uint64_t seq;
	uint64_t ts;                  /* milliseconds since the Unix epoch */
	union {
		struct { uint8_t xpk[COVE_WXPK_LEN]; } ini;
		struct {
			uint8_t to[COVE_ID_LEN];
			uint8_t xpk[COVE_WXPK_LEN];
			uint32_t epoch;
			uint8_t sealed[COVE_WSEALED_LEN];
			uint8_t kid[COVE_WKID_LEN];  /* the sealed key's commitment */
			uint8_t view[COVE_WVIEW_LEN];
		} key;
		struct {
			uint32_t epoch;
			uint8_t sid[COVE_WSID_LEN];
			uint64_t n;         /* the sender's message number in this room and sid */
			uint8_t kid[COVE_WKID_LEN];
			const uint8_t *ct;  /* borrowed: points into the decoded buffer */
			size_t ct_len;
		} dat;
		struct {
			uint32_t code;
			uint64_t ref;       /* seq of the refused frame, 0 if none */
			const char *text;   /* borrowed, not NUL-terminated */
			size_t text_len;
		} err;
		struct {
			uint8_t to[COVE_ID_LEN];
			uint8_t joiner[COVE_ID_LEN];
			uint8_t xpk[COVE_WXPK_LEN];
		} ask;
		struct { uint8_t who[COVE_ID_LEN]; } bye;
		struct {
			uint8_t you[COVE_ID_LEN];
			uint32_t rate;      /* DATs a second the relay takes from you */
			uint32_t burst;     /* ... after a burst of this many */
		} wlc;
		struct { uint32_t epoch; } rdy;     /* also RKY: the epoch the node holds */
		struct {
			uint8_t to[COVE_ID_LEN];
			uint32_t epoch;     /* the epoch to make */
		} rek;
		struct { uint64_t n; } ping;        /* PING and PONG */
		struct {
			uint64_t rseq;      /* the room's number for the frame, from 1 */
			uint64_t rdat;      /* the room's DATs up to and including it */
			const uint8_t *frame; /* borrowed: the stored frame's bytes */
			size_t frame_len;
		} fwd;
		struct {
			uint64_t after;     /* the last rseq the node has, 2^64-1: none */
			uint64_t after_dat; /* the rdat that came with it */
		} syn;
		struct {
			uint64_t next;      /* the rseq the room's next frame will get */
			uint64_t missed;    /* DATs after the node's cursor dropped by retention */
		} upd;
		struct {
			uint8_t who[COVE_ID_LEN];
			uint32_t here;      /* 1: connected; 0: away */
			uint64_t seen;      /* when the relay last saw it connected, ms */
		} prs;
		struct {
			uint8_t eph[COVE_WXPK_LEN];
			uint8_t nonce[COVE_WNONCE_LEN];
		} hello;            /* HELLO and CHALLENGE */
		struct {
			uint8_t id[COVE_ID_LEN];
			uint8_t sig[COVE_WSIG_LEN];
		} auth;             /* SRV_AUTH and CLI_AUTH */
	} u;
	uint8_t sig[COVE_WSIG_LEN];   /* signed frames only */
};

/* Whether type is a signed frame type (1-10, 14, 15, 21). */
int cove_frame_is_signed(uint8_t type);

/* Whether name is a valid room name: 1..COVE_ROOM_MAX bytes, each a
 * visible ASCII character (0x21-0x7e). */
int cove_room_valid(const char *name, size_t len);

/* Sets f's room from name. Returns 0 or COVE_ERR_INVAL. */
int cove_frame_set_room(struct cove_frame *f, const char *name, size_t len);

/* Decodes one frame from buf[0..len). Checks the msgpack structure first
 * (cove_mp_check), then the version, the type, the element count and the
 * type and exact size of every field, and that nothing trails the value.
 * DAT ct and ERR text point into buf: keep buf alive while using them.
 * On COVE_ERR_VERSION, f->version holds the version the frame declares.
 * Returns 0, COVE_ERR_FRAME_SIZE, COVE_ERR_MSGPACK, COVE_ERR_DEPTH,
 * COVE_ERR_TRAILING, COVE_ERR_VERSION, COVE_ERR_TYPE or COVE_ERR_FIELD. */
int cove_frame_decode(struct cove_frame *f, const uint8_t *buf, size_t len);

/* The exact number of bytes cove_frame_encode() writes for f, or 0 when
 * f cannot be encoded (unknown type, bad room, oversized field). */
size_t cove_frame_size(const struct cove_frame *f);

/* Encodes f into out (capacity cap), storing the length in *len. Integers
 * that vary (seq, ts, ref, epoch, code) are written at fixed width so a
 * frame's size never depends on their values. Returns 0, COVE_ERR_INVAL
 * or COVE_ERR_SPACE. */
int cove_frame_encode(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len);

/* The bytes a signed frame's signature covers (docs/PROTOCOL.md,
 * "Signed bytes"):
 *   "COVE-FRAME-V1\0" || u8 version || u8 type || u8 room_len || room ||
 *   from || u64be seq || u64be ts || the type's fields
 * Returns 0, COVE_ERR_INVAL (not a signed type) or COVE_ERR_SPACE. */
int cove_frame_sigbytes(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len);

/* Upper bound of cove_frame_sigbytes() output for any frame. */
#define COVE_SIGBYTES_MAX (COVE_FRAME_MAX + 256)

/* The associated data of a DAT's AES-GCM: the signed bytes up to and
 * including kid (everything but the ciphertext). */
int cove_frame_dat_ad(const struct cove_frame *f, uint8_t *out, size_t cap, size_t *len);

#define COVE_DAT_AD_MAX (14 + 3 + COVE_ROOM_MAX + COVE_ID_LEN + 16 + 4 + COVE_WSID_LEN + 8 + \
			 COVE_WKID_LEN)

#endif
