/*
 * b64.h - strict standard base64 (RFC 4648, with '=' padding).
 *
 * libsodium 1.0.18 reads its input as signed chars and so takes any byte
 * from 0x80 up for a valid character; Cove checks the alphabet itself
 * before decoding, so a key with a stray byte is refused, not misread.
 */
#ifndef COVE_CRYPTO_B64_H
#define COVE_CRYPTO_B64_H

#include <stddef.h>
#include <stdint.h>

/* Decodes exactly len characters of padded standard base64 into out
 * (capacity cap); *out_len receives the byte count. Returns 0 or
 * COVE_ERR_BASE64 (a character outside the alphabet, bad padding, or
 * more than cap bytes). */
int cove_b64_decode(uint8_t *out, size_t cap, const char *s, size_t len, size_t *out_len);

#endif
