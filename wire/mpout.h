/*
 * mpout.h - a msgpack-c writer into a caller-owned, fixed-size buffer.
 *
 * msgpack-c's own sbuffer grows with malloc; Cove encodes into buffers
 * whose size the caller chose, and a full buffer is an error, not a
 * reallocation.
 */
#ifndef COVE_WIRE_MPOUT_H
#define COVE_WIRE_MPOUT_H

#include <stddef.h>
#include <stdint.h>

struct cove_mpout {
	uint8_t *p;
	size_t cap;
	size_t len;
};

/* msgpack_packer write callback: data is a struct cove_mpout. Returns -1,
 * writing nothing, when buf does not fit. */
int cove_mpout_write(void *data, const char *buf, size_t len);

#endif
