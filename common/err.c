#include "common/err.h"

const char *cove_strerror(int err)
{
	switch ((enum cove_err)err) {
	case COVE_OK: return "success";
	case COVE_ERR_NOMEM: return "out of memory";
	case COVE_ERR_IO: return "input/output error";
	case COVE_ERR_INVAL: return "invalid argument";
	case COVE_ERR_SPACE: return "output buffer too small";
	case COVE_ERR_FRAME_SIZE: return "frame length is zero or above the maximum";
	case COVE_ERR_MSGPACK: return "malformed msgpack";
	case COVE_ERR_TRAILING: return "trailing bytes after the msgpack value";
	case COVE_ERR_DEPTH: return "msgpack nested too deeply";
	case COVE_ERR_FIELD: return "a field has the wrong type or size";
	case COVE_ERR_VERSION: return "unsupported version";
	case COVE_ERR_TYPE: return "unknown frame type";
	case COVE_ERR_SIGNATURE: return "bad signature";
	case COVE_ERR_DECRYPT: return "authentication failed (corrupted or tampered data)";
	case COVE_ERR_BASE64: return "not a base64-encoded 32-byte key";
	case COVE_ERR_KEYFILE: return "not a valid Cove key file";
	case COVE_ERR_PASSPHRASE: return "wrong passphrase";
	case COVE_ERR_PERMS: return "secret key file is accessible by group or others";
	case COVE_ERR_SYNTAX: return "syntax error";
	case COVE_ERR_EXISTS: return "already exists";
	case COVE_ERR_NOTFOUND: return "not found";
	case COVE_ERR_PADDING: return "malformed padding";
	case COVE_ERR_NO_AES: return "AES-256-GCM is not available on this CPU (needs AES-NI and PCLMULQDQ)";
	case COVE_ERR_STATE: return "unexpected message for the protocol state";
	case COVE_ERR_PEER_KEY: return "peer identity does not match the pinned key";
	case COVE_ERR_LIMIT: return "limit reached";
	case COVE_ERR_UTF8: return "text is not valid UTF-8";
	case COVE_ERR_NEED_PASSPHRASE: return "key is encrypted and no passphrase was given";
	case COVE_ERR_SODIUM: return "libsodium failed to initialise";
	case COVE_ERR_KEY_COMMIT: return "the key opened is not the one its key id commits to";
	case COVE_ERR_BAD_KEY:
		return "not a usable Ed25519 public key (not a canonical curve point, or of small order)";
	case COVE_ERR_KEY_MISMATCH: return "the public key does not belong to the secret key";
	case COVE_ERR_STORE_FORMAT: return "file is not a Cove store, or is corrupt";
	case COVE_ERR_FULL: return "no space left on the device";
	case COVE_ERR_BUSY: return "the file is in use by another process";
	case COVE_ERR_TIMEOUT: return "the peer did not answer in time";
	}
	return "unknown error";
}
