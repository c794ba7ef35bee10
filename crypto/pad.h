/*
 * pad.h - length hiding for DAT plaintexts.
 *
 * A payload of n bytes gets a 0x80 marker and then zero bytes up to a
 * bucket: 256 bytes when n + 1 <= 256, so every short chat line looks
 * alike; above that the Padme size of n + 1, which leaks O(log log n) bits
 * and costs at most 12% (Nikitin et al., "Reducing metadata leakage from
 * encrypted files and communication with PURBs", PETS 2019).
 */
#ifndef COVE_CRYPTO_PAD_H
#define COVE_CRYPTO_PAD_H

#include <stddef.h>
#include <stdint.h>

#define COVE_PAD_MIN 256
#define COVE_PAD_MAX 32768                  /* largest bucket */
#define COVE_PAD_MAX_PAYLOAD (COVE_PAD_MAX - 1)

/* Returns the bucket for a payload of len bytes, or 0 when len is above
 * COVE_PAD_MAX_PAYLOAD. */
size_t cove_pad_size(size_t len);

/* buf holds a payload of len bytes and has room for cap. Appends the
 * marker and zeros up to cove_pad_size(len) and stores that size in
 * *padded_len. Returns 0, COVE_ERR_INVAL (payload too long) or
 * COVE_ERR_SPACE. */
int cove_pad(uint8_t *buf, size_t len, size_t cap, size_t *padded_len);

/* Finds the payload length of a padded buffer. Fails with
 * COVE_ERR_PADDING unless padded_len is exactly the bucket of the payload
 * and the padding is a 0x80 marker followed by zeros. */
int cove_unpad(const uint8_t *buf, size_t padded_len, size_t *len);

/* Link records are padded the same way, so that their clear lengths do
 * not tell an observer the frame type: every frame of up to
 * COVE_LINK_PAD_MIN - 1 bytes (every control frame, and a DAT of a short
 * message) makes a record of COVE_LINK_PAD_MIN bytes before the link's
 * tag; a longer one its Padme size. COVE_LINK_PAD_MAX is the record of
 * the largest frame, COVE_LINK_FRAME_MAX bytes. */
#define COVE_LINK_PAD_MIN 640
#define COVE_LINK_FRAME_MAX 65536
#define COVE_LINK_PAD_MAX 67584

/* The padded size of a frame of len bytes on the link, or 0 when len is
 * 0 or above COVE_LINK_FRAME_MAX. */
size_t cove_link_pad_size(size_t len);

/* The frame length of a padded record plaintext: COVE_ERR_PADDING unless
 * padded_len is exactly cove_link_pad_size() of it and the padding is a
 * 0x80 marker then zeros. */
int cove_link_unpad(const uint8_t *buf, size_t padded_len, size_t *len);

#endif
