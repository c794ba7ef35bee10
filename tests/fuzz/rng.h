/*
 * rng.h - a deterministic randombytes for the fuzz tools: a ChaCha20
 * stream under a fixed key, so that every byte they make is the same on
 * every run (make-seeds.c: the committed corpus; fuzz_chat.c: each input,
 * the stream restarted for each).
 */
#ifndef COVE_TESTS_FUZZ_RNG_H
#define COVE_TESTS_FUZZ_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

static struct {
	uint8_t key[32];
	uint64_t counter;           /* the nonce of the next call */
} fuzz_rng;

static inline void fuzz_rng_buf(void *buf, size_t n)
{
	uint8_t nonce[8];

	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(fuzz_rng.counter >> (8 * i));
	fuzz_rng.counter++;
	crypto_stream_chacha20((uint8_t *)buf, n, nonce, fuzz_rng.key);
}

static inline uint32_t fuzz_rng_random(void)
{
	uint32_t v;

	fuzz_rng_buf(&v, sizeof(v));
	return v;
}

static inline const char *fuzz_rng_name(void)
{
	return "cove-fuzz";
}

/* Makes randombytes the stream under key, from its start. Call it before
 * sodium_init(), which draws from it. */
static inline void fuzz_rng_install(const uint8_t key[32])
{
	static struct randombytes_implementation impl = {
		.implementation_name = fuzz_rng_name,
		.random = fuzz_rng_random,
		.buf = fuzz_rng_buf,
	};

	memcpy(fuzz_rng.key, key, sizeof(fuzz_rng.key));
	fuzz_rng.counter = 0;
	randombytes_set_implementation(&impl);
}

/* Starts the stream again from its beginning. */
static inline void fuzz_rng_restart(void)
{
	fuzz_rng.counter = 0;
}

#endif
