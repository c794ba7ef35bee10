/*
 * fuzz.h - what every libFuzzer target of tests/fuzz/ shares: the entry
 * point's prototype, a lazy sodium_init() and the check that stops the run
 * when an invariant breaks.
 *
 * A broken invariant prints one line (file, line, the condition and the
 * values involved) and aborts, which libFuzzer reports as a crash and
 * saves the input as an artifact.
 */
#ifndef COVE_TESTS_FUZZ_H
#define COVE_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                          \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,     \
				__LINE__, #cond);                                      \
			fprintf(stderr, __VA_ARGS__);                                  \
			fputc('\n', stderr);                                           \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* libsodium is only needed by some targets, but initialising it in all of
 * them keeps its lazy setup out of the first input's coverage. */
static inline void fuzz_sodium_init(void)
{
	static int done;

	if (!done) {
		if (sodium_init() < 0)
			abort();
		done = 1;
	}
}

#endif
