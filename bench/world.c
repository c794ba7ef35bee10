/*
 * world.c - throw-away identities, the relay's key and whitelist in a
 * temporary folder, and a real cove-rendezvous started on a free loopback
 * port and stopped by its pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bn.h"
#include "common/err.h"
#include "common/file.h"
#include "crypto/keyfile.h"

long bn_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

static int write_whitelist(struct bn_world *w)
{
	size_t cap = (w->nids + 1) * 64 + 64, len = 0;
	char *text = malloc(cap), b64[COVE_PK_B64_LEN + 1];
	struct cove_wl_diag diag;
	int ret;

	if (!text)
		return -1;
	len += (size_t)snprintf(text, cap, "# cove-bench: throw-away identities\n");
	for (size_t i = 1; i <= w->nids; i++) {
		cove_pk_to_b64(b64, w->ids[i].pk);
		len += (size_t)snprintf(text + len, cap - len, "n%zu %s\n", i, b64);
	}
	ret = cove_file_replace(w->wl_path, text, len, 0644, 1);
	if (ret == COVE_OK)
		ret = cove_wl_parse(&w->wl, text, len, &diag);
	free(text);
	if (ret != COVE_OK) {
		bn_err("cannot write the whitelist %s: %s", w->wl_path, cove_strerror(ret));
		return -1;
	}
	return 0;
}

int bn_world_init(struct bn_world *w, size_t n)
{
	const char *tmp = getenv("TMPDIR");
	int ret;

	memset(w, 0, sizeof(*w));
	w->relay_pid = -1;
	snprintf(w->dir, sizeof(w->dir), "%s/cove-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(w->dir)) {
		bn_err("cannot make a temporary folder: %s", strerror(errno));
		return -1;
	}
	snprintf(w->wl_path, sizeof(w->wl_path), "%s/whitelist", w->dir);
	snprintf(w->key_path, sizeof(w->key_path), "%s/relay.key", w->dir);
	snprintf(w->log_path, sizeof(w->log_path), "%s/relay.log", w->dir);
	w->nids = n;
	w->ids = calloc(n + 1, sizeof(*w->ids));
	if (!w->ids) {
		bn_err("out of memory for %zu identities", n);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		cove_ident_generate(&w->ids[i]);
	ret = cove_kf_save(w->key_path, 1, &w->ids[0], NULL, 0, 0, 0);
	if (ret != COVE_OK) {
		bn_err("cannot write %s: %s", w->key_path, cove_strerror(ret));
		return -1;
	}
	return write_whitelist(w);
}

/* What the relay's default store is called in its folder (rendezvous/run.c). */
#define STORE_FILE "cove-store.db"

void bn_world_store_path(const struct bn_world *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s/" STORE_FILE, w->dir);
}

int bn_world_keyfile(const struct bn_world *w, size_t i, const char *path)
{
	int ret = cove_kf_save(path, 1, &w->ids[i], NULL, 0, 0, 0);

	if (ret != COVE_OK) {
		bn_err("cannot write %s: %s", path, cove_strerror(ret));
		return -1;
	}
	return 0;
}

/* Removes the relay's store and what SQLite keeps beside it. */
static void remove_store(const struct bn_world *w)
{
	static const char *const tails[] = { "", "-wal", "-shm", "-journal" };
	char path[400];

	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(path, sizeof(path), "%s/" STORE_FILE "%s", w->dir, tails[i]);
		unlink(path);
	}
}

void bn_world_free(struct bn_world *w)
{
	const char *keep = getenv("COVE_BENCH_KEEP");

	bn_relay_stop(w);
	if (w->ids) {
		sodium_memzero(w->ids, (w->nids + 1) * sizeof(*w->ids));
		free(w->ids);
	}
	cove_wl_free(w->wl);
	if (w->dir[0] && !(keep && *keep)) {
		unlink(w->wl_path);
		unlink(w->key_path);
		unlink(w->log_path);
		remove_store(w);
		rmdir(w->dir);
	} else if (w->dir[0]) {
		bn_say("kept %s (COVE_BENCH_KEEP)", w->dir);
	}
	w->ids = NULL;
	w->wl = NULL;
}

/* Reads the relay's log until it says where it listens. */
static int wait_listening(struct bn_world *w, unsigned timeout_ms)
{
	static const char tag[] = "listening on ";
	uint64_t end = bn_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct timespec ms = { 0, 1000000 };
	char line[512];

	while (bn_now_ns() < end) {
		FILE *f = fopen(w->log_path, "r");
		int status;

		if (f) {
			while (fgets(line, sizeof(line), f)) {
				char *p = strstr(line, tag), *colon;

				if (!p)
					continue;
				p += sizeof(tag) - 1;
				p[strcspn(p, "\r\n")] = '\0';
				colon = strrchr(p, ':');
				if (!colon || (size_t)(colon - p) >= sizeof(w->host))
					break;
				memcpy(w->host, p, (size_t)(colon - p));
				w->host[colon - p] = '\0';
				w->port = (uint16_t)atoi(colon + 1);
				fclose(f);
				return 0;
			}
			fclose(f);
		}
		if (waitpid(w->relay_pid, &status, WNOHANG) == w->relay_pid) {
			w->relay_pid = -1;
			bn_err("the relay exited before listening; its log is %s", w->log_path);
			return -1;
		}
		nanosleep(&ms, NULL);
	}
	bn_err("the relay did not say it was listening within %u ms; log: %s", timeout_ms,
	       w->log_path);
	return -1;
}

int bn_relay_start(struct bn_world *w, const char *relay_bin, char *const *extra)
{
	char *argv[64];
	size_t argc = 0;
	int fd;

	argv[argc++] = (char *)relay_bin;
	argv[argc++] = "-k";
	argv[argc++] = w->key_path;
	argv[argc++] = "-w";
	argv[argc++] = w->wl_path;
	argv[argc++] = "-l";
	argv[argc++] = "127.0.0.1:0";
	for (size_t i = 0; extra && extra[i] && argc < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	fd = open(w->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		bn_err("cannot open %s: %s", w->log_path, strerror(errno));
		return -1;
	}
	w->relay_pid = fork();
	if (w->relay_pid < 0) {
		bn_err("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (w->relay_pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* its default store (cove-store.db) in the run's own folder */
		if (chdir(w->dir) != 0)
			_exit(126);
		execv(relay_bin, argv);
		fprintf(stderr, "cove-bench: cannot run %s: %s\n", relay_bin, strerror(errno));
		_exit(127);
	}
	close(fd);
	return wait_listening(w, 10000);
}

void bn_relay_stop(struct bn_world *w)
{
	uint64_t end;
	int status;

	if (w->relay_pid <= 0)
		return;
	kill(w->relay_pid, SIGTERM);
	end = bn_now_ns() + 5000000000ull;
	while (waitpid(w->relay_pid, &status, WNOHANG) == 0) {
		struct timespec ms = { 0, 2000000 };

		if (bn_now_ns() > end) {
			bn_err("the relay did not stop within 5 s of SIGTERM; killing it");
			kill(w->relay_pid, SIGKILL);
			waitpid(w->relay_pid, &status, 0);
			break;
		}
		nanosleep(&ms, NULL);
	}
	w->relay_pid = -1;
}
