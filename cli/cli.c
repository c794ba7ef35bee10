#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/pass.h"
#include "common/err.h"
#include "common/utf8.h"
#include "crypto/keyfile.h"

const char *cove_prog = "cove";

void cove_cli_err(const char *fmt, ...)
{
	char buf[1024], shown[COVE_UTF8_VISIBLE_CAP(sizeof(buf))];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Messages quote file names and arguments, which may hold anything. */
	cove_utf8_visible(shown, sizeof(shown), buf, strlen(buf));
	fprintf(stderr, "%s: %s\n", cove_prog, shown);
}

static int get_passphrase(const char *path, const char *pass_file, char **pass, size_t *len)
{
	int ret;

	if (pass_file) {
		ret = cove_pass_from_file(pass_file, pass, len);
		if (ret == COVE_ERR_IO)
			cove_cli_err("cannot read passphrase file '%s': %s", pass_file,
				     strerror(errno));
		else if (ret != COVE_OK)
			cove_cli_err("passphrase file '%s': %s", pass_file, cove_strerror(ret));
		return ret;
	}
	if (!isatty(STDIN_FILENO)) {
		cove_cli_err("key file '%s' is encrypted and standard input is not a terminal; "
			     "give the passphrase with --passphrase-file FILE", path);
		return COVE_ERR_NEED_PASSPHRASE;
	}
	ret = cove_pass_prompt("Passphrase: ", 0, pass, len);
	if (ret != COVE_OK)
		cove_cli_err("cannot read a passphrase from the terminal: %s",
			     ret == COVE_ERR_IO ? strerror(errno) : cove_strerror(ret));
	return ret;
}

const char *cove_cli_key_damage(int err)
{
	if (err == COVE_ERR_BAD_KEY)
		return "the public key stored in it cannot be anyone's (not a usable Ed25519 key)";
	return "the public key stored in it is not the one its secret key gives";
}

struct cove_ident *cove_cli_identity(const char *path, const char *pass_file)
{
	struct cove_kf *kf = NULL;
	struct cove_ident *id = NULL;
	char *pass = NULL;
	size_t pass_len = 0;
	struct stat st;
	int ret;

	ret = cove_kf_load(&kf, path, 1);
	switch (ret) {
	case COVE_OK:
		break;
	case COVE_ERR_IO:
		cove_cli_err("cannot read key file '%s': %s%s", path, strerror(errno),
			     errno == ENOENT ? " (create one with: cove-keys generate -o FILE)" : "");
		return NULL;
	case COVE_ERR_PERMS:
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			cove_cli_err("key file '%s' is not a regular file", path);
		else
			cove_cli_err("key file '%s' is accessible by group or others (mode %04o); "
				     "a secret key must be private: chmod 600 '%s'",
				     path, (unsigned)(st.st_mode & 07777), path);
		return NULL;
	case COVE_ERR_VERSION:
		cove_cli_err("key file '%s' was written by a newer Cove; upgrade this one", path);
		return NULL;
	case COVE_ERR_BAD_KEY:
	case COVE_ERR_KEY_MISMATCH:
		cove_cli_err("key file '%s' is damaged: %s; restore it from a backup, or make a "
			     "new key with cove-keys generate", path, cove_cli_key_damage(ret));
		return NULL;
	default:
		cove_cli_err("'%s' is not a Cove secret key file (%s); keys are made with "
			     "cove-keys generate", path, cove_strerror(ret));
		return NULL;
	}
	id = cove_ident_new();
	if (!id) {
		cove_cli_err("out of locked memory for the secret key");
		goto out;
	}
	if (cove_kf_encrypted(kf) && get_passphrase(path, pass_file, &pass, &pass_len) != COVE_OK)
		goto fail;
	ret = cove_kf_unlock(kf, pass, pass_len, id);
	if (ret == COVE_OK)
		goto out;
	if (ret == COVE_ERR_PASSPHRASE)
		cove_cli_err("wrong passphrase for key file '%s'", path);
	else if (ret == COVE_ERR_KEY_MISMATCH)
		cove_cli_err("key file '%s' is damaged: %s; restore it from a backup, or make a "
			     "new key with cove-keys generate", path, cove_cli_key_damage(ret));
	else
		cove_cli_err("cannot unlock key file '%s': %s", path, cove_strerror(ret));
fail:
	cove_ident_free(id);
	id = NULL;
out:
	cove_pass_free(pass);
	cove_kf_free(kf);
	return id;
}

struct cove_wl *cove_cli_whitelist(const char *path)
{
	struct cove_wl_diag d = { 0, "" };
	struct cove_wl *wl = NULL;
	int ret = cove_wl_load(&wl, path, &d);

	if (ret == COVE_OK)
		return wl;
	if (ret == COVE_ERR_IO)
		cove_cli_err("cannot read whitelist '%s': %s", path, strerror(errno));
	else if (d.line)
		cove_cli_err("%s:%u: %s", path, d.line, d.msg);
	else if (d.msg[0])
		cove_cli_err("%s: %s", path, d.msg);
	else
		cove_cli_err("%s: %s", path, cove_strerror(ret));
	return NULL;
}

int cove_cli_pubkey(const char *opt, const char *s, uint8_t pk[COVE_PK_LEN])
{
	if (cove_pk_from_b64(pk, s, strlen(s)) != COVE_OK) {
		cove_cli_err("%s '%.60s' is not a public key: expected the 44-character base64 "
			     "that 'cove-keys public' prints", opt, s);
		return -1;
	}
	if (cove_pk_check(pk) != COVE_OK) {
		cove_cli_err("%s '%s' cannot be anyone's public key: it is not a usable Ed25519 "
			     "key (of small order, or not a canonical curve point); use the key "
			     "that 'cove-keys public' prints", opt, s);
		return -1;
	}
	return 0;
}

int cove_cli_hostport(const char *opt, const char *s, char *host, size_t hostcap,
		      uint16_t *port, int allow_zero)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	unsigned long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostcap)
		goto bad;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p > 65535 || (p == 0 && !allow_zero))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
bad:
	cove_cli_err("%s '%s' is not HOST:PORT (e.g. 127.0.0.1:7470 or [::1]:7470)", opt, s);
	return -1;
}

uint64_t cove_now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

uint64_t cove_now_ms(void)
{
	return cove_now_us() / 1000u;
}
