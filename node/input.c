#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include <event2/buffer.h>

#include "node/input.h"

struct nd_input {
	struct event_base *base;
	int fd;
	struct nd_input_cb cb;
	struct event *ev;
	struct evbuffer *buf;
	int skipping;  /* inside an over-long line */
	int done;
	int paused;
	int timer;     /* ev is a zero-delay timer, not an fd event */
	int at_eof;    /* the fd is exhausted; buffered lines may remain */
};

static void on_readable(evutil_socket_t fd, short what, void *arg);

static void deliver(struct nd_input *in, int at_eof)
{
	for (;;) {
		size_t n = 0;
		char *line;

		if (in->done || in->paused)
			return;
		line = evbuffer_readln(in->buf, &n, EVBUFFER_EOL_LF);
		if (!line) {
			size_t left = evbuffer_get_length(in->buf);

			if (left > ND_LINE_MAX) {
				evbuffer_drain(in->buf, left);
				if (!in->skipping && in->cb.too_long)
					in->cb.too_long(in->cb.ctx);
				in->skipping = 1;
				return;
			}
			if (!at_eof || left == 0)
				return;
			/* the last line had no newline */
			line = malloc(left + 1);
			if (!line)
				return;
			evbuffer_remove(in->buf, line, left);
			line[left] = '\0';
			n = left;
		}
		if (in->skipping) {
			in->skipping = 0; /* this was the tail of the long line */
		} else if (n > ND_LINE_MAX) {
			if (in->cb.too_long)
				in->cb.too_long(in->cb.ctx);
		} else {
			if (n > 0 && line[n - 1] == '\r')
				line[--n] = '\0';
			in->cb.line(in->cb.ctx, line, n);
		}
		free(line);
	}
}

static void finish(struct nd_input *in)
{
	in->at_eof = 1;
	event_del(in->ev);
	deliver(in, 1);
	if (in->done || in->paused)
		return; /* resume() finishes */
	in->done = 1;
	event_del(in->ev);
	if (in->cb.eof)
		in->cb.eof(in->cb.ctx);
}

/* Schedules the next chunk of an input read from a timer. libevent does
 * not repeat a persistent event whose timeout is zero, so each turn asks
 * for the next one (unless a callback has paused or stopped the input). */
static void next_turn(struct nd_input *in)
{
	struct timeval zero = { 0, 0 };

	if (in->timer && !in->done && !in->paused && !in->at_eof)
		event_add(in->ev, &zero);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nd_input *in = arg;
	int r;

	(void)fd;
	(void)what;
	r = evbuffer_read(in->buf, in->fd, 16384);
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
		next_turn(in);
		return;
	}
	if (r <= 0) {
		finish(in);
		return;
	}
	deliver(in, 0);
	next_turn(in);
}

/* Whether the loop can watch fd. A regular file, a directory and devices
 * without a poll operation (/dev/null) are always readable, and epoll
 * refuses them with EPERM; asked to add one, libevent fails and prints
 * a warning of its own that a script's user can do nothing about. So the
 * question is put first: to fstat, and on Linux to an epoll of our own. */
static int pollable(struct event_base *base, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return 1; /* let libevent try, and say why if it fails */
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return 0;
#ifdef __linux__
	if (strcmp(event_base_get_method(base), "epoll") == 0 && !S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode)) {
		struct epoll_event ev = { .events = EPOLLIN };
		int ep = epoll_create1(EPOLL_CLOEXEC), refused;

		if (ep < 0)
			return 1;
		refused = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EPERM;
		close(ep);
		return !refused;
	}
#else
	(void)base;
#endif
	return 1;
}

struct nd_input *nd_input_new(struct event_base *base, int fd, const struct nd_input_cb *cb)
{
	struct nd_input *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->base = base;
	in->fd = fd;
	in->cb = *cb;
	in->buf = evbuffer_new();
	in->ev = pollable(base, fd) ? event_new(base, fd, EV_READ | EV_PERSIST, on_readable, in)
				    : NULL;
	if (!in->buf || !in->ev || event_add(in->ev, NULL) != 0) {
		/* Not pollable (a regular file, /dev/null): read it in turns of
		 * the loop, from a timer that fires every iteration until end of
		 * file, so that the link is served between two chunks. */
		if (in->ev)
			event_free(in->ev);
		in->ev = event_new(base, -1, 0, on_readable, in);
		if (!in->buf || !in->ev) {
			nd_input_free(in);
			return NULL;
		}
		in->timer = 1;
		in->paused = 1;
		nd_input_resume(in);
	}
	return in;
}

void nd_input_pause(struct nd_input *in)
{
	if (in->done || in->paused)
		return;
	in->paused = 1;
	event_del(in->ev);
}

void nd_input_resume(struct nd_input *in)
{
	struct timeval zero = { 0, 0 };

	if (in->done || !in->paused)
		return;
	in->paused = 0;
	if (in->at_eof) {
		finish(in);
		return;
	}
	event_add(in->ev, in->timer ? &zero : NULL);
	deliver(in, 0); /* lines read before the pause */
}

void nd_input_stop(struct nd_input *in)
{
	if (!in || in->done)
		return;
	in->done = 1;
	event_del(in->ev);
}

void nd_input_free(struct nd_input *in)
{
	if (!in)
		return;
	if (in->ev)
		event_free(in->ev);
	if (in->buf)
		evbuffer_free(in->buf);
	free(in);
}
