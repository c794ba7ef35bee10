/*
 * hist.h - a node's history and state: one SQLite file per identity
 * holding, per room, the messages, the relay cursor, the secrets a node
 * must keep across restarts (membership secret keys, group keys), the
 * chat core's membership knowledge and when the user last looked.
 *
 * What the file shows and what it hides. Every message (sender, session
 * id, number and text), every secret, the membership state and each
 * room's name are sealed with crypto/atrest.h under keys derived from the
 * identity's secret key (context COVE_ATREST_CTX_HIST), each bound to its
 * row: the file alone shows no text, no sender and no room name, and
 * another identity's key opens nothing. Rooms and messages are found by
 * keyed tags. In the clear, because the file must order, page and count
 * without the key's help: how many rooms and messages there are, each
 * message's time (ts_ms, as its sender stamped it) and relay number
 * (rseq), each room's relay cursor and when the user last had it open.
 * Message texts are padded as DATs are (crypto/pad.h), so the file tells
 * no more about a text's length than the relay saw. Sealing stops
 * reading and moving rows, not deleting them or putting back an older
 * copy of a row: whoever can write the file can do that.
 *
 * Writes are batched: the first write opens a transaction and
 * cove_hist_flush() commits it, once per turn of the node's loop. A crash
 * or kill loses what was written since the last flush and nothing else;
 * the file is in WAL mode with synchronous=NORMAL, so a power loss may
 * also lose the last few flushes, never the file. Reads see what was
 * written before them, flushed or not.
 *
 * A handle holds the file exclusively: a second handle on the same file,
 * in this process or another, is refused (COVE_ERR_IO, errno EBUSY).
 * Not thread-safe: one handle is used from one thread.
 *
 * Nothing here prints or logs; texts and secrets never leave the calls
 * that take and give them.
 *
 * "A store error" below is COVE_ERR_IO (errno set), COVE_ERR_FULL (the
 * disk is full), COVE_ERR_NOMEM or COVE_ERR_STORE_FORMAT (the file was
 * damaged after it was opened). After one from a write, everything
 * written since the last flush may be lost.
 */
#ifndef COVE_HIST_HIST_H
#define COVE_HIST_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "crypto/pad.h"

/* The SQLite application_id of a history file ("CovH"), and the schema
 * version this code writes (PRAGMA user_version). */
#define COVE_HIST_APP_ID 0x436f7648
#define COVE_HIST_VERSION 1

#define COVE_HIST_ROOM_MAX 255                  /* room name bytes */
#define COVE_HIST_TEXT_MAX COVE_PAD_MAX_PAYLOAD  /* text bytes: a whole DAT payload */
#define COVE_HIST_SECRET_MAX 256                /* bytes of one secret */
#define COVE_HIST_STATE_MAX (4u << 20)          /* bytes of a room's state */

/* Kinds of secret. epoch is the group key's epoch for GROUP_KEY; for
 * MEMBERSHIP a number the caller picks to tell its key pairs apart. */
#define COVE_HIST_MEMBERSHIP 1  /* X25519 secret key of a membership key pair */
#define COVE_HIST_GROUP_KEY 2   /* a room's group key */

struct cove_hist; /* an open history file; opaque */

/* One message. text is not NUL-terminated. */
struct cove_hist_msg {
	uint8_t from[COVE_PK_LEN];  /* sender's identity */
	uint8_t sid[COVE_SID_LEN];  /* sender's session */
	uint64_t n;                 /* number within the session */
	uint64_t ts_ms;             /* sender's time, 0..INT64_MAX */
	uint64_t rseq;              /* the relay's number for its frame; 0: none */
	const char *text;
	size_t text_len;            /* 0..COVE_HIST_TEXT_MAX */
	uint64_t id;                /* set by cove_hist_page: its place in the file */
};

/* Called by cove_hist_page for each message, oldest first. m and its
 * text are lent for the call only (the text is wiped after it). Return 0
 * to go on; any other value stops the page and is returned by it. fn
 * must not call into the same handle. */
typedef int (*cove_hist_msg_fn)(void *arg, const struct cove_hist_msg *m);

/* Called by cove_hist_rooms for each room; name is lent for the call and
 * not NUL-terminated. Returns as cove_hist_msg_fn. */
typedef int (*cove_hist_room_fn)(void *arg, int64_t room, const char *name, size_t len);

/* Opens the history file at path for id, creating it (mode 0600, in a
 * folder that must exist: see cove_file_make_parents) when nothing is
 * there. A file that is there is checked before anything is written to
 * it (its header, its owner row, and its structure with SQLite's
 * quick_check: about 30 ms per 100,000 messages), and refused, left as
 * it was, when it is not a Cove history file or is damaged
 * (COVE_ERR_STORE_FORMAT), was written by a newer version
 * (COVE_ERR_VERSION), or belongs to another identity: its check row does
 * not open with id's key (COVE_ERR_KEY_MISMATCH). id is only read during
 * the call. On success *out is a handle for cove_hist_close(). Also
 * returns COVE_ERR_IO (errno set; EBUSY: another handle has the file),
 * COVE_ERR_FULL or COVE_ERR_NOMEM. */
int cove_hist_open(struct cove_hist **out, const char *path, const struct cove_ident *id);

/* Flushes, then closes and frees h; NULL is a no-op. Returns what the
 * flush returned: h is freed either way. */
int cove_hist_close(struct cove_hist *h);

/* Commits what was written since the last flush. Returns 0,
 * COVE_ERR_FULL or COVE_ERR_IO; on an error that batch is lost. */
int cove_hist_flush(struct cove_hist *h);

/* Flushes, then copies everything into the main file and empties the
 * write-ahead log, so that what was deleted (with secure_delete on, its
 * bytes were zeroed) is gone from both files. Call after deleting
 * secrets. Returns as cove_hist_flush. */
int cove_hist_checkpoint(struct cove_hist *h);

/* Finds the room named by len bytes of name (1..COVE_HIST_ROOM_MAX) or
 * adds it, and sets *room to its id for the calls below. Returns 0,
 * COVE_ERR_INVAL, or a store error. */
int cove_hist_room(struct cove_hist *h, const char *name, size_t len, int64_t *room);

/* Calls fn for every room, in the order they were added. Returns 0, what
 * fn returned, COVE_ERR_DECRYPT (a name does not open: someone changed
 * the file) or a store error. */
int cove_hist_rooms(struct cove_hist *h, cove_hist_room_fn fn, void *arg);

/* Stores m in room (m->id is ignored). A message is known by (room,
 * from, sid, n): one stored before, flushed or not, is not stored again
 * and gives COVE_ERR_EXISTS, so that a message delivered twice (live and
 * in a catch-up, or sent again) is shown once. Returns 0,
 * COVE_ERR_EXISTS, COVE_ERR_INVAL (text too long, time above INT64_MAX),
 * COVE_ERR_NOTFOUND (no such room) or a store error. */
int cove_hist_add(struct cove_hist *h, int64_t room, const struct cove_hist_msg *m);

/* Calls fn for at most limit messages of room with a time before
 * before_ts (0: the newest), the newest such ones, oldest first.
 * Messages are ordered by time, then by when they were stored. Returns
 * 0, what fn returned, COVE_ERR_DECRYPT (a message does not open:
 * someone changed the file), COVE_ERR_NOTFOUND or a store error. */
int cove_hist_page(struct cove_hist *h, int64_t room, uint64_t before_ts, unsigned limit,
		   cove_hist_msg_fn fn, void *arg);

/* As cove_hist_page, for the messages before the one at (before_ts,
 * before_id), the time and id of the oldest message of the last page:
 * it goes on exactly there even when many messages share that time.
 * before_id 0 is cove_hist_page. */
int cove_hist_page_before(struct cove_hist *h, int64_t room, uint64_t before_ts,
			  uint64_t before_id, unsigned limit, cove_hist_msg_fn fn, void *arg);

/* Sets *n to the number of messages of room with a time after ts_ms.
 * Returns 0, COVE_ERR_NOTFOUND or a store error. */
int cove_hist_count_since(struct cove_hist *h, int64_t room, uint64_t ts_ms, uint64_t *n);

/* The relay cursor of room: the last rseq and rdat processed; 0 and 0
 * for a room never set. Return 0, COVE_ERR_NOTFOUND or a store error. */
int cove_hist_cursor_get(struct cove_hist *h, int64_t room, uint64_t *rseq, uint64_t *rdat);
int cove_hist_cursor_set(struct cove_hist *h, int64_t room, uint64_t rseq, uint64_t rdat);

/* When the user last had room open (ms; 0 never). Return as above. */
int cove_hist_seen_get(struct cove_hist *h, int64_t room, uint64_t *ms);
int cove_hist_seen_set(struct cove_hist *h, int64_t room, uint64_t ms);

/* Stores len bytes (1..COVE_HIST_SECRET_MAX) of secret as (kind, epoch)
 * of room, replacing one stored there. The caller keeps and wipes its
 * copy. Returns 0, COVE_ERR_INVAL, COVE_ERR_NOTFOUND or a store error. */
int cove_hist_secret_put(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch,
			 const uint8_t *secret, size_t len);

/* Opens secret (kind, epoch) of room into out, which holds cap bytes,
 * and sets *len to its size. The secret is then the caller's to wipe
 * (sodium_memzero) after its last use; out is best in locked memory.
 * Returns 0, COVE_ERR_NOTFOUND, COVE_ERR_SPACE (*len says how much is
 * needed), COVE_ERR_DECRYPT or a store error. */
int cove_hist_secret_get(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch,
			 uint8_t *out, size_t cap, size_t *len);

/* Deletes secret (kind, epoch) of room; cove_hist_checkpoint() then
 * removes its last bytes from the files. Returns 0, COVE_ERR_NOTFOUND or
 * a store error. */
int cove_hist_secret_del(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch);

/* Deletes every secret of kind of room with an epoch below epoch, and
 * sets *n (when not NULL) to how many. Returns 0 or a store error. */
int cove_hist_secret_del_older(struct cove_hist *h, int64_t room, uint32_t kind,
			       uint32_t epoch, uint64_t *n);

/* Stores len bytes (0..COVE_HIST_STATE_MAX) as room's state, replacing
 * the last. Its length is visible in the file. Returns 0,
 * COVE_ERR_INVAL, COVE_ERR_NOTFOUND or a store error. */
int cove_hist_state_put(struct cove_hist *h, int64_t room, const uint8_t *state, size_t len);

/* Opens room's state into out (cap bytes) and sets *len to its size;
 * out may be NULL with cap 0 to ask the size. Returns 0,
 * COVE_ERR_NOTFOUND (no room, or no state put), COVE_ERR_SPACE (*len is
 * set), COVE_ERR_DECRYPT or a store error. */
int cove_hist_state_get(struct cove_hist *h, int64_t room, uint8_t *out, size_t cap,
			size_t *len);

/* Writes into buf (cap bytes) the default path of id_pk's history file,
 * $XDG_DATA_HOME/cove/<first 16 hex digits of the key>.db when
 * XDG_DATA_HOME is an absolute path, else $HOME/.local/share/cove/...
 * Returns 0, COVE_ERR_NOTFOUND (neither is set) or COVE_ERR_SPACE. */
int cove_hist_default_path(char *buf, size_t cap, const uint8_t id_pk[COVE_PK_LEN]);

#endif
