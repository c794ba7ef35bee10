/*
 * open.h - how hist/ opens a history file: the checks made before
 * anything is written, the creation of a new file, the schema and its
 * migrations, and SQLite's result codes turned into Cove errors.
 *
 * Nothing outside hist/ includes this.
 */
#ifndef COVE_HIST_OPEN_H
#define COVE_HIST_OPEN_H

#include <sqlite3.h>

#include "crypto/atrest.h"

/* Opens path as a history file sealed under ar, creating it when nothing
 * is there, and brings its schema to COVE_HIST_VERSION. On success *db
 * is the connection (WAL, exclusive lock, secure_delete on), which the
 * caller closes with sqlite3_close(). Returns as cove_hist_open(). */
int hist_open_db(sqlite3 **db, const char *path, const struct cove_atrest *ar);

/* The Cove error for SQLite result code rc from db (db may be NULL):
 * COVE_ERR_FULL, COVE_ERR_NOMEM, COVE_ERR_STORE_FORMAT (corrupt, not a
 * database, or a schema that is not ours), or COVE_ERR_IO with errno set
 * (EBUSY when another connection holds the file). */
int hist_err(sqlite3 *db, int rc);

#endif
