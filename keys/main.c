/*
 * cove-keys - identities and the whitelist file.
 *
 * One function per subcommand, dispatched from a table that also drives
 * the usage text, in the manner of wireguard-tools' wg.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/pass.h"
#include "common/err.h"
#include "common/file.h"
#include "crypto/ident.h"
#include "crypto/keyfile.h"
#include "crypto/whitelist.h"

static int generate_main(int argc, char **argv);
static int public_main(int argc, char **argv);
static int add_main(int argc, char **argv);
static int remove_main(int argc, char **argv);
static int list_main(int argc, char **argv);
static int check_main(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} subcommands[] = {
	{ "generate", generate_main, "-o FILE [-f] [--passphrase-file F]",
	  "make a new identity; prints its public key" },
	{ "public", public_main, "-k FILE", "print the public key of a secret key file" },
	{ "add", add_main, "-w WHITELIST NAME PUBKEY", "add a member to a whitelist" },
	{ "remove", remove_main, "-w WHITELIST NAME", "remove a member from a whitelist" },
	{ "list", list_main, "-w WHITELIST", "list a whitelist's members and fingerprints" },
	{ "check", check_main, "-w WHITELIST", "validate a whitelist; errors name FILE:LINE" },
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: cove-keys COMMAND [options]\n\nCommands:\n");
	for (size_t i = 0; i < NSUB; i++)
		fprintf(f, "  %-9s %-36s %s\n", subcommands[i].name, subcommands[i].args,
			subcommands[i].help);
	fprintf(f,
		"\nPublic keys are the 44-character base64 of an Ed25519 key. A whitelist\n"
		"has one 'NAME PUBKEY' per line; '#' starts a comment.\n"
		"'cove-keys COMMAND --help' describes one command.\n");
}

static void sub_usage(FILE *f, const char *name)
{
	for (size_t i = 0; i < NSUB; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			fprintf(f, "Usage: cove-keys %s %s\n  %s\n", name, subcommands[i].args,
				subcommands[i].help);
}

/* Parses the options every subcommand shares. Returns 0, or an exit
 * status (help printed: 0 through *done; error: 2). */
struct sub_opts {
	const char *out, *key, *wl, *pass_file;
	int force;
};

static int sub_parse(const char *name, int argc, char **argv, const char *allowed,
		     struct sub_opts *o, int *done)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "whitelist", required_argument, NULL, 'w' },
		{ "force", no_argument, NULL, 'f' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	*done = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:k:w:fh", opts, NULL)) != -1) {
		if (c == 'h') {
			sub_usage(stdout, name);
			*done = 1;
			return 0;
		}
		if (c == '?' || !strchr(allowed, c)) {
			if (c != '?')
				cove_cli_err("%s: option not accepted here", name);
			sub_usage(stderr, name);
			return 2;
		}
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'k': o->key = optarg; break;
		case 'w': o->wl = optarg; break;
		case 'f': o->force = 1; break;
		case 'P': o->pass_file = optarg; break;
		}
	}
	return 0;
}

static int need(const char *name, const char *what, const void *v)
{
	if (v)
		return 0;
	cove_cli_err("%s needs %s", name, what);
	sub_usage(stderr, name);
	return 2;
}

static int wants_args(const char *name, int have, int want)
{
	if (have == want)
		return 0;
	cove_cli_err("%s takes %d argument%s after its options, not %d", name, want,
		     want == 1 ? "" : "s", have);
	sub_usage(stderr, name);
	return 2;
}

static int generate_main(int argc, char **argv)
{
	struct sub_opts o;
	struct cove_ident *id = NULL;
	char *pass = NULL, b64[COVE_PK_B64_LEN + 1];
	size_t pass_len = 0;
	int ret, done, status = 1;

	ret = sub_parse("generate", argc, argv, "ofP", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("generate", "-o FILE", o.out)) || (ret = wants_args("generate", argc - optind, 0)))
		return ret;
	if (!o.force && access(o.out, F_OK) == 0) {
		cove_cli_err("'%s' already exists; keep it, or pass -f to replace it", o.out);
		return 1;
	}
	if (o.pass_file) {
		ret = cove_pass_from_file(o.pass_file, &pass, &pass_len);
		if (ret != COVE_OK) {
			cove_cli_err("cannot read passphrase file '%s': %s", o.pass_file,
				     ret == COVE_ERR_IO ? strerror(errno) : cove_strerror(ret));
			return 1;
		}
	} else if (isatty(STDIN_FILENO)) {
		ret = cove_pass_prompt("Passphrase for the new key (empty for none): ", 1, &pass,
				       &pass_len);
		if (ret == COVE_ERR_PASSPHRASE) {
			cove_cli_err("the passphrases differ; nothing was written");
			return 1;
		}
		if (ret != COVE_OK) {
			cove_cli_err("cannot read a passphrase: %s",
				     ret == COVE_ERR_IO ? strerror(errno) : cove_strerror(ret));
			return 1;
		}
	}
	id = cove_ident_new();
	if (!id) {
		cove_cli_err("out of locked memory");
		goto out;
	}
	cove_ident_generate(id);
	ret = cove_kf_save(o.out, o.force, id, pass, pass_len, COVE_KF_OPSLIMIT, COVE_KF_MEMLIMIT);
	if (ret == COVE_ERR_EXISTS) {
		cove_cli_err("'%s' already exists; keep it, or pass -f to replace it", o.out);
		goto out;
	}
	if (ret != COVE_OK) {
		cove_cli_err("cannot write '%s': %s", o.out,
			     ret == COVE_ERR_IO ? strerror(errno) : cove_strerror(ret));
		goto out;
	}
	cove_pk_to_b64(b64, id->pk);
	printf("%s\n", b64);
	status = 0;
out:
	cove_ident_free(id);
	cove_pass_free(pass);
	return status;
}

static int public_main(int argc, char **argv)
{
	struct sub_opts o;
	struct cove_kf *kf = NULL;
	char b64[COVE_PK_B64_LEN + 1];
	struct stat st;
	int ret, done;

	ret = sub_parse("public", argc, argv, "k", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("public", "-k FILE", o.key)) || (ret = wants_args("public", argc - optind, 0)))
		return ret;
	ret = cove_kf_load(&kf, o.key, 0);
	if (ret == COVE_ERR_IO) {
		cove_cli_err("cannot read key file '%s': %s", o.key, strerror(errno));
		return 1;
	}
	if (ret == COVE_ERR_BAD_KEY || ret == COVE_ERR_KEY_MISMATCH) {
		cove_cli_err("key file '%s' is damaged: %s; restore it from a backup, or make a "
			     "new key with cove-keys generate", o.key, cove_cli_key_damage(ret));
		return 1;
	}
	if (ret != COVE_OK) {
		cove_cli_err("'%s' is not a Cove secret key file (%s)", o.key, cove_strerror(ret));
		return 1;
	}
	if (stat(o.key, &st) == 0 && (st.st_mode & 077))
		cove_cli_err("warning: '%s' is accessible by group or others; chmod 600 '%s'",
			     o.key, o.key);
	cove_pk_to_b64(b64, cove_kf_public(kf));
	printf("%s\n", b64);
	cove_kf_free(kf);
	return 0;
}

static void print_wl_error(const char *path, int ret, const struct cove_wl_diag *d)
{
	if (ret == COVE_ERR_IO)
		cove_cli_err("cannot update '%s': %s", path, strerror(errno));
	else if (ret == COVE_ERR_SYNTAX)
		cove_cli_err("%s:%u: %s (fix the file first; 'cove-keys check' lists every error)",
			     path, d->line, d->msg);
	else if (d->line)
		cove_cli_err("%s:%u: %s", path, d->line, d->msg);
	else if (d->msg[0])
		cove_cli_err("%s: %s", path, d->msg);
	else
		cove_cli_err("%s: %s", path, cove_strerror(ret));
}

static int add_main(int argc, char **argv)
{
	struct cove_wl_diag d = { 0, "" };
	struct sub_opts o;
	uint8_t pk[COVE_PK_LEN];
	int ret, done;

	ret = sub_parse("add", argc, argv, "w", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("add", "-w WHITELIST", o.wl)) || (ret = wants_args("add", argc - optind, 2)))
		return ret;
	if (!cove_name_valid(argv[optind], strlen(argv[optind]))) {
		cove_cli_err("invalid name '%.40s': use 1-32 letters, digits, '.', '_' or '-'",
			     argv[optind]);
		return 1;
	}
	if (cove_cli_pubkey("PUBKEY", argv[optind + 1], pk) != 0)
		return 1;
	ret = cove_wl_add(o.wl, argv[optind], pk, &d);
	if (ret != COVE_OK) {
		print_wl_error(o.wl, ret, &d);
		return 1;
	}
	return 0;
}

static int remove_main(int argc, char **argv)
{
	struct cove_wl_diag d = { 0, "" };
	struct sub_opts o;
	int ret, done;

	ret = sub_parse("remove", argc, argv, "w", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("remove", "-w WHITELIST", o.wl)) ||
	    (ret = wants_args("remove", argc - optind, 1)))
		return ret;
	ret = cove_wl_remove(o.wl, argv[optind], &d);
	if (ret != COVE_OK) {
		print_wl_error(o.wl, ret, &d);
		return 1;
	}
	return 0;
}

static int list_main(int argc, char **argv)
{
	struct sub_opts o;
	struct cove_wl *wl;
	int ret, done;

	ret = sub_parse("list", argc, argv, "w", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("list", "-w WHITELIST", o.wl)) || (ret = wants_args("list", argc - optind, 0)))
		return ret;
	wl = cove_cli_whitelist(o.wl);
	if (!wl)
		return 1;
	for (size_t i = 0; i < cove_wl_count(wl); i++) {
		const struct cove_wl_entry *e = cove_wl_at(wl, i);
		char b64[COVE_PK_B64_LEN + 1], fp[COVE_FP_LEN + 1];

		cove_pk_to_b64(b64, e->pk);
		cove_pk_fingerprint(fp, e->pk);
		printf("%-16s %s  %s\n", e->name, b64, fp);
	}
	cove_wl_free(wl);
	return 0;
}

struct check_ctx {
	const char *path;
	unsigned errors;
};

static void check_report(void *arg, const struct cove_wl_diag *d)
{
	struct check_ctx *c = arg;

	c->errors++;
	if (d->line)
		fprintf(stderr, "%s:%u: %s\n", c->path, d->line, d->msg);
	else
		fprintf(stderr, "%s: %s\n", c->path, d->msg);
}

static int check_main(int argc, char **argv)
{
	struct check_ctx cc = { NULL, 0 };
	struct sub_opts o;
	struct cove_wl *wl = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret, done;

	ret = sub_parse("check", argc, argv, "w", &o, &done);
	if (ret || done)
		return ret;
	if ((ret = need("check", "-w WHITELIST", o.wl)) || (ret = wants_args("check", argc - optind, 0)))
		return ret;
	ret = cove_file_read(o.wl, COVE_WL_MAX_FILE, 0, &text, &len, NULL);
	if (ret != COVE_OK) {
		cove_cli_err("cannot read '%s': %s", o.wl,
			     ret == COVE_ERR_IO ? strerror(errno) : "larger than any whitelist");
		return 1;
	}
	cc.path = o.wl;
	ret = cove_wl_parse_all(&wl, text, len, check_report, &cc);
	free(text);
	if (ret == COVE_ERR_NOMEM) {
		cove_cli_err("out of memory");
		return 1;
	}
	if (ret != COVE_OK) {
		fprintf(stderr, "%s: %u error%s\n", o.wl, cc.errors, cc.errors == 1 ? "" : "s");
		return 1;
	}
	printf("%s: %zu member%s, no errors\n", o.wl, cove_wl_count(wl),
	       cove_wl_count(wl) == 1 ? "" : "s");
	cove_wl_free(wl);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	cove_prog = "cove-keys";
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("cove-keys %s\n", COVE_VERSION);
		return 0;
	}
	ret = cove_crypto_init();
	if (ret != COVE_OK && ret != COVE_ERR_NO_AES) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	for (size_t i = 0; i < NSUB; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	cove_cli_err("unknown command '%.40s'", argv[1]);
	usage(stderr);
	return 2;
}
