/*
 * tamper.c - the evil half of build/tests/cove-rendezvous-tamper, a relay
 * built from the real one (with -DCOVE_TEST_TAMPER) that alters every DAT
 * it forwards as COVE_TEST_TAMPER says:
 *
 *   ct      flip one bit of the ciphertext
 *   header  change the sequence number
 *   sig     flip one bit of the signature
 *   room    move the DAT into room COVE_TEST_TAMPER_ROOM
 *
 * Nothing here is built into the programs that are installed.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/frame.h"

int rv_test_tamper(const uint8_t *raw, size_t len, uint8_t *out, size_t cap, size_t *out_len);

int rv_test_tamper(const uint8_t *raw, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	static uint8_t ct[COVE_FRAME_MAX];
	const char *mode = getenv("COVE_TEST_TAMPER");
	struct cove_frame f;

	if (!mode || cove_frame_decode(&f, raw, len) != 0 || f.type != COVE_F_DAT)
		return -1;
	memcpy(ct, f.u.dat.ct, f.u.dat.ct_len);
	f.u.dat.ct = ct;
	if (strcmp(mode, "ct") == 0) {
		ct[f.u.dat.ct_len / 2] ^= 0x01;
	} else if (strcmp(mode, "header") == 0) {
		f.seq += 1;
	} else if (strcmp(mode, "sig") == 0) {
		f.sig[10] ^= 0x80;
	} else if (strcmp(mode, "room") == 0) {
		const char *room = getenv("COVE_TEST_TAMPER_ROOM");

		if (!room || cove_frame_set_room(&f, room, strlen(room)) != 0)
			return -1;
	} else {
		return -1;
	}
	return cove_frame_encode(&f, out, cap, out_len);
}
