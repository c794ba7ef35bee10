/*
 * verify.h - the verification pool: Ed25519 checks, the most costly step
 * of a relay's ingress and of a node's catch-up, run on worker threads
 * while every decision stays on the loop; and FIFOs, one per connection,
 * that hand each frame back to its owner's callback in the order the
 * frames arrived.
 *
 * It knows frames and threads only: not connections, rooms or policy.
 * Its owner (the relay's rendezvous/relay.c, a node's node/net.c) says
 * which signature of a frame is checked (vf_check), decides which frames
 * need a check, and what a frame means once its turn comes.
 *
 * Who owns what:
 *   - The loop thread owns every FIFO, and every job outside the pool: it
 *     creates jobs, links them into their FIFO and frees them. Only the
 *     loop reads or writes a job's fifo, in_pool, err, v.rate and raw.
 *   - A job in the pool (from vf_fifo_push() with verify set until the
 *     loop takes it off the done list) is a worker's only for reading its
 *     frame (and the bytes it points into) and writing v.sig. A worker
 *     touches nothing else: no FIFO, counter, libevent or log; it checks
 *     the signature, a pure function of the job.
 *   - The pool's queue and done list, its stop flag and each job's
 *     cancelled flag are under its mutex; workers wait on its condition
 *     variable for jobs. A worker that makes the done list non-empty
 *     writes one byte to a pipe, whose read end wakes the loop (a libevent
 *     event); the loop empties the pipe, then takes the whole done list
 *     at once, and runs each FIFO from its head while the head is back.
 *   - A FIFO that is dropped (its connection closes) frees the jobs back
 *     from the pool at once; those still in it lose their FIFO and are
 *     cancelled (a worker that has not started on one skips its check),
 *     and the loop frees them when they come back.
 */
#ifndef COVE_VERIFY_H
#define COVE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "wire/frame.h"

struct event_base;
struct vf_pool;
struct vf_fifo;

/* What was decided about a frame before it is acted on. */
enum { VF_SIG_UNCHECKED = 0, VF_SIG_GOOD, VF_SIG_BAD };
struct vf_verdict {
	int tag;                       /* the owner's, decided on arrival, carried as is
					* (the relay's: a DAT's rate check) */
	int sig;                       /* the signature check, when it was made */
};

/* The signature check a pool makes: VF_SIG_GOOD or VF_SIG_BAD. It must
 * be a pure function of f (and the bytes f points into), safe on any
 * thread. */
typedef int (*vf_check)(const struct cove_frame *f);

/* A FIFO with more frames, or bytes of frames, than this waiting for
 * their turn asks its owner to stop reading until fewer than half are
 * left. The bytes also bound how much of one sender is acted on at once
 * when its checks come back together: a burst that a reader's
 * --max-queue must absorb. */
#define VF_PENDING_MAX 256
#define VF_PENDING_BYTES_MAX (64u << 10)

/* The pool's counters; the owner reads them. */
struct vf_stats {
	uint64_t workers, loop;        /* signature checks, by where they ran */
	uint64_t pauses;               /* FIFOs that asked their owner to stop reading */
	size_t pending, pending_max;   /* frames waiting now; most in one FIFO */
	size_t paused;                 /* FIFOs whose owner is not reading now */
};

/* What a FIFO calls back, on the loop, with its ctx. */
struct vf_fifo_ops {
	/* Acts on a frame in its turn (err: its decoding error, f then
	 * NULL; v: what was decided on arrival, with the signature check).
	 * Returns 0 to go on, non-zero when its owner is closing: the FIFO
	 * stops (the owner drops it). */
	int (*act)(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		   size_t len, const struct vf_verdict *v);
	/* Too much is waiting (1): stop reading the peer; under half again
	 * (0): read it again. */
	void (*pause)(void *ctx, int paused);
	/* Everything pushed so far has been acted on. */
	void (*drained)(void *ctx);
};

/* What a pool is asked to do. */
struct vf_pool_conf {
	unsigned threads;              /* workers (> 0) */
	unsigned inline_rate;          /* below this many checks a second, with the
					* workers idle, vf_pool_inline() says the loop
					* had better check itself */
	vf_check check;                /* each job's check */
	/* A FIFO with more frames, or bytes of frames, than these waiting
	 * asks its owner to stop reading until fewer than half are left;
	 * 0: VF_PENDING_MAX and VF_PENDING_BYTES_MAX. */
	size_t pending_max, pending_bytes_max;
};

/* Starts a pool on base as conf says. stats is borrowed and counted into.
 * Returns 0 with *out set, or a negative errno value. */
int vf_pool_new(struct vf_pool **out, struct event_base *base, const struct vf_pool_conf *conf,
		struct vf_stats *stats);

/* Stops and joins the workers and frees every job left. Call after every
 * FIFO is freed. NULL is a no-op. */
void vf_pool_free(struct vf_pool *p);

/* Whether the next signature check had better run on the loop: the
 * workers are idle and fewer than inline_rate checks a second were asked
 * for lately. Counts the check as asked for. */
int vf_pool_inline(struct vf_pool *p);

/* An empty FIFO of pool p that calls ops with ctx. NULL when out of
 * memory. */
struct vf_fifo *vf_fifo_new(struct vf_pool *p, const struct vf_fifo_ops *ops, void *ctx);

/* Drops and frees q. NULL is a no-op. */
void vf_fifo_free(struct vf_fifo *q);

/* Whether nothing waits in q; a NULL q is empty. */
int vf_fifo_empty(const struct vf_fifo *q);

/* Queues a copy of a frame (err its decoding error, f its decoding, raw
 * its len bytes, v what was decided on arrival) at the tail of q, and in
 * the pool for a signature check when verify is set (otherwise it is
 * ready to be acted on in its turn). Returns 0 or COVE_ERR_NOMEM (nothing
 * queued: the owner must close, as what follows could not keep its
 * order). */
int vf_fifo_push(struct vf_fifo *q, int err, const struct cove_frame *f, const uint8_t *raw,
		 size_t len, const struct vf_verdict *v, int verify);

/* Drops every frame q has waiting (its owner is closing), without a
 * callback. NULL is a no-op. */
void vf_fifo_drop(struct vf_fifo *q);

/* Acts on every frame q has waiting, in order, now: those still with a
 * worker are checked on the loop (its owner is about to be closed, and
 * what it sent before must not be lost, e.g. when a newer connection of
 * the same key takes over). Stops early if act says the owner closes. */
void vf_fifo_finish(struct vf_fifo *q);

#endif
