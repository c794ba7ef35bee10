/*
 * chat-seeds.c - writes the seed corpus of fuzz_chat.c: one short story
 * per file, in the operations of tests/fuzz/chat_ops.h.
 *
 *   chat-seeds DIR    writes DIR/NAME for each story (DIR must exist)
 *
 * Each story takes the core somewhere the fuzzer should start from:
 * joins, a member that never answers, rekeys on a leave and after a lost
 * link, gaps, requests to send again, refusals by the relay, removal.
 * The harness builds and signs the frames, so a story is only bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/chat_ops.h"

/* member numbers, as bits 1-2 of an argument pick them */
enum { M_BOB = 0, M_CAROL = 1, M_DAVE = 2, M_ALICE = 3 };
#define WHO(m) ((m) << 1)

static uint8_t buf[4096];
static size_t len;
static const char *outdir;

static void b(int v)
{
	if (len == sizeof(buf)) {
		fprintf(stderr, "chat-seeds: a story is too long\n");
		exit(1);
	}
	buf[len++] = (uint8_t)v;
}

static void text(const char *s)
{
	b((int)strlen(s));
	while (*s)
		b(*s++);
}

static void put(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "chat-seeds: cannot write %s\n", path);
		exit(1);
	}
	len = 0;
}

/* ---- the operations ----------------------------------------------------------- */

static void tick(unsigned ms)
{
	unsigned unit = 0, v = ms;

	while (v > 0x3fff && unit < 3) {
		static const unsigned div[4] = { 1, 100, 10000, 60000 };

		unit++;
		v = ms / div[unit];
	}
	b(FZ_OP_TICK);
	b((int)(unit << 6 | v >> 8));
	b((int)(v & 0xff));
}

static void ini(int room, int m, int keymode, int stamp)
{
	b(FZ_OP_INI);
	b(room | WHO(m) | keymode << 3 | stamp << 5);
}

static void first(int room)
{
	b(FZ_OP_FIRST);
	b(room);
}

static void ask(int room, int m)
{
	b(FZ_OP_ASK);
	b(room | WHO(m));
}

/* emode: 0 alice's epoch, 1 +1, 3 the c-th known key, 5 epoch 0 */
static void key(int room, int from, int emode, int viewmask, int c)
{
	b(FZ_OP_KEY);
	b(room | WHO(from) | emode << 3);
	b(viewmask);
	b(c);
}

static void rek(int room, int mode)
{
	b(FZ_OP_REK);
	b(room | mode << 1);
	b(0);
}

/* kind: 0 text, 2 HOLDERS, 3 GONE, 4 RESEND, 5 CATCHUP, 6 a wrong key,
 * 7 an epoch to come; nmode: 0 next, 1 c ahead, 2 c back */
static void dat(int room, int m, int kind, int keyidx, int nmode, int c, const char *s)
{
	b(FZ_OP_DAT);
	b(room | WHO(m) | kind << 3);
	b(keyidx | nmode << 4);
	b(c);
	text(s);
}

/* a DAT whose plaintext is the n bytes of p, as they are */
static void dat_raw(int room, int m, const char *p, int n)
{
	b(FZ_OP_DAT);
	b(room | WHO(m) | 1 << 3);
	b(0);
	b(0);
	b(n >> 8);
	b(n & 0xff);
	for (int i = 0; i < n; i++)
		b(p[i]);
}

static void bye(int room, int m, int mode)
{
	b(FZ_OP_BYE);
	b(room | WHO(m) | mode << 3);
}

static void err(int room, int code, int refmode, const char *s)
{
	b(FZ_OP_ERR);
	b(code | room << 7);
	b(refmode << 1);
	text(s);
}

static void wlc(unsigned rate, unsigned burst)
{
	b(FZ_OP_WLC);
	b(0);
	b((int)(rate >> 8));
	b((int)(rate & 0xff));
	b((int)(burst >> 8));
	b((int)(burst & 0xff));
}

static void say(int room, int times_log2, const char *s)
{
	b(FZ_OP_SEND);
	b(room | times_log2 << 2);
	text(s);
}

static void op1(int code, int arg)
{
	b(code);
	b(arg);
}

/* alice is first in room 0, and bob joins: she gives him the key */
static void alice_and_bob(void)
{
	first(0);
	ini(0, M_BOB, 0, 0);
	ask(0, M_BOB);
}

static void and_carol(void)
{
	ini(0, M_CAROL, 0, 0);
	ask(0, M_CAROL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: chat-seeds DIR\n");
		return 2;
	}
	outdir = argv[1];

	first(0);
	say(0, 0, "hello");
	b(FZ_OP_QUERY);
	put("first-join");

	first(0);
	first(1);
	say(0, 0, "one");
	say(1, 0, "two");
	put("first-in-two-rooms");

	ini(0, M_BOB, 0, 0);
	key(0, M_BOB, 5, 0x3, 0);
	dat(0, M_BOB, 0, 0, 0, 0, "hi alice");
	say(0, 0, "hi bob");
	put("join-given-the-key");

	ini(0, M_BOB, 0, 0);
	ini(0, M_CAROL, 0, 0);
	tick(2000);
	key(0, M_CAROL, 5, 0x7, 0); /* bob never answered */
	dat(0, M_CAROL, 0, 0, 0, 0, "welcome");
	put("join-with-a-refusing-member");

	alice_and_bob();
	dat(0, M_BOB, 0, 0, 0, 0, "thanks");
	say(0, 0, "you're welcome");
	put("alice-gives-the-key");

	alice_and_bob();
	and_carol();
	bye(0, M_CAROL, 0);
	say(0, 0, "after carol");
	rek(0, 0);
	tick(100);
	put("rekey-on-leave");

	alice_and_bob();
	and_carol();
	bye(0, M_CAROL, 1);
	say(0, 0, "held");
	tick(10 * 60 * 1000);
	key(0, M_BOB, 1, 0x3, 0);
	put("rekeyer-stays-silent");

	alice_and_bob();
	say(0, 0, "before");
	b(FZ_OP_LINK_DOWN);
	say(0, 0, "while away");
	tick(5000);
	op1(FZ_OP_LINK_UP, 3);
	key(0, M_BOB, 3, 0x3, 0);
	dat(0, M_BOB, 0, 0, 0, 0, "back");
	put("link-lost-and-rejoined");

	alice_and_bob();
	and_carol();
	b(FZ_OP_LINK_DOWN);
	tick(60000);
	op1(FZ_OP_LINK_UP, 1);
	ini(0, M_BOB, 3, 0);
	key(0, M_BOB, 3, 0x3, 0);
	say(0, 0, "carol gone while away");
	put("grace-expired-member-gone");

	alice_and_bob();
	dat(0, M_BOB, 0, 0, 0, 0, "zero");
	dat(0, M_BOB, 0, 0, 1, 2, "three");
	tick(1100);
	dat(0, M_BOB, 0, 0, 2, 3, "one");
	tick(5000);
	put("gap-asked-and-reported");

	alice_and_bob();
	say(0, 3, "remember me");
	dat(0, M_BOB, 4, 0, 3, 8, "");
	put("resend-asked");

	alice_and_bob();
	say(0, 2, "while you were away");
	dat(0, M_BOB, 5, 0, 3, 0x46, "\x01");
	put("catchup-asked");

	alice_and_bob();
	rek(0, 0);
	err(0, 15, 1, "stale");
	say(0, 0, "waits");
	tick(12000);
	put("stale-epoch");

	first(0);
	say(0, 0, "too fast");
	err(0, 14, 2, "rate");
	tick(1500);
	put("rate-limited");

	say(0, 0, "lost");
	err(0, 10, 0, "no key");
	err(1, 10, 0, "no key");
	put("no-key-anywhere");

	alice_and_bob();
	and_carol();
	op1(FZ_OP_WHITELIST, 0x3);
	say(0, 0, "not for carol");
	rek(0, 0);
	put("whitelist-removal");

	alice_and_bob();
	dat(0, M_BOB, 2, 0, 0, 0x8, "");
	say(0, 0, "dave holds it");
	put("holders-untrusted");

	alice_and_bob();
	and_carol();
	dat(0, M_BOB, 3, 0, 0, 0x4, "");
	say(0, 0, "carol left");
	rek(0, 0);
	put("gone-seen-by-another");

	alice_and_bob();
	dat(0, M_BOB, 7, 0, 0, 0, "from the future");
	key(0, M_BOB, 3, 0x3, 1);
	put("future-epoch-held");

	alice_and_bob();
	key(0, M_BOB, 0, 0x3, 0);
	dat(0, M_BOB, 6, 0, 0, 0, "wrong key");
	put("fork-and-bad-message");

	alice_and_bob();
	b(FZ_OP_INI);
	b(WHO(M_CAROL) | 0x80);
	b(FZ_OP_KEY);
	b(WHO(M_BOB) | 1 << 3);
	b(0x43);
	b(0);
	b(FZ_OP_DAT);
	b(WHO(M_BOB));
	b(0xc0);
	b(0);
	text("forged");
	put("bad-signatures");

	alice_and_bob();
	ini(0, M_DAVE, 0, 0);
	ask(0, M_DAVE);
	dat(0, M_DAVE, 0, 0, 0, 0, "stranger");
	say(0, 0, "dave reads this?");
	put("stranger-in-the-room");

	first(0);
	ini(0, M_CAROL, 0, 0);
	ask(0, M_CAROL);
	bye(0, M_CAROL, 0);
	rek(0, 0);
	ini(0, M_CAROL, 3, 0);
	ask(0, M_CAROL);
	ini(0, M_CAROL, 1, 0);
	ask(0, M_CAROL);
	ini(0, M_CAROL, 0, 0);
	ask(0, M_CAROL);
	rek(0, 0);
	put("departed-old-join");

	first(0);
	ini(0, M_BOB, 0, 1);
	ask(0, M_BOB);
	put("join-older-than-a-day");

	first(0);
	say(0, 0, "bye");
	b(FZ_OP_LEAVE);
	b(FZ_OP_LINK_DOWN);
	op1(FZ_OP_LINK_UP, 1);
	first(0);
	put("leave-and-come-back");

	wlc(10, 5);
	first(0);
	say(0, 7, "paced");
	tick(1000);
	tick(10000);
	put("paced-to-the-relay");

	b(FZ_OP_RAW);
	b(0);
	b(4);
	b(0x94);
	b(2);
	b(7);
	b(0xc0);
	put("raw-frame");

	alice_and_bob();
	dat(0, M_BOB, 0, 0, 0, 0, "once");
	op1(FZ_OP_REPLAY, 3);
	b(FZ_OP_MUTATE);
	b(3);
	b(0);
	b(40);
	b(1);
	op1(FZ_OP_ECHO, 0);
	put("replay-mutate-echo");

	alice_and_bob();
	op1(FZ_OP_REKEY, 2);
	rek(0, 0);
	rek(0, 3);
	put("user-rekey");

	alice_and_bob();
	dat(0, M_BOB, 0, 0, 0, 0, "first life");
	op1(FZ_OP_RESTART, WHO(M_BOB));
	dat(0, M_BOB, 0, 0, 0, 0, "second life");
	put("member-restarts");

	first(0);
	tick(70 * 60 * 1000);
	tick(70 * 60 * 1000);
	put("schedule-and-session-refresh");

	alice_and_bob();
	and_carol();
	bye(0, M_CAROL, 0);
	rek(0, 0);
	say(0, 0, "while carol is away");
	ini(0, M_CAROL, 0, 0);
	ask(0, M_CAROL);
	rek(0, 0);
	put("member-back-after-leaving");

	alice_and_bob();
	dat_raw(0, M_BOB, "\x92\x63\xa1x", 4); /* [99, "x"]: a kind to come */
	dat_raw(0, M_BOB, "\x92\x01\xa0", 3);  /* an empty text */
	put("content-of-unknown-kind");

	first(0);
	err(0, 3, 0, "not whitelisted");
	err(0, 12, 0, "revoked");
	put("relay-refuses");
	return 0;
}
