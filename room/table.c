/*
 * table.c - rooms by name (table.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "room/table.h"

#define TABLE_INITIAL 64

int rm_table_init(struct rm_table *t)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(TABLE_INITIAL, sizeof(*t->slots));
	if (!t->slots)
		return COVE_ERR_NOMEM;
	t->nslots = TABLE_INITIAL;
	randombytes_buf(t->key, sizeof(t->key));
	return 0;
}

void rm_table_fini(struct rm_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t slot_of(const struct rm_table *t, size_t nslots, const char *name, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)name, len, t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (nslots - 1));
}

struct rm_entry *rm_table_find(const struct rm_table *t, const char *name, size_t len)
{
	struct rm_entry *e = t->slots[slot_of(t, t->nslots, name, len)];

	for (; e; e = e->next)
		if (e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static void grow(struct rm_table *t)
{
	size_t n = t->nslots * 2;
	struct rm_entry **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < t->nslots; i++) {
		struct rm_entry *e = t->slots[i];

		while (e) {
			struct rm_entry *next = e->next;
			size_t k = slot_of(t, n, e->name, e->len);

			e->next = slots[k];
			slots[k] = e;
			e = next;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
}

void rm_table_add(struct rm_table *t, struct rm_entry *e)
{
	size_t k;

	if (t->n + 1 > t->nslots)
		grow(t);
	k = slot_of(t, t->nslots, e->name, e->len);
	e->next = t->slots[k];
	t->slots[k] = e;
	t->n++;
}

void rm_table_remove(struct rm_table *t, struct rm_entry *e)
{
	struct rm_entry **pp = &t->slots[slot_of(t, t->nslots, e->name, e->len)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			return;
		}
	}
}

void rm_table_each(struct rm_table *t, void (*fn)(struct rm_entry *e, void *arg), void *arg)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct rm_entry *e = t->slots[i];

		while (e) {
			struct rm_entry *next = e->next;

			fn(e, arg);
			e = next;
		}
	}
}
