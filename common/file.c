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

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
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
	fsync_dir_of(path);
	return COVE_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return COVE_ERR_IO;
}
