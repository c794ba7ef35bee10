/*
 * rooms.c - the room table: chained hashing, keyed SipHash (libsodium's
 * crypto_shorthash) so that peers choosing room names cannot force
 * collisions, doubling when the load passes one.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rendezvous/rv.h"

#define ROOMS_INITIAL 64

int rv_rooms_init(struct rv_rooms *t)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(ROOMS_INITIAL, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->nslots = ROOMS_INITIAL;
	randombytes_buf(t->key, sizeof(t->key));
	return 0;
}

void rv_rooms_free(struct rv_rooms *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct rv_room *r = t->slots[i];

		while (r) {
			struct rv_room *n = r->hnext;

			free(r);
			r = n;
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t slot_of(const struct rv_rooms *t, size_t nslots, const char *name, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)name, len, t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (nslots - 1));
}

struct rv_room *rv_rooms_find(struct rv_rooms *t, const char *name, size_t len)
{
	struct rv_room *r = t->slots[slot_of(t, t->nslots, name, len)];

	for (; r; r = r->hnext)
		if (r->name_len == len && memcmp(r->name, name, len) == 0)
			return r;
	return NULL;
}

static void grow(struct rv_rooms *t)
{
	size_t n = t->nslots * 2;
	struct rv_room **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < t->nslots; i++) {
		struct rv_room *r = t->slots[i];

		while (r) {
			struct rv_room *next = r->hnext;
			size_t k = slot_of(t, n, r->name, r->name_len);

			r->hnext = slots[k];
			slots[k] = r;
			r = next;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
}

struct rv_room *rv_rooms_get(struct rv_rooms *t, const char *name, size_t len)
{
	struct rv_room *r = rv_rooms_find(t, name, len);
	size_t k;

	if (r)
		return r;
	if (len > COVE_ROOM_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	r->name_len = (uint8_t)len;
	TAILQ_INIT(&r->members);
	if (t->n + 1 > t->nslots)
		grow(t);
	k = slot_of(t, t->nslots, name, len);
	r->hnext = t->slots[k];
	t->slots[k] = r;
	t->n++;
	return r;
}

void rv_rooms_remove(struct rv_rooms *t, struct rv_room *r)
{
	struct rv_room **pp = &t->slots[slot_of(t, t->nslots, r->name, r->name_len)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == r) {
			*pp = r->hnext;
			t->n--;
			free(r);
			return;
		}
	}
}

void rv_rooms_each(struct rv_rooms *t, void (*fn)(struct rv_room *r, void *arg), void *arg)
{
	for (size_t i = 0; i < t->nslots; i++)
		for (struct rv_room *r = t->slots[i]; r; r = r->hnext)
			fn(r, arg);
}
