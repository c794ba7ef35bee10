/*
 * sizes.h - byte sizes of every key, signature and tag Cove uses.
 *
 * Each is checked against the libsodium constant it mirrors, so a
 * libsodium that disagreed would fail to compile rather than misbehave.
 */
#ifndef COVE_CRYPTO_SIZES_H
#define COVE_CRYPTO_SIZES_H

#include <sodium.h>

#define COVE_PK_LEN 32          /* Ed25519 public key (an identity) */
#define COVE_SEED_LEN 32        /* Ed25519 seed: what a key file protects */
#define COVE_SK_LEN 64          /* Ed25519 secret key as libsodium keeps it */
#define COVE_SIG_LEN 64         /* Ed25519 signature */
#define COVE_XPK_LEN 32         /* X25519 public key (sessions, sealing) */
#define COVE_XSK_LEN 32         /* X25519 secret key */
#define COVE_GK_LEN 32          /* group key of a room (AES-256) */
#define COVE_DATKEY_LEN 32      /* per-sender, per-session DAT key */
#define COVE_GCM_NONCE_LEN 12   /* AES-256-GCM nonce */
#define COVE_GCM_TAG_LEN 16     /* AES-256-GCM tag */
#define COVE_SEAL_OVERHEAD 48   /* crypto_box_seal: ephemeral pk + MAC */
#define COVE_SEALED_GK_LEN (COVE_GK_LEN + COVE_SEAL_OVERHEAD)
#define COVE_SID_LEN 16         /* random session id carried in DAT */
#define COVE_LINK_KEY_LEN 32    /* ChaCha20-Poly1305 link key, one per direction */
#define COVE_LINK_TAG_LEN 16
#define COVE_HS_NONCE_LEN 32    /* handshake challenge */
#define COVE_PK_B64_LEN 44      /* standard base64 of 32 bytes, with padding */
#define COVE_FP_LEN 39          /* "xxxx xxxx ... xxxx": 8 groups of 4 hex digits */

_Static_assert(COVE_PK_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 pk size");
_Static_assert(COVE_SEED_LEN == crypto_sign_SEEDBYTES, "Ed25519 seed size");
_Static_assert(COVE_SK_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 sk size");
_Static_assert(COVE_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(COVE_XPK_LEN == crypto_box_PUBLICKEYBYTES, "X25519 pk size");
_Static_assert(COVE_XSK_LEN == crypto_box_SECRETKEYBYTES, "X25519 sk size");
_Static_assert(COVE_XPK_LEN == crypto_kx_PUBLICKEYBYTES, "kx pk size");
_Static_assert(COVE_XSK_LEN == crypto_kx_SECRETKEYBYTES, "kx sk size");
_Static_assert(COVE_GK_LEN == crypto_aead_aes256gcm_KEYBYTES, "AES-256 key size");
_Static_assert(COVE_DATKEY_LEN == crypto_aead_aes256gcm_KEYBYTES, "DAT key size");
_Static_assert(COVE_GCM_NONCE_LEN == crypto_aead_aes256gcm_NPUBBYTES, "GCM nonce size");
_Static_assert(COVE_GCM_TAG_LEN == crypto_aead_aes256gcm_ABYTES, "GCM tag size");
_Static_assert(COVE_SEAL_OVERHEAD == crypto_box_SEALBYTES, "sealed box overhead");
_Static_assert(COVE_LINK_KEY_LEN == crypto_kx_SESSIONKEYBYTES, "kx session key size");
_Static_assert(COVE_LINK_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "link key size");
_Static_assert(COVE_LINK_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "link tag size");

#endif
