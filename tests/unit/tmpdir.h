/*
 * tmpdir.h - a private temporary folder per test, removed afterwards.
 */
#ifndef COVE_TESTS_UNIT_TMPDIR_H
#define COVE_TESTS_UNIT_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creates a fresh folder under /tmp named after tag; dir holds 64 bytes.
 * Returns 0 or -1. */
static inline int tmpdir_make(char dir[64], const char *tag)
{
	snprintf(dir, 64, "/tmp/cove-%s-XXXXXX", tag);
	return mkdtemp(dir) ? 0 : -1;
}

/* How many files dir holds (-1 when it cannot be read). */
static inline int tmpdir_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Removes dir and the files in it (the tests make no subfolders). */
static inline void tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char p[400];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

#endif
