/*
 * store.h - what a relay keeps of its rooms: the rooms and their epochs,
 * their members, and the frames it accepted for them, behind one table of
 * functions with one backend per kind of storage:
 *
 *   mem.c      in memory: lost when the relay stops (--store none)
 *   sqlite.c   one SQLite file (--store PATH), for a relay on one machine
 *   (later)    NATS JetStream, for relays that run as a cluster
 *
 * The relay picks a backend once, at start (cove_store_backend), and the
 * room logic calls only the functions below: it never names a backend.
 * Every backend passes the same tests (tests/unit/test_store.c runs each
 * test once per backend of cove_store_backends).
 *
 * What is stored is opaque to the store: frames are kept as the exact
 * bytes that were fanned out (signed, and for DATs encrypted), with the
 * few facts the relay needs to hand them out again. Nothing here knows a
 * key, a signature or a socket; this layer uses common/ only.
 *
 * Frames of a room are numbered by the store: seq starts at 1 and rises by
 * exactly 1 for each frame appended to that room, for as long as the room
 * exists, so that a member that comes back can say "I have everything up
 * to seq N" and the gap between N and the oldest frame still kept is
 * the exact number of frames it cannot get any more.
 *
 * Not thread-safe: one store is used from one thread (the relay's loop),
 * and a callback given to a function below must not call the functions of
 * the same store, except a completion (cove_store_done_fn), which may call
 * any of them but cove_store_close.
 */
#ifndef COVE_STORE_STORE_H
#define COVE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define COVE_STORE_ID_LEN 32    /* an identity's public key */
#define COVE_STORE_ROOM_MAX 64  /* room name bytes (COVE_ROOM_MAX) */

/* Retention and durability, the same for every room. */
struct cove_store_conf {
	uint64_t retain_ms;     /* frames older than this are dropped; 0: no limit by age */
	uint64_t retain_bytes;  /* a room's frames beyond this many bytes, oldest first,
				 * are dropped; 0: no frame is kept at all */
	int fsync;              /* each append is durable before its completion is
				 * called; otherwise at the latest at cove_store_flush */
	uint64_t max_bytes;     /* the store refuses to grow beyond about this many
				 * bytes (COVE_ERR_FULL), as on a full disk; 0: no cap.
				 * sqlite counts its file, mem the frames it holds. */
};

/* A room as the relay last saw it. name is not NUL-terminated. */
struct cove_store_room {
	const char *name;
	size_t name_len;
	int epoch_known;        /* the room's current epoch has been confirmed */
	uint32_t epoch;
	uint32_t epoch_top;     /* the highest epoch ever named or confirmed */
	uint64_t next_serial;   /* the join order the next member gets */
};

/* An identity that is a member of a room: it joined and has not left. */
struct cove_store_member {
	uint8_t pk[COVE_STORE_ID_LEN];
	uint64_t serial;        /* join order within the room */
	uint64_t joined_ms;     /* when it joined */
	uint64_t seen_ms;       /* when it was last connected (for --member-expiry) */
	uint64_t since;         /* the seq of the INI that made it a member: it is
				 * never given a frame numbered before it */
	int epoch_known;
	uint32_t epoch;         /* the epoch it confirmed last */
	const uint8_t *ini;     /* its signed INI as last sent, ini_len bytes */
	size_t ini_len;
};

/* One frame accepted for a room. */
struct cove_store_frame {
	uint64_t seq;           /* set by the store: 1, 2, 3... within the room */
	uint64_t ts_ms;         /* when the relay accepted it */
	uint64_t rdat;          /* set by the store: the room's DATs appended up to and
				 * including this frame, so that a member that comes
				 * back can be told exactly how many it missed */
	uint8_t type;           /* its frame type (wire/frame.h), for filtering */
	int dat;                /* it is a DAT: counts in rdat (the store knows no
				 * frame types) */
	int has_to;             /* for one member only (a KEY): to says which */
	uint8_t to[COVE_STORE_ID_LEN];
	const uint8_t *raw;     /* the frame's bytes as fanned out, len bytes */
	size_t len;
};

/* Where a room's frames stand, counting the frames whose completion is
 * still to come. Frames are dropped oldest first only, so the frames kept
 * are always first..next-1 and dropped is first - 1, but for the frames
 * for one member that retention by bytes keeps (cove_store_append): those
 * are older than first, and counted neither in bytes nor in dropped. */
struct cove_store_span {
	uint64_t first;         /* the oldest frame still kept; next when none is */
	uint64_t next;          /* the seq the next frame will get */
	uint64_t dropped;       /* frames dropped by retention so far */
	uint64_t dats;          /* DATs appended so far: the rdat of the newest */
	uint64_t dropped_dats;  /* of the frames dropped, how many were DATs */
	uint64_t bytes;         /* bytes of frames kept */
};

struct cove_store;

/* Called once per append, in the order of the appends, with the frame's
 * seq and rdat (both 0 with err) and 0 or a negative cove_err: the frame is stored (and
 * durable, with conf.fsync). A backend may call it before
 * cove_store_append returns (mem), from cove_store_flush once the
 * transaction that holds the frame is committed (sqlite), or later from
 * the loop (one that waits for a cluster to acknowledge); the caller fans
 * the frame out from here, so that nothing is delivered that the store
 * does not hold. With err (COVE_ERR_FULL, COVE_ERR_IO: the commit failed)
 * the frame is not stored and its seq (and rdat) are given to a later
 * frame. */
typedef void (*cove_store_done_fn)(void *arg, uint64_t seq, uint64_t rdat, int err);

/* Called by cove_store_load and cove_store_read for each record; strings
 * and bytes are borrowed for the call (never NULL, even for no bytes).
 * Return 0 to go on, anything else to stop (the call then returns that
 * value). */
typedef int (*cove_store_room_fn)(void *arg, const struct cove_store_room *r);
typedef int (*cove_store_member_fn)(void *arg, const struct cove_store_room *r,
				    const struct cove_store_member *m);
typedef int (*cove_store_frame_fn)(void *arg, const struct cove_store_frame *f);

/* A backend. Each function gets the backend's own state; every one but
 * open and close returns 0 or a negative cove_err. The public functions
 * below document what each must do. */
struct cove_store_ops {
	const char *name;       /* "mem", "sqlite", ... */
	int (*open)(void **state, const char *path, const struct cove_store_conf *conf);
	void (*close)(void *state);
	int (*load)(void *state, cove_store_room_fn room_fn, cove_store_member_fn member_fn,
		    void *arg);
	int (*room_put)(void *state, const struct cove_store_room *r);
	int (*room_del)(void *state, const char *room, size_t room_len);
	int (*member_put)(void *state, const char *room, size_t room_len,
			  const struct cove_store_member *m);
	int (*member_del)(void *state, const char *room, size_t room_len,
			  const uint8_t pk[COVE_STORE_ID_LEN]);
	int (*append)(void *state, const char *room, size_t room_len,
		      const struct cove_store_frame *f, cove_store_done_fn done, void *arg);
	int (*read)(void *state, const char *room, size_t room_len,
		    const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, size_t max,
		    cove_store_frame_fn fn, void *arg);
	int (*span)(void *state, const char *room, size_t room_len, struct cove_store_span *out);
	int (*trim)(void *state, uint64_t now_ms);
	int (*flush)(void *state);
};

/* Every backend built in, NULL-terminated, mem first. */
extern const struct cove_store_ops *const cove_store_backends[];

/* The backend called name, or NULL. */
const struct cove_store_ops *cove_store_backend(const char *name);

/* Opens a store with backend ops at path (ignored by mem). A missing or
 * empty (0-byte) file becomes a new store, created with mode 0600. A file
 * that is not a Cove store, is corrupt, or was written by a newer version
 * is refused (COVE_ERR_STORE_FORMAT, COVE_ERR_VERSION) and left untouched,
 * as is a store another process has open (COVE_ERR_BUSY). sqlite checks
 * the file's header, schema, rooms and members here; a frame found
 * corrupt later fails the call that meets it (COVE_ERR_STORE_FORMAT).
 * Other errors: COVE_ERR_IO (errno set), COVE_ERR_FULL, COVE_ERR_NOMEM.
 * conf is copied. On success *out is the caller's, for cove_store_close. */
int cove_store_open(struct cove_store **out, const struct cove_store_ops *ops,
		    const char *path, const struct cove_store_conf *conf);

/* Flushes (calling the completions still due), makes what was stored
 * durable and frees s. NULL is a no-op. */
void cove_store_close(struct cove_store *s);

/* The backend's name. */
const char *cove_store_name(const struct cove_store *s);

/* Calls room_fn for every room, then member_fn for each of its members in
 * join order, rooms in no particular order: what a relay needs at start. */
int cove_store_load(struct cove_store *s, cove_store_room_fn room_fn,
		    cove_store_member_fn member_fn, void *arg);

/* Creates or replaces a room's record (its frames and their numbering
 * stay). COVE_ERR_LIMIT when a backend holds as many rooms as it can. */
int cove_store_room_put(struct cove_store *s, const struct cove_store_room *r);

/* Forgets a room: its record, its members and its frames (the seq of a
 * room made again under the same name starts at 1). COVE_ERR_NOTFOUND when
 * there is no such room. */
int cove_store_room_del(struct cove_store *s, const char *room, size_t room_len);

/* Creates or replaces a member's record in a room that exists
 * (COVE_ERR_NOTFOUND otherwise). */
int cove_store_member_put(struct cove_store *s, const char *room, size_t room_len,
			  const struct cove_store_member *m);

/* Removes a member (it left, was removed, or expired). COVE_ERR_NOTFOUND
 * when it was not one. */
int cove_store_member_del(struct cove_store *s, const char *room, size_t room_len,
			  const uint8_t pk[COVE_STORE_ID_LEN]);

/* Appends f (f->seq and f->rdat are ignored; f->len > 0) to a room that exists,
 * numbering it, then applies retention by bytes to that room: the oldest
 * frames go until the room's frames fit in conf.retain_bytes (a frame
 * larger than that is numbered and dropped at once). A frame for one
 * member (has_to: a KEY) that this drops is kept all the same, apart, out
 * of the bytes counted, until retention by age drops it (cove_store_trim)
 * or the room goes: the member it is for may be away, and the messages
 * still kept after it are unreadable without it. With retain_bytes 0
 * nothing is kept, those neither. f and its bytes are
 * borrowed for the call. done (never NULL) is called exactly once, before
 * or after this returns, unless this returns an error. Errors:
 * COVE_ERR_NOTFOUND (no such room), COVE_ERR_FULL (no space left: nothing
 * stored, nothing dropped), COVE_ERR_LIMIT (the room's seq space is used
 * up), COVE_ERR_IO. */
int cove_store_append(struct cove_store *s, const char *room, size_t room_len,
		      const struct cove_store_frame *f, cove_store_done_fn done, void *arg);

/* Calls fn for up to max frames of a room with seq > after, in seq order,
 * that are for every member or addressed to reader, among the frames whose
 * completion has been called without error (so that a frame reaches a
 * member either here or from its completion, never both ways). Returns the
 * number of frames given to fn (>= 0), fn's non-zero value when it
 * stopped, or a negative cove_err. */
int cove_store_read(struct cove_store *s, const char *room, size_t room_len,
		    const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, size_t max,
		    cove_store_frame_fn fn, void *arg);

/* Where a room's frames stand (COVE_ERR_NOTFOUND: no such room). */
int cove_store_span(struct cove_store *s, const char *room, size_t room_len,
		    struct cove_store_span *out);

/* Drops frames older than conf.retain_ms as of now_ms (ts_ms < now_ms -
 * retain_ms) in every room, oldest first: in each room it stops at the
 * first frame that is young enough, so that the frames kept stay
 * first..next-1 even if a clock went back. Frames for one member kept
 * apart by retention by bytes go when they are older than that. */
int cove_store_trim(struct cove_store *s, uint64_t now_ms);

/* Commits every write so far (durable against a crash of the relay;
 * against a power loss only with conf.fsync), then calls the completions
 * that are due. The relay calls it once per loop turn, after acting on the
 * frames it read and before the loop writes what they fanned out, so that
 * a backend may batch the writes of a turn in one transaction and still
 * never deliver a frame it would lose. When the commit fails
 * (COVE_ERR_FULL, COVE_ERR_IO), the appends since the last flush complete
 * with that error, and the other writes are kept and tried again at the
 * next flush (and before any other call). */
int cove_store_flush(struct cove_store *s);

#endif
