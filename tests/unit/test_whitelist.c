/*
 * test_whitelist.c - the team's whitelist: lenient about layout (comments,
 * blank lines, tabs, CRLF), strict about content with the line of every
 * error, and safe to edit from several processes at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/file.h"
#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define KA "rXwUxxAHWZ2pXu46xK+urkAkXFhsrbS6C4q5V9hCAVs="
#define KB "Jg0jO8XHHzYHKFSZJ3Szu0ypM7dLF7rkNVCn1p4AlIo="
#define KC "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void key(uint8_t pk[COVE_PK_LEN], const char *b64)
{
	assert_ok(cove_pk_from_b64(pk, b64, strlen(b64)));
}

/* A distinct valid key for each i: the public key of seed i. */
static void key_n(uint8_t pk[COVE_PK_LEN], unsigned i)
{
	uint8_t seed[crypto_sign_SEEDBYTES] = { (uint8_t)i, (uint8_t)(i >> 8) };
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	sodium_memzero(sk, sizeof(sk));
}

static struct cove_wl *parse_ok(const char *text)
{
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d = { 0, "" };
	int r = cove_wl_parse(&wl, text, strlen(text), &d);

	if (r != COVE_OK)
		fail_msg("parse: got %d (%s), line %u: %s", r, cove_strerror(r), d.line, d.msg);
	return wl;
}

static void assert_entry(const struct cove_wl_entry *e, const char *name, const char *b64,
			 unsigned line)
{
	uint8_t pk[COVE_PK_LEN];

	assert_non_null(e);
	assert_string_equal(e->name, name);
	key(pk, b64);
	assert_bytes(e->pk, pk, COVE_PK_LEN);
	if (e->line != line)
		fail_msg("%s: line %u, want %u", name, e->line, line);
}

TEST(comments_blank_lines_tabs_and_crlf_are_accepted)
{
	static const char text[] =
		"# the blue team\n"                        /* 1 */
		"\n"                                       /* 2 */
		"alice  " KA "\n"                          /* 3 */
		"   \t  \n"                                /* 4 */
		"\tbob\t\t" KB "   # laptop\r\n"            /* 5 */
		"#carol " KC "\n"                          /* 6: commented out */
		"carol.x_y-Z9 " KC "\r\n"                  /* 7 */
		"# last line has no newline";             /* 8 */
	struct cove_wl *wl = parse_ok(text);

	assert_u64(cove_wl_count(wl), 3);
	assert_entry(cove_wl_at(wl, 0), "alice", KA, 3);
	assert_entry(cove_wl_at(wl, 1), "bob", KB, 5);
	assert_entry(cove_wl_at(wl, 2), "carol.x_y-Z9", KC, 7);
	assert_null(cove_wl_at(wl, 3));
	cove_wl_free(wl);
}

TEST(empty_text_is_an_empty_whitelist)
{
	struct cove_wl *wl = parse_ok("");

	assert_u64(cove_wl_count(wl), 0);
	assert_null(cove_wl_find_name(wl, "alice"));
	cove_wl_free(wl);
	wl = parse_ok("# nobody yet\n\n");
	assert_u64(cove_wl_count(wl), 0);
	cove_wl_free(wl);
	cove_wl_free(NULL);
}

struct bad_case {
	const char *text;
	unsigned line;
	const char *msg_has;
};

TEST(each_kind_of_error_carries_its_line_number)
{
	static const struct bad_case cases[] = {
		{ "# one\nalice\n", 2, "found 1 field" },
		{ "alice " KA " extra\n", 1, "found 3 fields" },
		{ "\n\n\nalice " KA " " KB "\n", 4, "found 3 fields" },
		{ "alice " KA "\nb@d " KB "\n", 2, "invalid name 'b@d'" },
		{ "\n" "abcdefghijabcdefghijabcdefghijabc " KA "\n", 2, "invalid name" },
		{ "alice mW5dNfIhuXq3Dkpbd+Rrpzuhn5pd5Hd3EeeUm1mF5c=\n", 1, "invalid public key" },
		{ "#\n#\nalice " KA "\nbob mW5dNfIhuXq3Dkpbd-Rrpzuhn5pd5Hd3EeeUm1mF5ck=\n", 4,
		  "invalid public key" },
		{ "alice " KA "\r\nbob " KB "\r\nalice " KC "\r\n", 3,
		  "duplicate name 'alice' (first on line 1)" },
		{ "alice " KA "\n\n# x\nbob " KA "\n", 4,
		  "duplicate public key (already on line 1 as 'alice')" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cove_wl *wl = (struct cove_wl *)1;
		struct cove_wl_diag d = { 0, "" };
		int r = cove_wl_parse(&wl, cases[i].text, strlen(cases[i].text), &d);

		if (r != COVE_ERR_SYNTAX || d.line != cases[i].line ||
		    !strstr(d.msg, cases[i].msg_has))
			fail_msg("case %zu: got %d line %u \"%s\", want %d line %u \"...%s...\"", i, r,
				 d.line, d.msg, COVE_ERR_SYNTAX, cases[i].line, cases[i].msg_has);
		assert_null(wl);
	}
}

TEST(nul_byte_is_an_error_not_about_one_line)
{
	static const char text[] = "alice " KA "\n\0bob " KB "\n";
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d = { 99, "" };

	assert_err(cove_wl_parse(&wl, text, sizeof(text) - 1, &d), COVE_ERR_SYNTAX);
	assert_u64(d.line, 0);
	assert_non_null(strstr(d.msg, "NUL"));
}

TEST(hostile_bytes_are_not_echoed_in_messages)
{
	static const char text[] = "\x1b[31mevil " KA "\n";
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d = { 0, "" };

	assert_err(cove_wl_parse(&wl, text, strlen(text), &d), COVE_ERR_SYNTAX);
	assert_null(strchr(d.msg, '\x1b'));
}

TEST(bidi_controls_in_a_name_are_not_echoed_in_messages)
{
	/* "evil" with a right-to-left override: quoted, it could turn the
	 * rest of the operator's error line around */
	static const char text[] = "evil\xe2\x80\xaelive " KA "\n";
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d = { 0, "" };

	assert_err(cove_wl_parse(&wl, text, strlen(text), &d), COVE_ERR_SYNTAX);
	for (const char *p = d.msg; *p; p++)
		if ((unsigned char)*p >= 0x80)
			fail_msg("message \"%s\" holds byte 0x%02x", d.msg, (unsigned char)*p);
	assert_non_null(strstr(d.msg, "invalid name 'evil???live'"));
}

/* cove_wl_parse() promises "the first error": a user fixing one error at
 * a time should be sent to the earliest line, whatever kind it is. Here a
 * duplicate key (line 2) comes before a missing key (line 3). */
TEST(parse_reports_the_earliest_error_line)
{
	static const char text[] = "alice " KA "\nbob " KA "\ncarol\n";
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d = { 0, "" };

	assert_err(cove_wl_parse(&wl, text, strlen(text), &d), COVE_ERR_SYNTAX);
	if (d.line != 2)
		fail_msg("reported line %u (%s), want line 2 (the duplicate key)", d.line, d.msg);
}

struct collected {
	unsigned lines[16];
	char msgs[16][sizeof(((struct cove_wl_diag *)0)->msg)];
	size_t n;
};

static void collect(void *ctx, const struct cove_wl_diag *d)
{
	struct collected *c = ctx;

	if (c->n < 16) {
		c->lines[c->n] = d->line;
		memcpy(c->msgs[c->n], d->msg, sizeof(d->msg));
	}
	c->n++;
}

TEST(parse_all_reports_every_error)
{
	static const char text[] =
		"alice " KA "\n"   /* 1 ok */
		"bob\n"            /* 2 one field */
		"b!b " KB "\n"     /* 3 bad name */
		"carol xyz\n"      /* 4 bad key */
		"alice " KC "\n"   /* 5 duplicate name */
		"dave " KA "\n"    /* 6 duplicate key */
		"erin " KB "\n";   /* 7 ok */
	static const unsigned want[] = { 2, 3, 4, 5, 6 };
	struct collected c;
	struct cove_wl *wl = (struct cove_wl *)1;

	memset(&c, 0, sizeof(c));
	assert_err(cove_wl_parse_all(&wl, text, strlen(text), collect, &c), COVE_ERR_SYNTAX);
	assert_null(wl);
	assert_u64(c.n, 5);
	for (size_t i = 0; i < 5; i++)
		if (c.lines[i] != want[i])
			fail_msg("error %zu on line %u (%s), want line %u", i, c.lines[i], c.msgs[i],
				 want[i]);
	/* out may be NULL when only the report is wanted. */
	memset(&c, 0, sizeof(c));
	assert_err(cove_wl_parse_all(NULL, text, strlen(text), collect, &c), COVE_ERR_SYNTAX);
	assert_u64(c.n, 5);
}

TEST(every_repeat_of_a_key_is_reported_against_its_first_line)
{
	static const char text[] =
		"a " KA "\n"   /* 1 first */
		"b " KA "\n"   /* 2 */
		"c " KA "\n"   /* 3 */
		"d " KA "\n";  /* 4 */
	struct collected c;

	memset(&c, 0, sizeof(c));
	assert_err(cove_wl_parse_all(NULL, text, strlen(text), collect, &c), COVE_ERR_SYNTAX);
	assert_u64(c.n, 3);
	for (size_t i = 0; i < 3; i++) {
		if (c.lines[i] != i + 2)
			fail_msg("error %zu on line %u, want %zu", i, c.lines[i], i + 2);
		if (!strstr(c.msgs[i], "on line 1 as 'a'"))
			fail_msg("line %u: '%s' does not cite line 1", c.lines[i], c.msgs[i]);
	}
}

TEST(every_repeat_of_a_name_is_reported_against_its_first_line)
{
	static const char text[] =
		"a " KA "\n"   /* 1 first */
		"a " KB "\n"   /* 2 */
		"a " KC "\n";  /* 3 */
	struct collected c;

	memset(&c, 0, sizeof(c));
	assert_err(cove_wl_parse_all(NULL, text, strlen(text), collect, &c), COVE_ERR_SYNTAX);
	assert_u64(c.n, 2);
	for (size_t i = 0; i < 2; i++)
		if (c.lines[i] != i + 2 || !strstr(c.msgs[i], "first on line 1"))
			fail_msg("error %zu: line %u, '%s'", i, c.lines[i], c.msgs[i]);
}

/* Keys that are base64 of 32 bytes but no secret key's public key. */
#define K_ZERO "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" /* all zero: order 4 */
#define K_IDENTITY "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define K_ORDER8 "JuiVj8KyJ7BFw/SJ8u+Y8NXfrAXTxjM5sTgCiG1T/AU="
#define K_NONCANON "7f///////////////////////////////////////38=" /* y = p */
#define K_OFFCURVE "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" /* y = 2 */

TEST(key_that_cannot_be_anyones_is_an_error_of_its_line)
{
	static const char text[] =
		"alice " KA "\n"           /* 1 ok */
		"zero " K_ZERO "\n"        /* 2 */
		"# a comment\n"            /* 3 */
		"ident " K_IDENTITY "\n"   /* 4 */
		"eight " K_ORDER8 "\n"     /* 5 */
		"big " K_NONCANON "\n"     /* 6 */
		"off " K_OFFCURVE "\n"     /* 7 */
		"bob " KB "\n";            /* 8 ok */
	static const struct { unsigned line; const char *name, *b64; } want[] = {
		{ 2, "zero", K_ZERO }, { 4, "ident", K_IDENTITY }, { 5, "eight", K_ORDER8 },
		{ 6, "big", K_NONCANON }, { 7, "off", K_OFFCURVE },
	};
	struct collected c;
	struct cove_wl *wl = (struct cove_wl *)1;
	struct cove_wl_diag d = { 0, "" };

	memset(&c, 0, sizeof(c));
	assert_err(cove_wl_parse_all(&wl, text, strlen(text), collect, &c), COVE_ERR_SYNTAX);
	assert_null(wl);
	assert_u64(c.n, 5);
	for (size_t i = 0; i < 5; i++) {
		char ask[64];

		/* the message names the key and whose it is, and what to do */
		snprintf(ask, sizeof(ask), "ask %s for", want[i].name);
		if (c.lines[i] != want[i].line || !strstr(c.msgs[i], want[i].b64) ||
		    !strstr(c.msgs[i], "not a usable Ed25519 public key") ||
		    !strstr(c.msgs[i], ask) || !strstr(c.msgs[i], "cove-keys public"))
			fail_msg("error %zu: line %u \"%s\", want line %u naming %s and %s", i,
				 c.lines[i], c.msgs[i], want[i].line, want[i].b64, want[i].name);
	}
	assert_err(cove_wl_parse(&wl, text, strlen(text), &d), COVE_ERR_SYNTAX);
	assert_u64(d.line, 2);
}

TEST(lookup_by_key_and_by_name_finds_the_entry)
{
	char *text = malloc(200 * 100);
	size_t o = 0;
	struct cove_wl *wl;
	uint8_t pk[COVE_PK_LEN];

	assert_non_null(text);
	for (unsigned i = 0; i < 200; i++) {
		char b64[COVE_PK_B64_LEN + 1];

		key_n(pk, (i * 7919) % 200); /* keys out of name order */
		cove_pk_to_b64(b64, pk);
		o += (size_t)sprintf(text + o, "user%u %s\n", i, b64);
	}
	wl = parse_ok(text);
	assert_u64(cove_wl_count(wl), 200);
	for (unsigned i = 0; i < 200; i++) {
		char name[16];
		const struct cove_wl_entry *e;

		snprintf(name, sizeof(name), "user%u", i);
		key_n(pk, (i * 7919) % 200);
		e = cove_wl_find_pk(wl, pk);
		assert_non_null(e);
		assert_string_equal(e->name, name);
		assert_u64(e->line, i + 1);
		assert_ptr_equal(cove_wl_find_name(wl, name), e);
	}
	key_n(pk, 200);
	assert_null(cove_wl_find_pk(wl, pk));
	assert_null(cove_wl_find_name(wl, "user200"));
	assert_null(cove_wl_find_name(wl, "User1"));
	assert_null(cove_wl_find_name(wl, "user"));
	cove_wl_free(wl);
	free(text);
}

TEST(names_are_1_to_32_characters_of_the_allowed_set)
{
	static const char *ok[] = { "a", "Z", "0", ".", "_", "-", "alice.b-c_9",
				    "abcdefghijabcdefghijabcdefghij12" };
	static const char *bad[] = { "", "abcdefghijabcdefghijabcdefghij123", "a b", "a/b",
				     "a@b", "\xc3\xa9", "a\tb", "#a", "a:b" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!cove_name_valid(ok[i], strlen(ok[i])))
			fail_msg("\"%s\" refused", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cove_name_valid(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
}

/* ---- editing files ------------------------------------------------------ */

struct ctx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || tmpdir_make(c->dir, "wl") != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/whitelist", c->dir);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	tmpdir_remove(c->dir);
	free(c);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Reads the file; the caller frees. */
static char *read_file(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	assert_ok(cove_file_read(path, 1 << 20, 0, &text, &len, NULL));
	return text;
}

static void assert_file_is(const char *path, const char *want)
{
	char *got = read_file(path);

	if (strcmp(got, want) != 0)
		fail_msg("file is\n---\n%s---\nwant\n---\n%s---", got, want);
	free(got);
}

static const char base[] =
	"# the blue team\n"
	"alice\t" KA "   # desk\n"
	"\n"
	"  # bob moved\r\n"
	"bob " KB "\n";

TEST(add_then_remove_leaves_the_file_byte_for_byte)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];
	char want[512];

	write_file(c->path, base);
	key(pk, KC);
	assert_ok(cove_wl_add(c->path, "carol", pk, &d));
	snprintf(want, sizeof(want), "%scarol %s\n", base, KC);
	assert_file_is(c->path, want);
	assert_ok(cove_wl_remove(c->path, "carol", &d));
	assert_file_is(c->path, base);
}

TEST(remove_takes_out_only_that_line)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	char want[512];

	write_file(c->path, base);
	assert_ok(cove_wl_remove(c->path, "alice", &d));
	snprintf(want, sizeof(want),
		 "# the blue team\n"
		 "\n"
		 "  # bob moved\r\n"
		 "bob " KB "\n");
	assert_file_is(c->path, want);
	assert_ok(cove_wl_remove(c->path, "bob", &d));
	assert_file_is(c->path, "# the blue team\n\n  # bob moved\r\n");
}

TEST(add_creates_a_missing_file)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	struct cove_wl *wl = NULL;
	uint8_t pk[COVE_PK_LEN];

	key(pk, KA);
	assert_ok(cove_wl_add(c->path, "alice", pk, &d));
	assert_file_is(c->path, "alice " KA "\n");
	assert_ok(cove_wl_load(&wl, c->path, &d));
	assert_u64(cove_wl_count(wl), 1);
	cove_wl_free(wl);
}

TEST(add_to_a_file_without_final_newline_starts_a_new_line)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, "alice " KA);
	key(pk, KB);
	assert_ok(cove_wl_add(c->path, "bob", pk, &d));
	assert_file_is(c->path, "alice " KA "\nbob " KB "\n");
}

TEST(edits_keep_the_file_mode)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];
	struct stat st;

	write_file(c->path, base);
	assert_int_equal(chmod(c->path, 0640), 0);
	key(pk, KC);
	assert_ok(cove_wl_add(c->path, "carol", pk, &d));
	assert_int_equal(stat(c->path, &st), 0);
	if ((st.st_mode & 0777) != 0640)
		fail_msg("mode %04o after add, want 0640", (unsigned)(st.st_mode & 0777));
}

TEST(adding_an_existing_name_or_key_fails_with_exists)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, base);
	key(pk, KC);
	assert_err(cove_wl_add(c->path, "bob", pk, &d), COVE_ERR_EXISTS);
	assert_u64(d.line, 5);
	key(pk, KA);
	assert_err(cove_wl_add(c->path, "carol", pk, &d), COVE_ERR_EXISTS);
	assert_u64(d.line, 2);
	assert_non_null(strstr(d.msg, "alice"));
	assert_file_is(c->path, base);
}

TEST(removing_a_missing_name_fails_with_notfound)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;

	write_file(c->path, base);
	assert_err(cove_wl_remove(c->path, "carol", &d), COVE_ERR_NOTFOUND);
	/* A commented-out entry is not an entry. */
	assert_err(cove_wl_remove(c->path, "the", &d), COVE_ERR_NOTFOUND);
	assert_file_is(c->path, base);
	/* Nor is there anything to remove from a file that does not exist. */
	unlink(c->path);
	assert_err(cove_wl_remove(c->path, "alice", &d), COVE_ERR_IO);
	assert_int_equal(access(c->path, F_OK), -1);
}

TEST(edits_refuse_invalid_names)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, base);
	key(pk, KC);
	assert_err(cove_wl_add(c->path, "car ol", pk, &d), COVE_ERR_INVAL);
	assert_err(cove_wl_add(c->path, "", pk, &d), COVE_ERR_INVAL);
	assert_err(cove_wl_remove(c->path, "a/b", &d), COVE_ERR_INVAL);
	assert_file_is(c->path, base);
}

TEST(edits_refuse_a_file_that_does_not_parse)
{
	static const char broken[] = "alice " KA "\nbob\n";
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, broken);
	key(pk, KC);
	assert_err(cove_wl_add(c->path, "carol", pk, &d), COVE_ERR_SYNTAX);
	assert_u64(d.line, 2);
	assert_err(cove_wl_remove(c->path, "alice", &d), COVE_ERR_SYNTAX);
	assert_file_is(c->path, broken);
}

TEST(add_refuses_a_key_that_cannot_be_anyones)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d = { 0, "" };
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, base);
	key(pk, K_ZERO);
	assert_err(cove_wl_add(c->path, "carol", pk, &d), COVE_ERR_BAD_KEY);
	if (!strstr(d.msg, K_ZERO))
		fail_msg("message \"%s\" does not name the key %s", d.msg, K_ZERO);
	assert_file_is(c->path, base);
	/* Nor is a missing file created for it. */
	unlink(c->path);
	assert_err(cove_wl_add(c->path, "carol", pk, &d), COVE_ERR_BAD_KEY);
	assert_int_equal(access(c->path, F_OK), -1);
}

/* A file an older cove-keys wrote with such a key no longer loads; the
 * way out the message offers, removing the line, must work. */
TEST(remove_takes_out_a_line_whose_key_cannot_be_anyones)
{
	static const char before[] = "alice " KA "\nzero " K_ZERO "\nbob " KB "\n";
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d = { 0, "" };
	uint8_t pk[COVE_PK_LEN];

	write_file(c->path, before);
	key(pk, KC);
	assert_err(cove_wl_add(c->path, "carol", pk, &d), COVE_ERR_SYNTAX);
	assert_u64(d.line, 2);
	assert_file_is(c->path, before);
	assert_ok(cove_wl_remove(c->path, "zero", &d));
	assert_file_is(c->path, "alice " KA "\nbob " KB "\n");
}

TEST(load_reports_a_missing_file_as_io)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl_diag d;
	struct cove_wl *wl = NULL;

	errno = 0;
	assert_err(cove_wl_load(&wl, c->path, &d), COVE_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_null(wl);
}

/* 16 processes add 16 names to one file at the same moment: the lock and
 * the rename must serialise them so that no addition is lost. */
TEST(concurrent_adds_lose_nothing)
{
	struct ctx *c = *cmocka_state_;
	struct cove_wl *wl = NULL;
	struct cove_wl_diag d;
	int go[2];
	pid_t kids[16];

	write_file(c->path, "# shared\n");
	assert_int_equal(pipe(go), 0);
	for (unsigned i = 0; i < 16; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char name[16], b;
			uint8_t pk[COVE_PK_LEN];
			int r;

			close(go[1]);
			/* Wait for the parent to let everyone go at once. */
			r = (int)read(go[0], &b, 1);
			(void)r;
			snprintf(name, sizeof(name), "member%u", i);
			key_n(pk, i);
			r = cove_wl_add(c->path, name, pk, NULL);
			_exit(r == COVE_OK ? 0 : 100 - r);
		}
	}
	close(go[0]);
	close(go[1]); /* EOF releases every child */
	for (unsigned i = 0; i < 16; i++) {
		int st = 0;

		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("child %u: status 0x%x (exit %d: error %d)", i, st,
				 WEXITSTATUS(st), 100 - WEXITSTATUS(st));
	}
	assert_ok(cove_wl_load(&wl, c->path, &d));
	assert_u64(cove_wl_count(wl), 16);
	for (unsigned i = 0; i < 16; i++) {
		char name[16];
		uint8_t pk[COVE_PK_LEN];
		const struct cove_wl_entry *e;

		snprintf(name, sizeof(name), "member%u", i);
		e = cove_wl_find_name(wl, name);
		if (!e)
			fail_msg("%s is missing", name);
		key_n(pk, i);
		assert_bytes(e->pk, pk, COVE_PK_LEN);
	}
	cove_wl_free(wl);
	{
		char *text = read_file(c->path);

		assert_true(strncmp(text, "# shared\n", 9) == 0);
		free(text);
	}
}

#define FILE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(comments_blank_lines_tabs_and_crlf_are_accepted),
		cmocka_unit_test(empty_text_is_an_empty_whitelist),
		cmocka_unit_test(each_kind_of_error_carries_its_line_number),
		cmocka_unit_test(nul_byte_is_an_error_not_about_one_line),
		cmocka_unit_test(hostile_bytes_are_not_echoed_in_messages),
		cmocka_unit_test(bidi_controls_in_a_name_are_not_echoed_in_messages),
		cmocka_unit_test(parse_reports_the_earliest_error_line),
		cmocka_unit_test(parse_all_reports_every_error),
		cmocka_unit_test(every_repeat_of_a_key_is_reported_against_its_first_line),
		cmocka_unit_test(every_repeat_of_a_name_is_reported_against_its_first_line),
		cmocka_unit_test(key_that_cannot_be_anyones_is_an_error_of_its_line),
		cmocka_unit_test(lookup_by_key_and_by_name_finds_the_entry),
		cmocka_unit_test(names_are_1_to_32_characters_of_the_allowed_set),
		FILE_TEST(add_then_remove_leaves_the_file_byte_for_byte),
		FILE_TEST(remove_takes_out_only_that_line),
		FILE_TEST(add_creates_a_missing_file),
		FILE_TEST(add_to_a_file_without_final_newline_starts_a_new_line),
		FILE_TEST(edits_keep_the_file_mode),
		FILE_TEST(adding_an_existing_name_or_key_fails_with_exists),
		FILE_TEST(removing_a_missing_name_fails_with_notfound),
		FILE_TEST(edits_refuse_invalid_names),
		FILE_TEST(edits_refuse_a_file_that_does_not_parse),
		FILE_TEST(add_refuses_a_key_that_cannot_be_anyones),
		FILE_TEST(remove_takes_out_a_line_whose_key_cannot_be_anyones),
		FILE_TEST(load_reports_a_missing_file_as_io),
		FILE_TEST(concurrent_adds_lose_nothing),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
