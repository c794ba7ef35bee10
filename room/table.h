/*
 * table.h - rooms by name: a hash map with chains, keyed SipHash
 * (libsodium's crypto_shorthash) so that peers choosing room names cannot
 * force collisions, doubling when the load passes one.
 *
 * Intrusive: each room embeds its struct rm_entry, and the table never
 * allocates or frees one. The entry's name is the room's, borrowed.
 */
#ifndef COVE_ROOM_TABLE_H
#define COVE_ROOM_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct rm_entry {
	struct rm_entry *next;         /* hash chain */
	const char *name;              /* len bytes, owned by the room */
	size_t len;
};

struct rm_table {
	struct rm_entry **slots;
	size_t nslots, n;
	uint8_t key[16];               /* SipHash key, random */
};

/* An empty table. Returns 0 or COVE_ERR_NOMEM. */
int rm_table_init(struct rm_table *t);

/* Frees the table's own memory, not the entries. */
void rm_table_fini(struct rm_table *t);

/* The entry called name (len bytes), or NULL. */
struct rm_entry *rm_table_find(const struct rm_table *t, const char *name, size_t len);

/* Adds e, whose name no entry of t has. */
void rm_table_add(struct rm_table *t, struct rm_entry *e);

/* Takes e, an entry of t, out of it. */
void rm_table_remove(struct rm_table *t, struct rm_entry *e);

/* Calls fn on every entry; fn may remove and free the entry it is given,
 * and no other. */
void rm_table_each(struct rm_table *t, void (*fn)(struct rm_entry *e, void *arg), void *arg);

#endif
