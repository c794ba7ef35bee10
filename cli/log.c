#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli/log.h"
#include "common/utf8.h"

static enum cove_log_level log_level = COVE_LOG_INFO;
static int log_timestamps = 1;

void cove_log_set_level(enum cove_log_level level)
{
	log_level = level;
}

void cove_log_set_timestamps(int on)
{
	log_timestamps = on;
}

enum cove_log_level cove_log_level(void)
{
	return log_level;
}

void cove_log_at(enum cove_log_level level, const char *file, int line, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn ", "info ", "debug" };
	char buf[1024], shown[COVE_UTF8_VISIBLE_CAP(sizeof(buf))];
	size_t n = 0;
	va_list ap;

	if (level > log_level)
		return;
	if (log_timestamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%03dZ ", (int)(tv.tv_usec / 1000));
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s ", names[level]);
	if (log_level >= COVE_LOG_DEBUG && n < sizeof(buf)) {
		const char *base = strrchr(file, '/');

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s:%d: ", base ? base + 1 : file,
				      line);
	}
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	/* Lines quote names, paths and libevent's words: nothing in them may
	 * reach the terminal as a control. One write per line, so lines from
	 * one process never interleave. */
	cove_utf8_visible(shown, sizeof(shown), buf, strnlen(buf, sizeof(buf)));
	fprintf(stderr, "%s\n", shown);
}

void cove_log_libevent(int severity, const char *msg)
{
	static const enum cove_log_level levels[] = { COVE_LOG_DEBUG, COVE_LOG_INFO,
						      COVE_LOG_WARN, COVE_LOG_ERROR };
	enum cove_log_level level = severity >= 0 && severity < 4 ? levels[severity]
								 : COVE_LOG_ERROR;

	cove_log_at(level, "libevent", 0, "libevent: %s", msg);
}
