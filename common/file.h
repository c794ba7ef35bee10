/*
 * file.h - whole-file reads and crash-safe whole-file writes.
 */
#ifndef COVE_COMMON_FILE_H
#define COVE_COMMON_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Reads fd from its current offset to the end into a new NUL-terminated
 * buffer the caller frees with free(). Fails with COVE_ERR_LIMIT when the
 * content exceeds max bytes, COVE_ERR_IO (errno set) or COVE_ERR_NOMEM. */
int cove_file_read_fd(int fd, size_t max, char **out, size_t *len);

/* Opens path (never following a final symlink when nofollow is set),
 * stores its stat in *st when st is not NULL and reads it as
 * cove_file_read_fd() does. */
int cove_file_read(const char *path, size_t max, int nofollow, char **out, size_t *len,
		   struct stat *st);

/* Writes data to a temporary file beside path with the given mode,
 * fsyncs it and moves it into place. With overwrite the move is a rename;
 * without, it is a link that fails with COVE_ERR_EXISTS if path exists.
 * The folder is fsynced after the move. Returns 0, COVE_ERR_EXISTS or
 * COVE_ERR_IO (errno set). */
int cove_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		      int overwrite);

/* Fsyncs the folder that holds path, so that a file just created or
 * renamed there survives a power loss. Returns 0 or COVE_ERR_IO (errno
 * set). */
int cove_file_fsync_dir(const char *path);

/* Creates each missing folder above path (not path itself) with mode,
 * as `mkdir -p "$(dirname path)"` would; folders that exist are left as
 * they are. Returns 0 or COVE_ERR_IO (errno set; ENOTDIR when something
 * on the way is not a folder). */
int cove_file_make_parents(const char *path, mode_t mode);

#endif
