/*
 * tamper.c - build/tests/cove-rendezvous-tamper: the real relay (linked
 * from the very objects of cove-rendezvous, run through rv_main()) with a
 * tamper hook that does to every DAT it forwards what COVE_TEST_TAMPER
 * says:
 *
 *   ct         flip one bit of the ciphertext
 *   header     change the sequence number
 *   sig        flip one bit of the signature
 *   room       move the DAT into room COVE_TEST_TAMPER_ROOM
 *   record     forward it unchanged, and append its bytes in hex, one
 *              frame a line, to the file COVE_TEST_RECORD
 *   drop_n     drop every DAT whose message number is COVE_TEST_TAMPER_N
 *   drop_once  drop the first DAT whose message number is COVE_TEST_TAMPER_N
 *
 * Nothing here is built into the programs that are installed: there the
 * hook is NULL, and nothing reads these variables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rendezvous/run.h"
#include "wire/frame.h"

/* The relay's rv_tamper_fn (rendezvous/server.h). Static buffers: the hook
 * runs on the relay's one event loop, and its bytes are used before the
 * next call. */
static enum rv_tamper tamper(const uint8_t *raw, size_t len, const uint8_t **out,
			       size_t *out_len)
{
	static uint8_t ct[COVE_FRAME_MAX], evil[COVE_FRAME_MAX];
	static int dropped_once;
	const char *mode = getenv("COVE_TEST_TAMPER");
	struct cove_frame f;

	if (!mode || cove_frame_decode(&f, raw, len) != 0 || f.type != COVE_F_DAT)
		return RV_TAMPER_PASS;
	if (strcmp(mode, "record") == 0) {
		const char *path = getenv("COVE_TEST_RECORD");
		FILE *rec = path ? fopen(path, "a") : NULL;

		if (rec) {
			for (size_t i = 0; i < len; i++)
				fprintf(rec, "%02x", raw[i]);
			fprintf(rec, "\n");
			fclose(rec);
		}
		return RV_TAMPER_PASS;
	}
	if (strcmp(mode, "drop_n") == 0 || strcmp(mode, "drop_once") == 0) {
		const char *n = getenv("COVE_TEST_TAMPER_N");

		if (!n || f.u.dat.n != strtoull(n, NULL, 10))
			return RV_TAMPER_PASS;
		if (strcmp(mode, "drop_once") == 0) {
			if (dropped_once)
				return RV_TAMPER_PASS;
			dropped_once = 1;
		}
		return RV_TAMPER_DROP;
	}
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
			return RV_TAMPER_PASS;
	} else {
		return RV_TAMPER_PASS;
	}
	if (cove_frame_encode(&f, evil, sizeof(evil), out_len) != 0)
		return RV_TAMPER_PASS;
	*out = evil;
	return RV_TAMPER_REPLACE;
}

int main(int argc, char **argv)
{
	static const struct rv_hooks hooks = { .tamper = tamper };

	return rv_main(argc, argv, &hooks);
}
