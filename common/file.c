#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"

int cove_file_read_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 256, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return COVE_ERR_NOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > max) {
				free(buf);
				return COVE_ERR_LIMIT;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return COVE_ERR_NOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return COVE_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		return COVE_ERR_LIMIT;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return COVE_OK;
}

int cove_file_read(const char *path, size_t max, int nofollow, char **out, size_t *len,
		   struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	int ret;

	if (fd < 0)
		return COVE_ERR_IO;
	if (st && fstat(fd, st) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return COVE_ERR_IO;
	}
	ret = cove_file_read_fd(fd, max, out, len);
	if (ret != COVE_OK) {
		int e = errno;

		close(fd);
		errno = e;
		return ret;
	}
	close(fd);
	return COVE_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The folder part of path: "." for a bare name, "/" for one in the root. */
static int dir_of(char dir[PATH_MAX], const char *path)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash)
		n = snprintf(dir, PATH_MAX, ".");
	else if (slash == path)
		n = snprintf(dir, PATH_MAX, "/");
	else
		n = snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
	if (n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int cove_file_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, e;

	if (dir_of(dir, path) != 0)
		return COVE_ERR_IO;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return COVE_ERR_IO;
	if (fsync(fd) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return COVE_ERR_IO;
	}
	close(fd);
	return COVE_OK;
}

int cove_file_make_parents(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	struct stat st;

	if (dir_of(dir, path) != 0)
		return COVE_ERR_IO;
	/* Walk down from the root, creating each missing component; a
	 * component that appears meanwhile (EEXIST) is fine if a folder. */
	for (char *p = dir + 1;; p++) {
		int last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, mode) != 0 && errno != EEXIST)
			return COVE_ERR_IO;
		if (stat(dir, &st) != 0)
			return COVE_ERR_IO;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return COVE_ERR_IO;
		}
		if (last)
			return COVE_OK;
		*p = '/';
	}
}

int cove_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		      int overwrite)
{
	char tmp[PATH_MAX];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return COVE_ERR_IO;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return COVE_ERR_IO;
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (overwrite) {
		if (rename(tmp, path) != 0)
			goto fail;
	} else {
		if (link(tmp, path) != 0) {
			e = errno;
			unlink(tmp);
			errno = e;
			return e == EEXIST ? COVE_ERR_EXISTS : COVE_ERR_IO;
		}
		unlink(tmp);
	}
	cove_file_fsync_dir(path);
	return COVE_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return COVE_ERR_IO;
}
