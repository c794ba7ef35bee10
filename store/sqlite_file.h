/*
 * sqlite_file.h - the SQLite store's file, for sqlite.c: what makes a file
 * a Cove store (its application id, and the schema of its version), the
 * schema as numbered migration steps, and opening a file without changing
 * a byte of it unless it is a Cove store this version can use.
 */
#ifndef COVE_STORE_SQLITE_FILE_H
#define COVE_STORE_SQLITE_FILE_H

#include <sqlite3.h>

#include "store/store.h"

/* PRAGMA application_id of every Cove store: "Cove" in ASCII. */
#define COVE_STORE_SQL_APP_ID 0x436f7665

/* The page size of new stores. A page holds six 656-byte frames (96% of
 * it); with 3 to 50 rooms interleaving, 8 and 16 KiB pages made files 3-7%
 * larger for the same frames (their leaves split emptier), and a small
 * commit writes each page it touches into the WAL in full. */
#define COVE_STORE_SQL_PAGE 4096

/* Opens path as a store, as cove_store_open documents: creates it (mode
 * 0600) when it is missing or empty, migrates an older one, refuses and
 * leaves untouched one that is not a Cove store, is corrupt or is newer;
 * then sets WAL mode, an exclusive lock and the durability of conf. On
 * success *db is the caller's, for sqlite3_close. */
int cove_store_sql_open(sqlite3 **db, const char *path, const struct cove_store_conf *conf);

/* The cove_err for an SQLite result code rc of db (COVE_ERR_IO sets
 * errno from the system call that failed, if any). */
int cove_store_sql_err(sqlite3 *db, int rc);

#endif
