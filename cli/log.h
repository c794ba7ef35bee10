/*
 * log.h - the programs' log: one line per event on standard error.
 *
 *   2026-11-23T13:00:00.123Z warn  conn 7 alice: refused INI: bad signature
 *
 * Library layers never log; only programs do. Never log a key, a
 * passphrase or a plaintext.
 */
#ifndef COVE_CLI_LOG_H
#define COVE_CLI_LOG_H

enum cove_log_level {
	COVE_LOG_ERROR = 0,
	COVE_LOG_WARN = 1,
	COVE_LOG_INFO = 2,
	COVE_LOG_DEBUG = 3,
};

/* Sets the most verbose level that is written (default INFO), and whether
 * lines carry a timestamp (default yes). */
void cove_log_set_level(enum cove_log_level level);
void cove_log_set_timestamps(int on);
enum cove_log_level cove_log_level(void);

void cove_log_at(enum cove_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* For event_set_log_callback(): writes libevent's own lines to this log
 * as "libevent: MESSAGE", at the level of their severity (libevent's
 * EVENT_LOG_DEBUG, _MSG, _WARN and _ERR are 0 to 3; this layer does not
 * include libevent, so a program that installs it asserts those values). */
void cove_log_libevent(int severity, const char *msg);

#define log_error(...) cove_log_at(COVE_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) cove_log_at(COVE_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) cove_log_at(COVE_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) cove_log_at(COVE_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
