/*
 * child.c - a program started on pipes (a real cove-node --json): lines
 * written to its standard input, lines read from its output with the
 * time each one came, and its end, by its pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bn.h"

int bn_child_start(struct bn_child *c, char *const *argv, char *const *env,
		   const char *err_path)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->in = c->out = -1;
	err = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (err < 0 || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		bn_err("cannot start %s: %s", argv[0], strerror(errno));
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		bn_err("fork: %s", strerror(errno));
		goto fail;
	}
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err, 2);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		fprintf(stderr, "cove-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err);
	c->in = in[1];
	c->out = out[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (err >= 0)
		close(err);
	return -1;
}

int bn_child_say(struct bn_child *c, const char *line)
{
	size_t len = strlen(line);
	char buf[1024];

	if (c->in < 0 || len + 1 > sizeof(buf))
		return -1;
	memcpy(buf, line, len);
	buf[len++] = '\n';
	return write(c->in, buf, len) == (ssize_t)len ? 0 : -1;
}

/* Gives fn the whole lines in the buffer; keeps the rest. */
static int lines(struct bn_child *c, uint64_t t, bn_child_line_fn fn, void *arg)
{
	size_t at = 0;
	int stop = 0;

	while (!stop && at < c->len) {
		char *nl = memchr(c->buf + at, '\n', c->len - at);

		if (!nl)
			break;
		stop = fn(arg, c->buf + at, (size_t)(nl - (c->buf + at)), t);
		at = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + at, c->len - at);
	c->len -= at;
	if (c->len == sizeof(c->buf)) {
		/* a line longer than the buffer: not one of cove-node's events */
		bn_err("a line of more than %zu bytes from pid %d; dropped", sizeof(c->buf),
		       (int)c->pid);
		c->len = 0;
	}
	return stop;
}

int bn_child_read(struct bn_child *c, unsigned timeout_ms, bn_child_line_fn fn, void *arg)
{
	uint64_t end = bn_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int stop;

	/* lines kept from a call that stopped early come first */
	stop = lines(c, bn_now_ns(), fn, arg);
	while (!stop) {
		uint64_t now = bn_now_ns();
		struct pollfd p = { c->out, POLLIN, 0 };
		ssize_t n;

		if (now >= end)
			return 0;
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!p.revents)
			continue;
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
		stop = lines(c, bn_now_ns(), fn, arg);
	}
	return stop;
}

int bn_child_end(struct bn_child *c, unsigned timeout_ms)
{
	uint64_t end = bn_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int status = 0;
	pid_t got = 0;

	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	while (c->pid > 0 && (got = waitpid(c->pid, &status, WNOHANG)) == 0) {
		struct timespec ms = { 0, 2000000 };
		char sink[4096];

		/* keep its output flowing, or it may block writing to us */
		if (c->out >= 0) {
			int fl = fcntl(c->out, F_GETFL);

			if (fl >= 0 && !(fl & O_NONBLOCK))
				fcntl(c->out, F_SETFL, fl | O_NONBLOCK);
			while (read(c->out, sink, sizeof(sink)) > 0)
				;
		}
		if (bn_now_ns() > end) {
			bn_err("pid %d did not exit within %u ms; killing it", (int)c->pid,
			       timeout_ms);
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			got = -1;
			break;
		}
		nanosleep(&ms, NULL);
	}
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	c->pid = -1;
	return got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
