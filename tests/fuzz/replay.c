/*
 * replay.c - a main() for the fuzz targets without libFuzzer, so 'make
 * check' runs every target over its committed corpus and regression inputs
 * with gcc (and, under SANITIZE=1, with ASan and UBSan).
 *
 *   replay_TARGET DIR|FILE...
 *
 * Each file is read into a buffer of exactly its size (so reading past the
 * input is caught by the sanitizers) and handed to the target's
 * LLVMFuzzerTestOneInput(), whose own invariants abort on a finding.
 * Prints one line with the number of inputs replayed; exits 1 when a path
 * cannot be read or holds no input at all.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

static const char *prog;
static const char *current; /* the input being replayed, for on_abort() */

/* A target aborts on a broken invariant: name the input that did it. */
static void on_abort(int sig)
{
	static const char what[] = ": this input broke an invariant\n";

	(void)sig;
	if (current != NULL) {
		(void)!write(2, "  REPLAY  ", 10);
		(void)!write(2, current, strlen(current));
		(void)!write(2, what, sizeof(what) - 1);
	}
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* malloc(0) may return NULL; one spare byte keeps the pointer valid
	 * while the target is still told the true size. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		fprintf(stderr, "%s: %s: out of memory\n", prog, path);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (n != (size_t)st.st_size) {
		free(buf);
		fprintf(stderr, "%s: %s: short read\n", prog, path);
		return -1;
	}
	current = path;
	LLVMFuzzerTestOneInput(buf, n);
	current = NULL;
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of DIR in name order, so a failure names the
 * same input on every machine. Returns the count, or -1. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	long done = 0;
	int oom = 0;

	if (d == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (more == NULL) {
				oom = 1;
				break;
			}
			names = more;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (names[n] == NULL) {
			oom = 1;
			break;
		}
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (oom) {
		fprintf(stderr, "%s: %s: out of memory\n", prog, dir);
		done = -1;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		if (done >= 0 && replay_file(names[i]) == 0)
			done++;
		else
			done = -1;
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	int i;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	signal(SIGABRT, on_abort);
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", prog);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i], strerror(errno));
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "%s: no inputs to replay\n", prog);
		return 1;
	}
	printf("  REPLAY  %s: %ld inputs pass\n", prog, total);
	return 0;
}
