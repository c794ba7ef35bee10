/*
 * backends.h - the backends store.c dispatches to, one file each (the
 * relay never names them: it goes through cove_store_backends).
 */
#ifndef COVE_STORE_BACKENDS_H
#define COVE_STORE_BACKENDS_H

#include "store/store.h"

extern const struct cove_store_ops cove_store_mem_ops;     /* mem.c */
extern const struct cove_store_ops cove_store_sqlite_ops;  /* sqlite.c */

#endif
