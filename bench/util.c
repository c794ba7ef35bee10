/*
 * util.c - clocks, the CPU and memory of processes, waiting, and the JSON
 * line every scenario prints.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "bench/bn.h"

int bn_quiet;

uint64_t bn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bn_cpu_self(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

double bn_cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields count
	 * from the last ')'. utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kib = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

long bn_rss_kib(pid_t pid)
{
	return status_kib(pid, "VmRSS");
}

long bn_hwm_kib(pid_t pid)
{
	return status_kib(pid, "VmHWM");
}

int bn_wait(int (*done)(void *arg), void *arg, unsigned timeout_ms)
{
	uint64_t end = bn_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct timespec ms = { 0, 1000000 };

	while (!done(arg)) {
		if (bn_now_ns() >= end)
			return -1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

struct count_wait {
	atomic_size_t *counter;
	size_t target;
};

static int count_reached(void *arg)
{
	struct count_wait *cw = arg;

	return atomic_load(cw->counter) >= cw->target;
}

int bn_wait_count(atomic_size_t *counter, size_t target, unsigned timeout_ms)
{
	struct count_wait cw = { counter, target };

	return bn_wait(count_reached, &cw, timeout_ms);
}

static size_t load_counter(void *arg)
{
	return atomic_load((atomic_size_t *)arg);
}

int bn_wait_progress(atomic_size_t *counter, size_t target, unsigned stall_ms, unsigned max_ms)
{
	return bn_wait_progress_fn(load_counter, counter, target, stall_ms, max_ms, 1);
}

int bn_wait_progress_fn(size_t (*count)(void *arg), void *arg, size_t target, unsigned stall_ms,
			unsigned max_ms, unsigned poll_ms)
{
	uint64_t now = bn_now_ns(), end = now + (uint64_t)max_ms * 1000000u;
	uint64_t moved = now;
	size_t last = count(arg);
	struct timespec ts = { poll_ms / 1000, (long)(poll_ms % 1000) * 1000000 };

	while (last < target) {
		size_t c;

		nanosleep(&ts, NULL);
		now = bn_now_ns();
		c = count(arg);
		if (c != last) {
			last = c;
			moved = now;
		} else if (now - moved >= (uint64_t)stall_ms * 1000000u || now >= end) {
			return -1;
		}
	}
	return 0;
}

int bn_connect(struct bufferevent *bev, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[96];

	snprintf(addr, sizeof(addr), "%s:%u", host, port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0)
		return -1;
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sslen) == 0 ? 0 : -1;
}

void bn_nodelay(struct bufferevent *bev)
{
	int one = 1;

	/* small frames go out at once, as the relay and cove-node send them */
	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void bn_err(const char *fmt, ...)
{
	va_list ap;

	fputs("cove-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bn_say(const char *fmt, ...)
{
	va_list ap;

	if (bn_quiet)
		return;
	fputs("  ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- JSON ---------------------------------------------------------------------- */

static void add(struct bn_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct bn_json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->len >= sizeof(j->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, sizeof(j->buf) - j->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		j->len += (size_t)n;
}

static void add_string(struct bn_json *j, const char *s)
{
	add(j, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			add(j, "\\%c", ch);
		else if (ch < 0x20)
			add(j, "\\u%04x", ch);
		else
			add(j, "%c", ch);
	}
	add(j, "\"");
}

static void key(struct bn_json *j, const char *k)
{
	add(j, ",");
	add_string(j, k);
	add(j, ":");
}

void bn_json_begin(struct bn_json *j, const char *scenario, const char *target)
{
	j->len = 0;
	add(j, "{\"scenario\":");
	add_string(j, scenario);
	key(j, "target");
	add_string(j, target);
}

void bn_json_str(struct bn_json *j, const char *k, const char *val)
{
	key(j, k);
	add_string(j, val);
}

void bn_json_int(struct bn_json *j, const char *k, long long val)
{
	key(j, k);
	add(j, "%lld", val);
}

void bn_json_num(struct bn_json *j, const char *k, double val)
{
	key(j, k);
	if (isfinite(val))
		add(j, "%.6g", val);
	else
		add(j, "null");
}

void bn_json_end(struct bn_json *j)
{
	double load[1];

	if (getloadavg(load, 1) == 1)
		bn_json_num(j, "load1", load[0]);
	add(j, "}");
	if (j->len >= sizeof(j->buf))
		j->len = sizeof(j->buf) - 1;
	j->buf[j->len] = '\0';
	puts(j->buf);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bn_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
