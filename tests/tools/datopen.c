/*
 * datopen.c - tries to open a recorded DAT frame with a group key:
 *
 *   datopen FRAME_HEX KEY_HEX
 *
 * Prints the text and exits 0 when the key opens it; exits 1 when it
 * does not (authentication fails), 2 on bad arguments. Tests use it to
 * show that a member's old key cannot read what was sent after a rekey.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/msg.h"

int main(int argc, char **argv)
{
	static uint8_t frame[COVE_FRAME_MAX], pt[COVE_PAD_MAX];
	uint8_t gk[COVE_GK_LEN];
	size_t flen = 0, klen = 0;
	struct cove_payload pl;
	struct cove_frame f;
	int ret;

	if (argc != 3 || sodium_init() < 0 ||
	    sodium_hex2bin(frame, sizeof(frame), argv[1], strlen(argv[1]), NULL, &flen, NULL) ||
	    sodium_hex2bin(gk, sizeof(gk), argv[2], strlen(argv[2]), NULL, &klen, NULL) ||
	    klen != COVE_GK_LEN || cove_frame_decode(&f, frame, flen) != 0 ||
	    f.type != COVE_F_DAT) {
		fprintf(stderr, "usage: datopen DAT_FRAME_HEX GROUP_KEY_HEX\n");
		return 2;
	}
	ret = cove_msg_dat_open(&f, gk, pt, sizeof(pt), &pl);
	if (ret != 0) {
		printf("does not open: %d\n", ret);
		return 1;
	}
	printf("%.*s\n", (int)pl.text_len, pl.text ? pl.text : "");
	return 0;
}
