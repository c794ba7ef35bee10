/*
 * input.h - reads lines from a file descriptor inside the event loop.
 *
 * Works for what standard input can be: a terminal, a pipe, a socket,
 * or a regular file and /dev/null, which epoll cannot watch (those are
 * found before the loop is asked to watch them, and read in chunks from
 * a zero-delay timer instead).
 */
#ifndef COVE_NODE_INPUT_H
#define COVE_NODE_INPUT_H

#include <stddef.h>

#include <event2/event.h>

/* Lines longer than this are refused (reported, skipped to the newline). */
#define ND_LINE_MAX (64u * 1024)

struct nd_input_cb {
	/* One line, without its newline (and without a final "\r"). len is 0
	 * for an empty line; line is NUL-terminated. */
	void (*line)(void *ctx, char *line, size_t len);
	/* A line longer than ND_LINE_MAX was skipped. */
	void (*too_long)(void *ctx);
	/* End of input (after the last line, even one without a newline). */
	void (*eof)(void *ctx);
	void *ctx;
};

struct nd_input;

struct nd_input *nd_input_new(struct event_base *base, int fd, const struct nd_input_cb *cb);

/* Stops taking input until resumed (for backpressure); lines already
 * read stay buffered. */
void nd_input_pause(struct nd_input *in);
void nd_input_resume(struct nd_input *in);

/* Stops reading (no further callbacks). */
void nd_input_stop(struct nd_input *in);

void nd_input_free(struct nd_input *in);

#endif
