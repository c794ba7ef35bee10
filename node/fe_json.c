/*
 * fe_json.c - the front-end for programs: one JSON command per input line,
 * one JSON event per output line (docs/cove-node.1 lists them all).
 *
 *   in:  {"cmd":"send","text":"hi"[,"room":"R"]}  {"cmd":"who"[,"room":"R"]}
 *        {"cmd":"rekey"[,"room":"R"]}  {"cmd":"quit"}
 *        {"cmd":"history"[,"room":"R"][,"before":TS][,"limit":N]}
 *        {"cmd":"leave"[,"room":"R"]}
 *   out: {"event":"ready","room":R,"first":B,"rejoin":B,"members":[...]}
 *        {"event":"epoch","room":R,"epoch":N,"by":NAME}  (by is null: you made it)
 *        {"event":"gap","room":R,"from":N,"first":A,"last":B,"missing":K}
 *        {"event":"disconnected","message":M,"retry_ms":T}
 *        {"event":"message","room":R,"from":N,"text":T,"ts":MS[,"history":true]}
 *        {"event":"history_end","room":R,"count":K}  {"event":"unread","room":R,"count":N}
 *        {"event":"joined"|"left","room":R,"name":N}  {"event":"connected"}
 *        {"event":"who","room":R,"members":[{"name","key","fingerprint","self","state","seen"}]}
 *        {"event":"presence","room":R,"who":N,"state":"here"|"away","seen":MS}
 *        {"event":"missed","room":R,"count":K}
 *        {"event":"error","code":C,"message":M[,"room":R][,"fatal":true]}
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "cli/cli.h"
#include "common/err.h"
#include "common/utf8.h"
#include "node/app.h"

/* Standard output is written once per turn of the loop, not once per
 * event: a catch-up shows thousands of messages a second, and a write(2)
 * each cost the node a tenth of its time. The flush runs before the loop
 * waits again, so a program reading us sees each event as soon as before. */
static struct event *flush_ev;

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fflush(stdout);
}

static void flush_soon(void)
{
	if (flush_ev)
		event_active(flush_ev, 0, 0);
	else
		fflush(stdout); /* before the loop or after it */
}

static void emit(json_t *ev)
{
	char *s;

	if (!ev) {
		/* json_pack refused a value (it should not happen: every string
		 * here is checked UTF-8); say so rather than go silent */
		fputs("{\"event\":\"error\",\"code\":\"internal\",\"message\":"
		      "\"an event could not be encoded as JSON\"}\n", stdout);
		flush_soon();
		return;
	}
	s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!s)
		return;
	fputs(s, stdout);
	fputc('\n', stdout);
	flush_soon();
	free(s);
}

static void json_error(void *ctx, const char *room, const char *code, const char *msg,
		       int fatal)
{
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "error", "code", code, "message", msg);

	(void)ctx;
	if (ev && room)
		json_object_set_new(ev, "room", json_string(room));
	if (ev && fatal)
		json_object_set_new(ev, "fatal", json_true());
	emit(ev);
}

static void json_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "notice", "code", code, "message", msg);

	(void)ctx;
	if (ev && room)
		json_object_set_new(ev, "room", json_string(room));
	emit(ev);
}

static int json_start(struct nd_app *a)
{
	flush_ev = event_new(a->base, -1, 0, flush_cb, NULL);
	if (!flush_ev || nd_app_input(a) != 0) {
		if (flush_ev)
			event_free(flush_ev);
		flush_ev = NULL;
		return -1;
	}
	return 0;
}

static void json_stop(struct nd_app *a)
{
	(void)a;
	if (flush_ev)
		event_free(flush_ev);
	flush_ev = NULL;
	fflush(stdout);
}

static void who_one(void *arg, const struct cove_chat_member *m)
{
	char b64[COVE_PK_B64_LEN + 1], fp[COVE_FP_LEN + 1];

	cove_pk_to_b64(b64, m->pk);
	cove_pk_fingerprint(fp, m->pk);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:b, s:s, s:I}", "name", m->name,
					     "key", b64, "fingerprint", fp, "self", m->self,
					     "state", m->here ? "here" : "away", "seen",
					     (json_int_t)m->seen_ms));
}

static void json_line(struct nd_app *a, char *line, size_t len)
{
	json_error_t jerr;
	json_t *cmd, *room_j;
	const char *name, *room = NULL;
	char msg[300];

	if (len == 0)
		return;
	cmd = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!cmd || !json_is_object(cmd)) {
		snprintf(msg, sizeof(msg), "input is not a JSON object: %s; expected e.g. "
			 "{\"cmd\":\"send\",\"text\":\"hi\"}", cmd ? "another JSON value" : jerr.text);
		json_error(a, NULL, "bad_command", msg, 0);
		json_decref(cmd);
		return;
	}
	name = json_string_value(json_object_get(cmd, "cmd"));
	room_j = json_object_get(cmd, "room");
	if (room_j && !json_is_string(room_j)) {
		json_error(a, NULL, "bad_command", "\"room\" must be a string", 0);
		goto out;
	}
	room = json_string_value(room_j);
	if (!name) {
		json_error(a, NULL, "bad_command",
			   "missing \"cmd\" (one of \"send\", \"who\", \"rekey\", \"history\", "
			   "\"leave\", \"quit\")", 0);
	} else if (strcmp(name, "send") == 0) {
		json_t *t = json_object_get(cmd, "text");
		int ret;

		if (!json_is_string(t)) {
			json_error(a, room, "bad_command", "\"send\" needs \"text\", a string", 0);
			goto out;
		}
		ret = nd_app_send(a, room, json_string_value(t), json_string_length(t));
		if (ret != 0)
			json_error(a, room ? room : a->room, "not_sent", nd_app_send_error(ret), 0);
	} else if (strcmp(name, "who") == 0) {
		json_t *members = json_array();
		const char *r = room ? room : a->room;

		if (cove_chat_members(a->core, r, who_one, members) != 0) {
			json_decref(members);
			json_error(a, r, "bad_command", "no such room", 0);
			goto out;
		}
		emit(json_pack("{s:s, s:s, s:o}", "event", "who", "room", r, "members", members));
	} else if (strcmp(name, "rekey") == 0) {
		if (cove_chat_rekey(a->core, room) != 0)
			json_error(a, room, "bad_command", room ? "no such room, or not joined yet" :
				   "not joined yet", 0);
	} else if (strcmp(name, "history") == 0) {
		json_t *b = json_object_get(cmd, "before"), *l = json_object_get(cmd, "limit");
		json_int_t before = b ? json_integer_value(b) : 0;
		json_int_t limit = l ? json_integer_value(l) : ND_KEEP_START_SHOW;
		const char *r = room ? room : a->room;
		int ret;

		if ((b && (!json_is_integer(b) || before < 0)) ||
		    (l && (!json_is_integer(l) || limit < 1 || limit > 1000))) {
			json_error(a, r, "bad_command", "\"history\" takes \"before\", a time in ms "
				   "(0: the newest), and \"limit\", from 1 to 1000", 0);
			goto out;
		}
		ret = nd_app_history(a, r, (uint64_t)before, (unsigned)limit);
		if (ret == COVE_ERR_NOTFOUND)
			json_error(a, r, "bad_command", "no such room", 0);
		else if (ret != 0)
			json_error(a, r, "history", "the history file could not be read", 0);
	} else if (strcmp(name, "leave") == 0) {
		const char *r = room ? room : a->room;
		int ret = nd_app_leave(a, r);

		if (ret == COVE_ERR_NOTFOUND)
			json_error(a, r, "bad_command", "no such room", 0);
		else if (ret != COVE_OK)
			json_error(a, r, "not_left", "the link is down: leave once connected", 0);
	} else if (strcmp(name, "quit") == 0) {
		nd_app_quit(a, 0);
	} else {
		char shown[COVE_UTF8_VISIBLE_CAP(20)];

		cove_utf8_visible(shown, sizeof(shown), name, strlen(name) < 20 ? strlen(name) : 20);
		for (char *p = shown; *p; p++) /* ASCII only: a cut UTF-8 sequence would not encode */
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		snprintf(msg, sizeof(msg), "unknown command \"%s\" (use \"send\", \"who\", "
			 "\"rekey\", \"history\", \"leave\" or \"quit\")", shown);
		json_error(a, NULL, "bad_command", msg, 0);
	}
out:
	json_decref(cmd);
}

static void json_connected(void *ctx)
{
	(void)ctx;
	emit(json_pack("{s:s}", "event", "connected"));
}

static void json_ready(void *ctx, const char *room, int first, int rejoin,
		       const char *const *members, size_t n)
{
	json_t *arr = json_array();

	(void)ctx;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(members[i]));
	emit(json_pack("{s:s, s:s, s:b, s:b, s:o}", "event", "ready", "room", room, "first",
		       first, "rejoin", rejoin, "members", arr));
}

static void json_epoch(void *ctx, const char *room, uint32_t epoch, const char *by)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:I, s:s?}", "event", "epoch", "room", room, "epoch",
		       (json_int_t)epoch, "by", by));
}

static void json_gap(void *ctx, const char *room, const char *from, uint64_t first,
		     uint64_t last)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "event", "gap", "room", room, "from",
		       from, "first", (json_int_t)first, "last", (json_int_t)last, "missing",
		       (json_int_t)(last - first + 1)));
}

static void json_disconnected(struct nd_app *a, const char *why, unsigned retry_ms)
{
	(void)a;
	emit(json_pack("{s:s, s:s, s:I}", "event", "disconnected", "message", why, "retry_ms",
		       (json_int_t)retry_ms));
}

/* A JSON string of s (len bytes of UTF-8) on stdout, escaped as RFC 8259
 * asks (and as jansson writes it: other characters as they are). */
static void put_str(const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t from = 0;

	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *esc = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\n' ? "\\n" :
				  ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : ch == '\b' ? "\\b" :
				  ch == '\f' ? "\\f" : NULL;

		if (!esc && ch >= 0x20)
			continue;
		fwrite(s + from, 1, i - from, stdout);
		from = i + 1;
		if (esc) {
			fputs(esc, stdout);
		} else {
			fputs("\\u00", stdout);
			putchar(hex[ch >> 4]);
			putchar(hex[ch & 15]);
		}
	}
	fwrite(s + from, 1, len - from, stdout);
	putchar('"');
}

/* A message event, written directly: a catch-up shows thousands a second,
 * and building each as a jansson object was a fifth of the node's time.
 * Text the core gave is well-formed UTF-8 (it checks every payload);
 * anything else goes through jansson, which refuses it. */
static void emit_message(const char *room, const char *from, const char *text, size_t len,
			 uint64_t ts, int history)
{
	if (!cove_utf8_valid(text, len) || !cove_utf8_valid(room, strlen(room)) ||
	    !cove_utf8_valid(from, strlen(from))) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s%, s:I}", "event", "message", "room",
				       room, "from", from, "text", text, len, "ts",
				       (json_int_t)ts);

		if (ev && history)
			json_object_set_new(ev, "history", json_true());
		emit(ev);
		return;
	}
	fputs("{\"event\":\"message\",\"room\":", stdout);
	put_str(room, strlen(room));
	fputs(",\"from\":", stdout);
	put_str(from, strlen(from));
	fputs(",\"text\":", stdout);
	put_str(text, len);
	printf(",\"ts\":%llu%s}\n", (unsigned long long)ts, history ? ",\"history\":true" : "");
	flush_soon();
}

static void json_message(void *ctx, const char *room, const char *from, const char *text,
			 size_t len, uint64_t ts)
{
	(void)ctx;
	emit_message(room, from, text, len, ts, 0);
}

static void json_history(struct nd_app *a, const char *room, const char *from,
			 const char *text, size_t len, uint64_t ts)
{
	(void)a;
	emit_message(room, from, text, len, ts, 1);
}

static void json_history_end(struct nd_app *a, const char *room, unsigned count)
{
	(void)a;
	emit(json_pack("{s:s, s:s, s:I}", "event", "history_end", "room", room, "count",
		       (json_int_t)count));
}

static void json_unread(struct nd_app *a, const char *room, uint64_t n)
{
	(void)a;
	emit(json_pack("{s:s, s:s, s:I}", "event", "unread", "room", room, "count",
		       (json_int_t)n));
}

static void json_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:I}", "event", "unread", "room", room, "count",
		       (json_int_t)shown));
	if (missed)
		emit(json_pack("{s:s, s:s, s:I}", "event", "missed", "room", room, "count",
			       (json_int_t)missed));
}

static void json_presence(void *ctx, const char *room, const char *name, int here,
			  uint64_t seen)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", "presence", "room", room, "who",
		       name, "state", here ? "here" : "away", "seen", (json_int_t)seen));
}

static void json_joined(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:s}", "event", "joined", "room", room, "name", name));
}

static void json_left(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	emit(json_pack("{s:s, s:s, s:s}", "event", "left", "room", room, "name", name));
}

const struct nd_frontend nd_fe_json = {
	.start = json_start,
	.stop = json_stop,
	.line = json_line,
	.disconnected = json_disconnected,
	.history = json_history,
	.history_end = json_history_end,
	.unread = json_unread,
	.ui = {
		.connected = json_connected,
		.ready = json_ready,
		.message = json_message,
		.joined = json_joined,
		.left = json_left,
		.epoch = json_epoch,
		.gap = json_gap,
		.error = json_error,
		.notice = json_notice,
		.caught_up = json_caught_up,
		.presence = json_presence,
	},
};
