/*
 * mpcheck.h - structural check of untrusted msgpack before unpacking.
 *
 * msgpack-c's unpacker believes an array or map header and allocates
 * count x 24 bytes up front: five bytes "dd ff ff ff ff" would ask for
 * about 100 GB. cove_mp_check() walks the bytes first and rejects any
 * value whose declared lengths cannot fit in what is left, so msgpack-c
 * is only ever handed input whose allocations are bounded by its size.
 */
#ifndef COVE_WIRE_MPCHECK_H
#define COVE_WIRE_MPCHECK_H

#include <stddef.h>
#include <stdint.h>

#define COVE_MP_MAX_DEPTH 32 /* the largest max_depth accepted */

/* Checks that buf[0..len) is exactly one msgpack value:
 *  - every str/bin/ext length fits in the bytes that remain;
 *  - the elements still owed by all open arrays and maps (one byte each at
 *    least) never exceed the bytes that remain;
 *  - arrays and maps nest at most max_depth deep (max_depth <= 32);
 *  - 0xc1 (never used) does not occur;
 *  - nothing follows the value.
 * Returns 0, COVE_ERR_MSGPACK, COVE_ERR_DEPTH, COVE_ERR_TRAILING or
 * COVE_ERR_INVAL (max_depth too large). */
int cove_mp_check(const uint8_t *buf, size_t len, unsigned max_depth);

#endif
