/*
 * verify.c - signature checks on worker threads, and each connection's
 * frames acted on in the order they arrived (verify.h).
 *
 * An Ed25519 check costs some 50 us, more than everything else the relay
 * does with a frame: on one thread it is the relay's ceiling, and a
 * node's when a catch-up brings thousands of stored messages at once.
 * Here the checks run on a pool of workers while the loop goes on
 * reading, forwarding and deciding. A connection's frames wait in its FIFO (a
 * PING, or a frame to be refused, too: a PONG is a barrier to nodes, and
 * an ERR must come in the order of the frames), and are acted on from
 * the head while the head is back from the pool. verify.h says which
 * thread touches what.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/queue.h>

#include <event2/event.h>
#include <sodium.h>

#include "cli/cli.h"
#include "common/err.h"
#include "verify/verify.h"

/* A frame waiting for its turn. */
struct vf_job {
	STAILQ_ENTRY(vf_job) pool_next; /* in the pool's queue or done list */
	TAILQ_ENTRY(vf_job) fifo_next; /* in its FIFO */
	struct vf_fifo *fifo;          /* NULL once the FIFO dropped it */
	int in_pool;                   /* handed to the pool, not back yet */
	int cancelled;                 /* under the pool's lock: not worth a check */
	int err;                       /* the frame's decoding error, or 0 */
	struct vf_verdict v;
	struct cove_frame f;           /* decoded; what it borrows points into raw */
	size_t len;
	uint8_t raw[];                 /* a copy of the frame's bytes */
};

STAILQ_HEAD(vf_job_queue, vf_job);

struct vf_fifo {
	struct vf_pool *pool;
	const struct vf_fifo_ops *ops;
	void *ctx;
	TAILQ_HEAD(, vf_job) jobs;     /* in the order they arrived */
	size_t n, bytes;
	int paused;                    /* its owner was asked to stop reading */
};

struct vf_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;           /* jobs were queued, or stop was set */
	/* under lock */
	struct vf_job_queue queue;     /* waiting for a worker */
	struct vf_job_queue done;      /* checked, waiting for the loop */
	int stop;
	/* the loop's */
	struct vf_stats *stats;
	vf_check check;                /* the owner's, safe on any thread */
	size_t pending_max, pending_bytes_max; /* a FIFO's, before it pauses */
	unsigned inline_rate;          /* checks a second the loop makes itself */
	int pipe[2];                   /* a byte when done turns non-empty */
	struct event *wake;
	struct event *help;            /* the loop takes a turn at the queue */
	size_t queued;                 /* jobs in queue (under lock) */
	int looking;                   /* under lock: the loop has a turn coming
					* (help_cb) and takes the done list then */
	pthread_t *threads;
	unsigned nthreads;
	size_t in_flight;              /* jobs handed to workers, not back yet */
	/* checks asked for, in this window of VF_INLINE_WINDOW_MS and the last */
	uint64_t window_ms;
	unsigned asked, asked_before;
};

/* The load under which checks stay on the loop is measured over windows
 * of this length. */
#define VF_INLINE_WINDOW_MS 10

static void wake_cb(evutil_socket_t fd, short what, void *arg);
static void help_cb(evutil_socket_t fd, short what, void *arg);

/* The loop checks this many frames of the queue in one turn of helping
 * (some 200 us): then it goes back to the network. */
#define VF_HELP_BATCH 4

/* ---- the workers ----------------------------------------------------------- */

static void *worker(void *arg)
{
	struct vf_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct vf_job *j;
		int first;

		while (!p->stop && STAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		j = STAILQ_FIRST(&p->queue);
		STAILQ_REMOVE_HEAD(&p->queue, pool_next);
		p->queued--;
		if (!j->cancelled) {
			pthread_mutex_unlock(&p->lock);
			j->v.sig = p->check(&j->f);
			pthread_mutex_lock(&p->lock);
		}
		first = STAILQ_EMPTY(&p->done);
		STAILQ_INSERT_TAIL(&p->done, j, pool_next);
		/* No byte while the loop has a turn coming: it looks then. */
		if (first && !p->looking) {
			/* One byte per batch, not per job: the loop takes the
			 * whole list when it wakes, so a byte is owed only
			 * when the list was empty. Written after the job is on
			 * the list, so the loop cannot miss it. */
			pthread_mutex_unlock(&p->lock);
			while (write(p->pipe[1], "", 1) < 0 && errno == EINTR)
				;
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- jobs and FIFOs (the loop's) ---------------------------------------------- */

static void job_free(struct vf_job *j)
{
	/* a copy of a decrypted frame: wiped like the session's own */
	sodium_memzero(j, sizeof(*j) + j->len);
	free(j);
}

static void unlink_job(struct vf_fifo *q, struct vf_job *j)
{
	TAILQ_REMOVE(&q->jobs, j, fifo_next);
	q->n--;
	q->bytes -= sizeof(*j) + j->len;
	q->pool->stats->pending--;
}

/* Acts on q's frames from its head while the head is back. */
static void run_fifo(struct vf_fifo *q)
{
	struct vf_job *j;

	while ((j = TAILQ_FIRST(&q->jobs)) && !j->in_pool) {
		int stop;

		unlink_job(q, j);
		/* may close the owner, which drops the rest of q, never frees it */
		stop = q->ops->act(q->ctx, j->err, j->err ? NULL : &j->f, j->raw, j->len, &j->v);
		job_free(j);
		if (stop)
			return;
	}
	if (q->paused && q->n < q->pool->pending_max / 2 &&
	    q->bytes < q->pool->pending_bytes_max / 2) {
		q->paused = 0;
		q->pool->stats->paused--;
		q->ops->pause(q->ctx, 0);
	}
	if (TAILQ_EMPTY(&q->jobs))
		q->ops->drained(q->ctx);
}

/* A job is back from the pool (from a worker, or the loop's turn). */
static void job_back(struct vf_pool *p, struct vf_job *j)
{
	j->in_pool = 0;
	p->in_flight--;
	if (!j->fifo) {
		job_free(j); /* its connection has gone */
		return;
	}
	/* Acting may close other connections, whose jobs still to come
	 * back are then orphaned, and freed as they come. */
	run_fifo(j->fifo);
}

/* Jobs the workers finished, taken off the done list at once. */
static void done_back(struct vf_pool *p, struct vf_job_queue *done)
{
	struct vf_job *j;

	while ((j = STAILQ_FIRST(done))) {
		STAILQ_REMOVE_HEAD(done, pool_next);
		if (!j->cancelled)
			p->stats->workers++;
		job_back(p, j);
	}
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vf_pool *p = arg;
	struct vf_job_queue batch = STAILQ_HEAD_INITIALIZER(batch);
	char buf[64];

	(void)what;
	/* Empty the pipe before taking the list: a job finished after the
	 * take writes a new byte and wakes us again. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	STAILQ_CONCAT(&batch, &p->done);
	pthread_mutex_unlock(&p->lock);
	done_back(p, &batch);
}

/* When more frames wait than there are workers, the loop checks a few
 * itself between reads: on a machine with as many workers as CPUs it
 * would otherwise sit idle while they work, and with fewer workers than
 * CPUs (the default) it takes the last CPU's share. A zero timer, not an
 * active event, so that the network is polled between turns. */
static void want_help(struct vf_pool *p, int backlog)
{
	static const struct timeval now = { 0, 0 };

	if (backlog && !evtimer_pending(p->help, NULL))
		evtimer_add(p->help, &now);
}

static void help_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vf_pool *p = arg;
	struct vf_job_queue done = STAILQ_HEAD_INITIALIZER(done);
	struct vf_job *mine[VF_HELP_BATCH];
	size_t n = 0;
	int backlog;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&p->lock);
	while (n < VF_HELP_BATCH && p->queued > p->nthreads) {
		mine[n] = STAILQ_FIRST(&p->queue);
		STAILQ_REMOVE_HEAD(&p->queue, pool_next);
		p->queued--;
		n++;
	}
	/* What the workers finished meanwhile, without a byte through the
	 * pipe: while a turn is coming, they write none (p->looking). */
	STAILQ_CONCAT(&done, &p->done);
	backlog = p->queued > p->nthreads;
	p->looking = backlog;
	pthread_mutex_unlock(&p->lock);
	/* Taken off the queue, they are the loop's alone: no worker sees
	 * them, and cancelled is the loop's own write. */
	for (size_t i = 0; i < n; i++) {
		if (mine[i]->cancelled)
			continue;
		mine[i]->v.sig = p->check(&mine[i]->f);
		p->stats->loop++;
	}
	for (size_t i = 0; i < n; i++)
		job_back(p, mine[i]);
	done_back(p, &done);
	want_help(p, backlog);
}

int vf_pool_inline(struct vf_pool *p)
{
	uint64_t now = cove_now_ms();

	if (now - p->window_ms >= VF_INLINE_WINDOW_MS) {
		/* a window with no checks at all leaves no trace */
		p->asked_before = now - p->window_ms < 2 * VF_INLINE_WINDOW_MS ? p->asked : 0;
		p->asked = 0;
		p->window_ms = now;
	}
	p->asked++;
	/* Workers busy: the frame queues behind theirs anyway. Idle, and
	 * the load light: a hand-off to a worker and back costs two thread
	 * wake-ups, more than the check itself on many machines (PERFORMANCE.md). */
	/* up to two windows' worth of checks against the rate a second */
	return p->in_flight == 0 &&
	       (uint64_t)(p->asked + p->asked_before) * (1000 / VF_INLINE_WINDOW_MS) <=
		       2 * (uint64_t)p->inline_rate;
}

struct vf_fifo *vf_fifo_new(struct vf_pool *p, const struct vf_fifo_ops *ops, void *ctx)
{
	struct vf_fifo *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->pool = p;
	q->ops = ops;
	q->ctx = ctx;
	TAILQ_INIT(&q->jobs);
	return q;
}

void vf_fifo_free(struct vf_fifo *q)
{
	if (!q)
		return;
	vf_fifo_drop(q);
	free(q);
}

int vf_fifo_empty(const struct vf_fifo *q)
{
	return !q || TAILQ_EMPTY(&q->jobs);
}

int vf_fifo_push(struct vf_fifo *q, int err, const struct cove_frame *f, const uint8_t *raw,
		 size_t len, const struct vf_verdict *v, int verify)
{
	struct vf_pool *p = q->pool;
	struct vf_job *j = malloc(sizeof(*j) + len);

	if (!j)
		return COVE_ERR_NOMEM;
	memset(j, 0, sizeof(*j));
	j->fifo = q;
	j->err = err;
	j->v = *v;
	j->len = len;
	memcpy(j->raw, raw, len);
	if (!err) {
		/* The decoded frame borrows DAT ct and ERR text from the
		 * bytes (wire/frame.h): point them into the copy. */
		j->f = *f;
		if (f->type == COVE_F_DAT && f->u.dat.ct)
			j->f.u.dat.ct = j->raw + (f->u.dat.ct - raw);
		else if (f->type == COVE_F_ERR && f->u.err.text)
			j->f.u.err.text = (const char *)j->raw + (f->u.err.text - (const char *)raw);
		else if (f->type == COVE_F_FWD && f->u.fwd.frame)
			j->f.u.fwd.frame = j->raw + (f->u.fwd.frame - raw);
	}
	TAILQ_INSERT_TAIL(&q->jobs, j, fifo_next);
	q->n++;
	q->bytes += sizeof(*j) + len;
	p->stats->pending++;
	if (q->n > p->stats->pending_max)
		p->stats->pending_max = q->n;
	if (verify) {
		int backlog;

		j->in_pool = 1;
		p->in_flight++;
		pthread_mutex_lock(&p->lock);
		STAILQ_INSERT_TAIL(&p->queue, j, pool_next);
		p->queued++;
		backlog = p->queued > p->nthreads;
		if (backlog)
			p->looking = 1; /* want_help() arms the turn, if not yet */
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->lock);
		want_help(p, backlog);
	}
	/* The rest of this read is still queued; from then on, its input
	 * waits in the kernel, and the peer's TCP window closes. */
	if ((q->n > p->pending_max || q->bytes > p->pending_bytes_max) && !q->paused) {
		q->paused = 1;
		p->stats->paused++;
		p->stats->pauses++;
		q->ops->pause(q->ctx, 1);
	}
	return 0;
}

void vf_fifo_drop(struct vf_fifo *q)
{
	struct vf_pool *p;
	int locked;
	struct vf_job *j;

	if (!q)
		return;
	p = q->pool;
	locked = !TAILQ_EMPTY(&q->jobs);
	/* One lock for them all: the cancelled flags are the workers' to
	 * read when they take a job. */
	if (locked)
		pthread_mutex_lock(&p->lock);
	while ((j = TAILQ_FIRST(&q->jobs))) {
		unlink_job(q, j);
		if (j->in_pool) {
			j->fifo = NULL; /* freed when it comes back */
			j->cancelled = 1;
		} else {
			job_free(j);
		}
	}
	if (locked)
		pthread_mutex_unlock(&p->lock);
	if (q->paused) {
		q->paused = 0;
		p->stats->paused--;
	}
}

void vf_fifo_finish(struct vf_fifo *q)
{
	struct vf_job *j;

	while ((j = TAILQ_FIRST(&q->jobs))) {
		struct vf_verdict v;
		int stop;

		unlink_job(q, j);
		v.tag = j->v.tag;
		if (j->in_pool) {
			/* A worker may be writing its v.sig: not ours to read.
			 * It comes back as an orphan, freed then. */
			v.sig = VF_SIG_UNCHECKED;
			j->fifo = NULL;
		} else {
			v.sig = j->v.sig;
		}
		stop = q->ops->act(q->ctx, j->err, j->err ? NULL : &j->f, j->raw, j->len, &v);
		if (!j->in_pool)
			job_free(j);
		if (stop)
			break;
	}
}

/* ---- the pool's life ------------------------------------------------------------ */

static void free_queue(struct vf_job_queue *q)
{
	struct vf_job *j;

	while ((j = STAILQ_FIRST(q))) {
		STAILQ_REMOVE_HEAD(q, pool_next);
		job_free(j);
	}
}

static void pool_free(struct vf_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* Every FIFO is gone: what is left is orphaned. */
	free_queue(&p->queue);
	free_queue(&p->done);
	if (p->wake)
		event_free(p->wake);
	if (p->help)
		event_free(p->help);
	if (p->pipe[0] >= 0)
		close(p->pipe[0]);
	if (p->pipe[1] >= 0)
		close(p->pipe[1]);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

int vf_pool_new(struct vf_pool **out, struct event_base *base, const struct vf_pool_conf *conf,
		struct vf_stats *stats)
{
	unsigned n = conf->threads;
	struct vf_pool *p;
	sigset_t all, old;
	int ret = 0;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->stats = stats;
	p->check = conf->check;
	p->inline_rate = conf->inline_rate;
	p->pending_max = conf->pending_max ? conf->pending_max : VF_PENDING_MAX;
	p->pending_bytes_max = conf->pending_bytes_max ? conf->pending_bytes_max
						       : VF_PENDING_BYTES_MAX;
	p->pipe[0] = p->pipe[1] = -1;
	STAILQ_INIT(&p->queue);
	STAILQ_INIT(&p->done);
	if ((ret = pthread_mutex_init(&p->lock, NULL)) != 0) {
		free(p);
		return -ret;
	}
	if ((ret = pthread_cond_init(&p->work, NULL)) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -ret;
	}
	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads) {
		ret = -ENOMEM;
		goto out;
	}
	/* Non-blocking both ways: the loop empties it until EAGAIN, and a
	 * worker never waits on a full one (the loop is awake then anyway). */
	if (pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		ret = -errno;
		goto out;
	}
	p->wake = event_new(base, p->pipe[0], EV_READ | EV_PERSIST, wake_cb, p);
	p->help = evtimer_new(base, help_cb, p);
	if (!p->wake || !p->help || event_add(p->wake, NULL) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	/* Workers take no signals: HUP, USR1 and TERM are the loop's. */
	sigfillset(&all);
	/* ... but a fault on a worker must still reach its handler */
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; p->nthreads < n; p->nthreads++) {
		ret = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (ret != 0) {
			ret = -ret;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	if (ret != 0) {
		pool_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void vf_pool_free(struct vf_pool *p)
{
	if (p)
		pool_free(p);
}
