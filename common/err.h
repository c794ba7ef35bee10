/*
 * err.h - the one error space shared by every Cove library layer.
 *
 * Library functions return 0 (COVE_OK) or one of these negative values;
 * they never print. A program's main turns a value into words with
 * cove_strerror() and decides what the user sees.
 */
#ifndef COVE_COMMON_ERR_H
#define COVE_COMMON_ERR_H

enum cove_err {
	COVE_OK = 0,
	COVE_ERR_NOMEM = -1,          /* an allocation failed */
	COVE_ERR_IO = -2,             /* a system call failed; errno says why */
	COVE_ERR_INVAL = -3,          /* an argument is out of its documented range */
	COVE_ERR_SPACE = -4,          /* the caller's output buffer is too small */
	COVE_ERR_FRAME_SIZE = -5,     /* a length prefix is 0 or above the maximum */
	COVE_ERR_MSGPACK = -6,        /* bytes are not one well-formed msgpack value */
	COVE_ERR_TRAILING = -7,       /* bytes follow the msgpack value */
	COVE_ERR_DEPTH = -8,          /* msgpack nesting deeper than allowed */
	COVE_ERR_FIELD = -9,          /* a field has the wrong type or size */
	COVE_ERR_VERSION = -10,       /* unsupported protocol or file version */
	COVE_ERR_TYPE = -11,          /* unknown frame or message type */
	COVE_ERR_SIGNATURE = -12,     /* an Ed25519 signature does not verify */
	COVE_ERR_DECRYPT = -13,       /* AEAD authentication failed */
	COVE_ERR_BASE64 = -14,        /* not base64 of the expected length */
	COVE_ERR_KEYFILE = -15,       /* key file is corrupt or not a Cove key */
	COVE_ERR_PASSPHRASE = -16,    /* wrong passphrase for an encrypted key */
	COVE_ERR_PERMS = -17,         /* secret key file readable by group/others */
	COVE_ERR_SYNTAX = -18,        /* whitelist syntax error (see cove_wl_diag) */
	COVE_ERR_EXISTS = -19,        /* name, key or file already exists */
	COVE_ERR_NOTFOUND = -20,      /* no such name or entry */
	COVE_ERR_PADDING = -21,       /* padding is malformed */
	COVE_ERR_NO_AES = -22,        /* CPU lacks AES-NI/PCLMUL: AES-256-GCM unavailable */
	COVE_ERR_STATE = -23,         /* a message arrived that the protocol state does not allow */
	COVE_ERR_PEER_KEY = -24,      /* the peer's identity is not the pinned key */
	COVE_ERR_LIMIT = -25,         /* a counter or quota is exhausted */
	COVE_ERR_UTF8 = -26,          /* text is not valid UTF-8 */
	COVE_ERR_NEED_PASSPHRASE = -27, /* key is encrypted and no passphrase was given */
	COVE_ERR_SODIUM = -28,        /* sodium_init() failed */
	COVE_ERR_KEY_COMMIT = -29,    /* a sealed key opened, but is not the key its kid names */
	COVE_ERR_BAD_KEY = -30,       /* 32 bytes that are no usable Ed25519 public key */
	COVE_ERR_KEY_MISMATCH = -31,  /* a stored public key is not the secret key's own */
	COVE_ERR_STORE_FORMAT = -32,  /* a file is not a Cove store, or is corrupt */
	COVE_ERR_FULL = -33,          /* no space left on the device (or under the store's cap) */
	COVE_ERR_BUSY = -34,          /* a file is in use by another process */
	COVE_ERR_TIMEOUT = -35,       /* the peer did not answer in time */
};

/* Returns a static, lower-case English description of a cove_err value. */
const char *cove_strerror(int err);

#endif
