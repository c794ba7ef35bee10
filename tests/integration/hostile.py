"""A Cove client written for attacking the relay, in plain Python.

It speaks the protocol itself (docs/PROTOCOL.md; wire/frame.h where the
document lags), so that a test can send what no well-behaved node ever
sends: frames with any field values, correctly signed or not, arbitrary
plaintext inside a correctly encrypted record, or arbitrary bytes on the
socket before or after the handshake. What comes back is decrypted,
decoded by a strict msgpack reader, and checked.

Only the standard library and libsodium (through ctypes) are used:

    sodium      the few libsodium functions Cove needs
    pack/unpack a small msgpack writer (with Raw and fixed-width ints for
                hostile encodings) and a strict reader
    Frame code  encode_frame, decode_frame, signed_bytes: frames as dicts
    Records     link_pad/link_unpad: every record's plaintext is the frame
                padded to its size class (640 bytes, or Padme above)
    Identity    an Ed25519 key from a seed or a Cove key file
    Client      one connection: handshake, records, frames, rooms

A frame is a dict: {"type": DAT, "room": "lobby", "from": b"...", "seq":
..., "ts": ..., "epoch": 0, ...}; decode_frame() adds "name" (e.g. "DAT")
and "raw" (the msgpack bytes).
"""

import base64
import collections
import ctypes
import ctypes.util
import socket
import struct
import threading
import time

# ---------------------------------------------------------------------------
# libsodium
# ---------------------------------------------------------------------------


class Sodium:
    """The libsodium functions Cove uses, on bytes."""

    def __init__(self):
        path = ctypes.util.find_library("sodium")
        if not path:
            raise RuntimeError("libsodium not found (apt-get install libsodium23)")
        self.lib = lib = ctypes.CDLL(path)
        if lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")
        ull, p = ctypes.c_ulonglong, ctypes.c_char_p
        lib.crypto_sign_detached.argtypes = [p, ctypes.c_void_p, p, ull, p]
        lib.crypto_sign_verify_detached.argtypes = [p, p, ull, p]
        lib.crypto_box_seal.argtypes = [p, p, ull, p]
        lib.crypto_box_seal_open.argtypes = [p, p, ull, p, p]
        for name in ("chacha20poly1305_ietf", "aes256gcm"):
            getattr(lib, "crypto_aead_%s_encrypt" % name).argtypes = [
                p, ctypes.POINTER(ull), p, ull, p, ull, ctypes.c_void_p, p, p]
            getattr(lib, "crypto_aead_%s_decrypt" % name).argtypes = [
                p, ctypes.POINTER(ull), ctypes.c_void_p, p, ull, p, ull, p, p]
        lib.crypto_generichash.argtypes = [p, ctypes.c_size_t, p, ull, p, ctypes.c_size_t]
        lib.randombytes_buf.argtypes = [p, ctypes.c_size_t]

    @staticmethod
    def _buf(n):
        return ctypes.create_string_buffer(n)

    def random(self, n):
        b = self._buf(n)
        self.lib.randombytes_buf(b, n)
        return b.raw

    def sign_seed_keypair(self, seed):
        """(public key 32, secret key 64) of an Ed25519 seed."""
        assert len(seed) == 32
        pk, sk = self._buf(32), self._buf(64)
        self.lib.crypto_sign_seed_keypair(pk, sk, seed)
        return pk.raw, sk.raw

    def sign(self, msg, sk):
        sig = self._buf(64)
        self.lib.crypto_sign_detached(sig, None, msg, len(msg), sk)
        return sig.raw

    def verify(self, sig, msg, pk):
        if len(sig) != 64 or len(pk) != 32:
            return False
        return self.lib.crypto_sign_verify_detached(sig, msg, len(msg), pk) == 0

    def kx_keypair(self):
        pk, sk = self._buf(32), self._buf(32)
        self.lib.crypto_kx_keypair(pk, sk)
        return pk.raw, sk.raw

    def kx_client_session_keys(self, client_pk, client_sk, server_pk):
        """(rx, tx) of the client."""
        rx, tx = self._buf(32), self._buf(32)
        if self.lib.crypto_kx_client_session_keys(rx, tx, client_pk, client_sk, server_pk) != 0:
            raise ValueError("the server's ephemeral key is weak")
        return rx.raw, tx.raw

    def box_keypair(self):
        pk, sk = self._buf(32), self._buf(32)
        self.lib.crypto_box_keypair(pk, sk)
        return pk.raw, sk.raw

    def box_seal(self, msg, pk):
        out = self._buf(len(msg) + 48)
        self.lib.crypto_box_seal(out, msg, len(msg), pk)
        return out.raw

    def box_seal_open(self, sealed, pk, sk):
        """The plaintext, or None when it does not open."""
        if len(sealed) < 48:
            return None
        out = self._buf(len(sealed) - 48)
        if self.lib.crypto_box_seal_open(out, sealed, len(sealed), pk, sk) != 0:
            return None
        return out.raw

    def _aead(self, name, encrypt, data, ad, nonce, key):
        fn = getattr(self.lib, "crypto_aead_%s_%s" % (name, "encrypt" if encrypt else "decrypt"))
        out = self._buf(len(data) + 16)
        n = ctypes.c_ulonglong(0)
        if encrypt:
            rc = fn(out, ctypes.byref(n), data, len(data), ad, len(ad), None, nonce, key)
        else:
            rc = fn(out, ctypes.byref(n), None, data, len(data), ad, len(ad), nonce, key)
        return out.raw[:n.value] if rc == 0 else None

    def chacha_encrypt(self, pt, ad, nonce, key):
        return self._aead("chacha20poly1305_ietf", True, pt, ad, nonce, key)

    def chacha_decrypt(self, ct, ad, nonce, key):
        """The plaintext, or None when authentication fails."""
        return self._aead("chacha20poly1305_ietf", False, ct, ad, nonce, key)

    def gcm_encrypt(self, pt, ad, nonce, key):
        if not self.lib.crypto_aead_aes256gcm_is_available():
            raise RuntimeError("AES-256-GCM is not available on this CPU")
        return self._aead("aes256gcm", True, pt, ad, nonce, key)

    def gcm_decrypt(self, ct, ad, nonce, key):
        return self._aead("aes256gcm", False, ct, ad, nonce, key)

    def blake2b(self, msg, outlen, key=b""):
        out = self._buf(outlen)
        self.lib.crypto_generichash(out, outlen, msg, len(msg), key or None, len(key))
        return out.raw


sodium = Sodium()

# ---------------------------------------------------------------------------
# msgpack: a writer that can lie, a reader that does not believe
# ---------------------------------------------------------------------------


class MsgpackError(ValueError):
    """Bytes that are not exactly one acceptable msgpack value."""


Ext = collections.namedtuple("Ext", "code data")


class Raw(bytes):
    """Bytes that pack() copies as they are: any encoding, right or wrong."""


class U32(int):
    """An integer pack() writes as uint32 (ce + 4 bytes), as Cove's encoder does."""


class U64(int):
    """An integer pack() writes as uint64 (cf + 8 bytes)."""


def pack(v):
    """The msgpack bytes of v: None, bool, int (U32/U64 at fixed width),
    float, bytes (bin), str, list/tuple, dict, Ext, or Raw (copied)."""
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\xc0"
    if v is True or v is False:
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, U64):
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, U32):
        return b"\xce" + struct.pack(">I", v)
    if isinstance(v, int):
        if 0 <= v <= 0x7F or -32 <= v < 0:
            return struct.pack(">b" if v < 0 else ">B", v)
        for code, fmt in ((0xCC, ">B"), (0xCD, ">H"), (0xCE, ">I"), (0xCF, ">Q")) if v > 0 else \
                ((0xD0, ">b"), (0xD1, ">h"), (0xD2, ">i"), (0xD3, ">q")):
            try:
                return bytes([code]) + struct.pack(fmt, v)
            except struct.error:
                continue
        raise ValueError("integer out of msgpack's range: %d" % v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        h = bytes([0xC4, n]) if n <= 0xFF else (b"\xc5" + struct.pack(">H", n) if n <= 0xFFFF
                                                else b"\xc6" + struct.pack(">I", n))
        return h + bytes(v)
    if isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        n = len(b)
        if n <= 31:
            h = bytes([0xA0 | n])
        elif n <= 0xFF:
            h = bytes([0xD9, n])
        elif n <= 0xFFFF:
            h = b"\xda" + struct.pack(">H", n)
        else:
            h = b"\xdb" + struct.pack(">I", n)
        return h + b
    if isinstance(v, Ext):
        return b"\xc7" + struct.pack(">Bb", len(v.data), v.code) + v.data
    if isinstance(v, (list, tuple)):
        n = len(v)
        h = bytes([0x90 | n]) if n <= 15 else (b"\xdc" + struct.pack(">H", n) if n <= 0xFFFF
                                               else b"\xdd" + struct.pack(">I", n))
        return h + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        n = len(v)
        h = bytes([0x80 | n]) if n <= 15 else b"\xde" + struct.pack(">H", n)
        return h + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError("cannot pack %r" % type(v))


def _take(buf, pos, n):
    # Checked before slicing, as a C reader must check before allocating.
    if n > len(buf) - pos:
        raise MsgpackError("a length of %d where %d bytes remain" % (n, len(buf) - pos))
    return buf[pos:pos + n], pos + n


_FIXED = {0xCC: (1, ">B"), 0xCD: (2, ">H"), 0xCE: (4, ">I"), 0xCF: (8, ">Q"),
          0xD0: (1, ">b"), 0xD1: (2, ">h"), 0xD2: (4, ">i"), 0xD3: (8, ">q"),
          0xCA: (4, ">f"), 0xCB: (8, ">d")}


def _read(buf, pos, depth):
    b, pos = _take(buf, pos, 1)
    t = b[0]
    if t <= 0x7F:
        return t, pos
    if t >= 0xE0:
        return t - 0x100, pos
    if t in _FIXED:
        n, fmt = _FIXED[t]
        s, pos = _take(buf, pos, n)
        return struct.unpack(fmt, s)[0], pos
    if t == 0xC0:
        return None, pos
    if t in (0xC2, 0xC3):
        return t == 0xC3, pos
    if 0xA0 <= t <= 0xBF or t in (0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6):
        if 0xA0 <= t <= 0xBF:
            n = t & 0x1F
        else:
            hl = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}[t]
            h, pos = _take(buf, pos, hl)
            n = int.from_bytes(h, "big")
        s, pos = _take(buf, pos, n)
        return (bytes(s) if t in (0xC4, 0xC5, 0xC6) else
                bytes(s).decode("utf-8", "surrogateescape")), pos
    if t in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xC7, 0xC8, 0xC9):
        if t <= 0xD8:
            n = 1 << (t - 0xD4)
        else:
            h, pos = _take(buf, pos, {0xC7: 1, 0xC8: 2, 0xC9: 4}[t])
            n = int.from_bytes(h, "big")
        c, pos = _take(buf, pos, 1)
        s, pos = _take(buf, pos, n)
        return Ext(struct.unpack(">b", c)[0], bytes(s)), pos
    is_map = 0x80 <= t <= 0x8F or t in (0xDE, 0xDF)
    if is_map or 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
        if t in (0xDC, 0xDD, 0xDE, 0xDF):
            h, pos = _take(buf, pos, 2 if t in (0xDC, 0xDE) else 4)
            n = int.from_bytes(h, "big")
        else:
            n = t & 0x0F
        if depth <= 0:
            raise MsgpackError("nested too deeply")
        # every element takes at least one byte: refuse a count that
        # cannot fit before building anything for it
        if n * (2 if is_map else 1) > len(buf) - pos:
            raise MsgpackError("a count of %d where %d bytes remain" % (n, len(buf) - pos))
        items = []
        for _ in range(n * (2 if is_map else 1)):
            x, pos = _read(buf, pos, depth - 1)
            items.append(x)
        if is_map:
            return dict(zip(items[0::2], items[1::2])), pos
        return items, pos
    raise MsgpackError("byte 0x%02x is never used" % t)


def unpack(buf, max_depth=8):
    """Exactly one msgpack value from buf; arrays and maps nest at most
    max_depth deep. bin is bytes, str is str. Raises MsgpackError."""
    v, pos = _read(bytes(buf), 0, max_depth)
    if pos != len(buf):
        raise MsgpackError("%d trailing bytes" % (len(buf) - pos))
    return v


# ---------------------------------------------------------------------------
# Frames (wire/frame.h)
# ---------------------------------------------------------------------------

INI, KEY, DAT, ERR, ASK, BYE, WLC, RDY, RKY, REK, PING, PONG = range(1, 13)
HELLO, CHALLENGE, SRV_AUTH, CLI_AUTH, VERSION = range(16, 21)
NAMES = {INI: "INI", KEY: "KEY", DAT: "DAT", ERR: "ERR", ASK: "ASK", BYE: "BYE", WLC: "WLC",
         RDY: "RDY", RKY: "RKY", REK: "REK", PING: "PING", PONG: "PONG", HELLO: "HELLO",
         CHALLENGE: "CHALLENGE", SRV_AUTH: "SRV_AUTH", CLI_AUTH: "CLI_AUTH", VERSION: "VERSION"}

# ERR codes, as the relay's stats line names them (refused.<name>=N)
CODES = {1: "bad_frame", 2: "bad_signature", 3: "not_whitelisted", 4: "wrong_sender",
         5: "not_member", 6: "already_joined", 7: "wrong_direction", 8: "replay", 9: "limit",
         10: "no_key", 11: "shutdown", 12: "revoked", 13: "replaced", 14: "rate_limited",
         15: "stale_epoch"}
globals().update({"E_" + n.upper(): c for c, n in CODES.items()})

PROTOCOL_VERSION = 2   # what this client speaks unless told otherwise

FRAME_MAX = 65536
LINK_PAD_MIN = 640                 # the smallest record plaintext (docs/PROTOCOL.md 2)
LINK_PAD_MAX = 67584               # the padded size of a FRAME_MAX frame
RECORD_MIN = LINK_PAD_MIN + 16     # L of every control frame's record
RECORD_MAX = LINK_PAD_MAX + 16
HS_FRAME_MAX = 128
KID_LEN = 32

# Field kinds: an int is a bin of exactly that size; "bin" is 1+ bytes;
# "u32"/"u64" unsigned integers; "room" and "text" strings.
_HEAD = [("room", "room"), ("from", 32), ("seq", "u64"), ("ts", "u64")]
_SIGNED = {
    INI: [("xpk", 32)],
    KEY: [("to", 32), ("xpk", 32), ("epoch", "u32"), ("sealed", 80), ("kid", KID_LEN),
          ("view", 16)],
    DAT: [("epoch", "u32"), ("sid", 16), ("n", "u64"), ("kid", KID_LEN), ("ct", "bin")],
    ERR: [("code", "u32"), ("ref", "u64"), ("text", "text")],
    ASK: [("to", 32), ("joiner", 32), ("xpk", 32)],
    BYE: [("who", 32)],
    WLC: [("you", 32), ("rate", "u32"), ("burst", "u32")],
    RDY: [("epoch", "u32")],
    RKY: [("epoch", "u32")],
    REK: [("to", 32), ("epoch", "u32")],
}
_UNSIGNED = {
    PING: [("n", "u64")], PONG: [("n", "u64")],
    HELLO: [("eph", 32), ("nonce", 32)], CHALLENGE: [("eph", 32), ("nonce", 32)],
    SRV_AUTH: [("id", 32), ("sig", 64)], CLI_AUTH: [("id", 32), ("sig", 64)],
    VERSION: [],
}


def schema(ftype):
    """The (name, kind) list of a frame type's elements after version and
    type; KeyError for an unknown type."""
    if ftype in _SIGNED:
        return _HEAD + _SIGNED[ftype] + [("sig", 64)]
    return _UNSIGNED[ftype]


def _room_bytes(room):
    return room.encode("utf-8", "surrogateescape") if isinstance(room, str) else bytes(room)


def encode_frame(f):
    """The msgpack bytes of frame dict f, laid out as Cove's encoder does
    (fixarray, uint64 seq/ts/n/ref, uint32 epoch/code). Values are packed
    as they are, so a test may put any value (Raw, None, a short bin) in
    any field; f["version"] defaults to PROTOCOL_VERSION (2)."""
    items = [f.get("version", PROTOCOL_VERSION), f["type"]]
    for name, kind in schema(f["type"]):
        v = f[name]
        if type(v) is int and kind == "u32" and 0 <= v < 1 << 32:
            v = U32(v)
        elif type(v) is int and kind == "u64" and 0 <= v < 1 << 64:
            v = U64(v)      # other ints (negative, too large) packed as they are
        elif kind in ("room", "text") and isinstance(v, (bytes, bytearray)) and \
                not isinstance(v, Raw):
            v = _str_bytes(v)   # a str of exactly these bytes, UTF-8 or not
        items.append(v)
    return pack(items)


def _str_bytes(b):
    """A msgpack str holding exactly the bytes b (which may not be UTF-8)."""
    n = len(b)
    h = bytes([0xA0 | n]) if n <= 31 else (bytes([0xD9, n]) if n <= 0xFF
                                           else b"\xda" + struct.pack(">H", n))
    return Raw(h + bytes(b))


def signed_bytes(f):
    """What a signed frame's signature covers (docs/PROTOCOL.md 3.1, with
    the fields wire/frame.c adds): rebuilt from the fields, not the bytes.
    The version byte is the frame's (PROTOCOL_VERSION unless set)."""
    t = f["type"]
    room = _room_bytes(f["room"])
    version = f.get("version", PROTOCOL_VERSION)
    version = version if type(version) is int and 0 <= version <= 255 else PROTOCOL_VERSION
    out = (b"COVE-FRAME-V1\0" + bytes([version, t, len(room)]) + room + f["from"] +
           struct.pack(">QQ", f["seq"], f["ts"]))
    if t == INI:
        out += f["xpk"]
    elif t == KEY:
        out += (f["to"] + f["xpk"] + struct.pack(">I", f["epoch"]) + f["sealed"] + f["kid"] +
                f["view"])
    elif t == DAT:
        out += dat_ad_tail(f) + struct.pack(">I", len(f["ct"])) + f["ct"]
    elif t == ERR:
        text = _room_bytes(f["text"])
        out += struct.pack(">IQH", f["code"], f["ref"], len(text)) + text
    elif t == ASK:
        out += f["to"] + f["joiner"] + f["xpk"]
    elif t == BYE:
        out += f["who"]
    elif t == WLC:
        out += f["you"] + struct.pack(">II", f["rate"], f["burst"])
    elif t in (RDY, RKY):
        out += struct.pack(">I", f["epoch"])
    elif t == REK:
        out += f["to"] + struct.pack(">I", f["epoch"])
    else:
        raise ValueError("type %d is not signed" % t)
    return out


def dat_ad_tail(f):
    return struct.pack(">I", f["epoch"]) + f["sid"] + struct.pack(">Q", f["n"]) + f["kid"]


def dat_ad(f):
    """A DAT's AES-GCM associated data: its signed bytes up to kid."""
    g = dict(f, ct=b"")
    return signed_bytes(g)[:-4]


def decode_frame(buf):
    """A frame dict from msgpack bytes, as strictly as the relay decodes:
    one flat array, version 2, a known type, the type's element count,
    every field of its type and size, nothing trailing. Adds "name" and
    "raw". Raises MsgpackError or ValueError."""
    items = unpack(buf, max_depth=1)
    if not isinstance(items, list) or len(items) < 2:
        raise ValueError("not an array of at least 2 elements")
    for x in items[:2]:
        if type(x) is not int or x < 0:
            raise ValueError("version or type is not an unsigned integer")
    version, ftype = items[0], items[1]
    if version != PROTOCOL_VERSION and ftype != VERSION:
        raise ValueError("version %d" % version)
    try:
        fields = schema(ftype)
    except KeyError:
        raise ValueError("unknown frame type %d" % ftype) from None
    if len(items) != 2 + len(fields):
        raise ValueError("%s with %d elements" % (NAMES[ftype], len(items)))
    f = {"version": version, "type": ftype, "name": NAMES[ftype], "raw": bytes(buf)}
    for (name, kind), v in zip(fields, items[2:]):
        if kind in ("u32", "u64"):
            ok = type(v) is int and 0 <= v < (1 << (32 if kind == "u32" else 64))
        elif kind == "bin":
            ok = isinstance(v, bytes) and len(v) > 0
        elif isinstance(kind, int):
            ok = isinstance(v, bytes) and len(v) == kind
        elif kind == "text":
            ok = isinstance(v, str) and len(_room_bytes(v)) <= 256
        else:  # room
            b = _room_bytes(v) if isinstance(v, str) else None
            ok = b is not None and len(b) <= 64 and all(0x21 <= c <= 0x7E for c in b) and \
                (len(b) > 0 or ftype in (ERR, WLC))
        if not ok:
            raise ValueError("%s: field %s is not a valid %s: %r" % (NAMES[ftype], name, kind, v))
        f[name] = v
    return f


# ---------------------------------------------------------------------------
# Cove's derivations (crypto/group.c, crypto/pad.c, wire/payload.c)
# ---------------------------------------------------------------------------

def dat_key(gk, room, sender, epoch, sid):
    room = _room_bytes(room)
    return sodium.blake2b(b"COVE-DAT-KEY-V1\0" + bytes([len(room)]) + room + sender +
                          struct.pack(">I", epoch) + sid, 32, key=gk)


def key_id(gk, epoch):
    """The key id of DAT and KEY: BLAKE2b-256 keyed with the group key, a
    commitment to it (docs/PROTOCOL.md 6.4)."""
    return sodium.blake2b(b"COVE-KID-V2\0" + struct.pack(">I", epoch), KID_LEN, key=gk)


def view_hash(epoch, ids):
    return sodium.blake2b(b"COVE-VIEW-V1\0" + struct.pack(">I", epoch) +
                          b"".join(sorted(set(ids))), 16)


def pad_size(n):
    """The padded size of an n-byte payload: 256, or Padmé above."""
    if n + 1 <= 256:
        return 256
    L = n + 1
    e = L.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (L + mask) & ~mask


def _padme(L):
    e = L.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (L + mask) & ~mask


def link_pad_size(n):
    """The padded size of an n-byte frame in a record (docs/PROTOCOL.md 2):
    640 when n + 1 fits, Padme(n + 1) above; None for no frame or one
    above FRAME_MAX."""
    if not 1 <= n <= FRAME_MAX:
        return None
    return LINK_PAD_MIN if n + 1 <= LINK_PAD_MIN else _padme(n + 1)


def link_pad(frame_bytes):
    """A record's plaintext: the frame, 0x80, zeros to its size class."""
    size = link_pad_size(len(frame_bytes))
    if size is None:
        raise ValueError("no record holds a frame of %d bytes" % len(frame_bytes))
    return bytes(frame_bytes) + b"\x80" + bytes(size - len(frame_bytes) - 1)


def link_unpad(plain):
    """The frame of a record's plaintext; ValueError unless the padding is
    exactly the one of its size class."""
    body = bytes(plain).rstrip(b"\0")
    if not body or body[-1] != 0x80 or link_pad_size(len(body) - 1) != len(plain):
        raise ValueError("a record of %d bytes is not padded to its class" % len(plain))
    return body[:-1]


def text_payload(text):
    """The padded TEXT payload [1, text]."""
    pl = pack([1, text])
    return pl + b"\x80" + bytes(pad_size(len(pl)) - len(pl) - 1)


# ---------------------------------------------------------------------------
# Identities and key files (crypto/keyfile.h)
# ---------------------------------------------------------------------------

class Identity:
    """An Ed25519 identity: seed, pk, sk."""

    def __init__(self, seed):
        self.seed = bytes(seed)
        self.pk, self.sk = sodium.sign_seed_keypair(self.seed)

    @classmethod
    def from_keyfile(cls, path):
        """Reads an unencrypted Cove secret key file: a comment line, then
        base64 of "CVSK" || 1 || kdf 0 || aead 0 || 0 || ... || pk || seed."""
        with open(path) as fh:
            lines = fh.read().splitlines()
        rec = base64.b64decode(lines[1].strip(), validate=True)
        if len(rec) != 128 or rec[:5] != b"CVSK\x01" or rec[5:7] != b"\0\0":
            raise ValueError("%s is not an unencrypted Cove key file" % path)
        ident = cls(rec[96:128])
        if ident.pk != rec[64:96]:
            raise ValueError("%s: the seed does not match the public key" % path)
        return ident

    @classmethod
    def random(cls):
        return cls(sodium.random(32))

    def sign(self, msg):
        return sodium.sign(msg, self.sk)

    @property
    def b64(self):
        return base64.b64encode(self.pk).decode()


def now_ms():
    return int(time.time() * 1000)


def sign_frame(f, ident):
    """Signs f in place as ident (f["from"] is left as it is) and returns it."""
    f["sig"] = ident.sign(signed_bytes(f))
    return f


# ---------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------

class Closed(Exception):
    """The relay closed the connection."""


class VersionRefused(Exception):
    """The relay answered HELLO with VERSION [v, 20]: it speaks only v."""

    def __init__(self, version):
        super().__init__("the relay speaks only protocol version %d" % version)
        self.version = version


class Room:
    """What the client knows of one room it joined."""

    def __init__(self, name):
        self.name = name
        self.xpk, self.xsk = sodium.box_keypair()
        self.gk = None
        self.epoch = 0
        self.sid = sodium.random(16)
        self.n = 0
        self.first = None
        self.members = set()     # identities whose INI we saw
        self.send_rdy = True
        self.ready = threading.Event()
        self.refused_keys = []   # KEYs whose kid does not commit to the key inside


class Client:
    """One connection to a relay, as identity ident, pinning relay_pk.

    Sending: send_bytes() puts anything on the socket; seal() turns a
    plaintext into the next record (u32be L || ChaCha20-Poly1305); send()
    encrypts and sends plaintexts or frame dicts. Frames are built with
    frame() (header filled, signed) and sent with send().

    Receiving runs on a thread once the handshake is done: every frame is
    decrypted, decoded strictly and kept in self.inbox, in order. The
    thread answers PING with PONG, and, in rooms the client has joined,
    acts as a member would: makes the group key when told it is first,
    opens a KEY sealed to it, sends RDY, answers ASK with a KEY.
    """

    def __init__(self, host, port, relay_pk, ident, timeout=20.0, write_chunk=None,
                 write_delay=0.0, version=PROTOCOL_VERSION):
        self.addr = (host, port)
        self.version = version              # in HELLO and the transcript
        self.write_chunk = write_chunk      # split every write into pieces this big
        self.write_delay = write_delay      # seconds between the pieces
        self.relay_pk = relay_pk if isinstance(relay_pk, bytes) else base64.b64decode(relay_pk)
        self.ident = ident
        self.timeout = timeout
        self.sock = None
        self.rx = self.tx = None
        self.rx_n = self.tx_n = 0
        self.seq = time.time_ns() // 1000
        self.lock = threading.RLock()       # the socket's send side and tx_n
        self.cond = threading.Condition()   # inbox, eof
        self.inbox = []
        self.bad = []                       # records that did not decrypt or decode
        self.record_lengths = []            # L of every record received
        self.eof = False
        self.rooms = {}
        self.auto = True
        self.reader = None

    @classmethod
    def for_relay(cls, relay, ident, **kw):
        """A client of a cove.Relay (which has host, port and pub)."""
        return cls(relay.host, relay.port, relay.pub, ident, **kw)

    # ---- bytes -------------------------------------------------------------

    def connect(self):
        self.sock = socket.create_connection(self.addr, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send_bytes(self, data, chunk=None, delay=None):
        """Writes data to the socket as it is, in pieces of chunk bytes with
        delay seconds between them when asked (by default as the client was
        made). Returns False when the relay has closed the connection."""
        chunk = chunk or self.write_chunk
        delay = self.write_delay if delay is None else delay
        try:
            with self.lock:
                if not chunk:
                    self.sock.sendall(data)
                    return True
                for i in range(0, len(data), chunk):
                    self.sock.sendall(data[i:i + chunk])
                    if delay:
                        time.sleep(delay)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_clear(self, frame_bytes):
        """A handshake record: u32be length || the bytes in the clear."""
        self.send_bytes(struct.pack(">I", len(frame_bytes)) + frame_bytes)

    def seal(self, plaintext, pad=True):
        """The next record for plaintext: u32be L || ChaCha20-Poly1305 under
        the client's tx key, nonce 0^4 || u64be counter, associated data
        the four bytes of L. The plaintext is padded to its size class
        first (link_pad), unless pad is False or it is empty or longer than
        a frame (which no padding holds): then it goes as it is, which the
        relay refuses. Call with self.lock held if other threads send."""
        if pad and link_pad_size(len(plaintext)) is not None:
            plaintext = link_pad(plaintext)
        hdr = struct.pack(">I", len(plaintext) + 16)
        ct = sodium.chacha_encrypt(plaintext, hdr, b"\0" * 4 + struct.pack(">Q", self.tx_n),
                                   self.tx)
        self.tx_n += 1
        return hdr + ct

    def send(self, *items, chunk=None, delay=None, pad=True):
        """Encrypts each item (a frame dict, or frame bytes) as one padded
        record and writes them all in one go (or in chunks). With
        pad=False bytes items are the records' whole plaintexts."""
        with self.lock:  # records must leave in the order of their counters
            wire = b"".join(self.seal(encode_frame(x) if isinstance(x, dict) else x,
                                      pad=pad or isinstance(x, dict))
                            for x in items)
            return self.send_bytes(wire, chunk=chunk, delay=delay)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise
            except OSError:  # reset, or closed by close()
                chunk = b""
            if not chunk:
                raise Closed("the relay closed the connection after %d of %d bytes" %
                             (len(buf), n))
            buf += chunk
        return buf

    def recv_clear(self):
        """One handshake record in the clear (1..128 bytes)."""
        n = struct.unpack(">I", self._recv_exact(4))[0]
        if not 1 <= n <= HS_FRAME_MAX:
            raise ValueError("the relay sent a clear record of %d bytes" % n)
        return self._recv_exact(n)

    def recv_record(self):
        """One encrypted record, decrypted and unpadded: the frame's bytes;
        raises Closed at the end. Every record length seen is kept in
        self.record_lengths (what an observer of the stream sees)."""
        hdr = self._recv_exact(4)
        n = struct.unpack(">I", hdr)[0]
        if not RECORD_MIN <= n <= RECORD_MAX:
            raise ValueError("the relay sent a record length of %d" % n)
        ct = self._recv_exact(n)
        pt = sodium.chacha_decrypt(ct, hdr, b"\0" * 4 + struct.pack(">Q", self.rx_n), self.rx)
        if pt is None:
            raise ValueError("record %d from the relay does not decrypt" % self.rx_n)
        self.rx_n += 1
        self.record_lengths.append(n)
        try:
            return link_unpad(pt)
        except ValueError as e:
            raise ValueError("record %d from the relay: %s" % (self.rx_n - 1, e)) from None

    # ---- the handshake -----------------------------------------------------

    def start_handshake(self):
        """HELLO out, CHALLENGE and SRV_AUTH in, the relay checked against
        the pinned key: the link keys exist, CLI_AUTH is not yet sent."""
        if not self.sock:
            self.connect()
        self.eph_pk, self.eph_sk = sodium.kx_keypair()
        self.nonce_c = sodium.random(32)
        self.send_clear(encode_frame({"version": self.version, "type": HELLO,
                                      "eph": self.eph_pk, "nonce": self.nonce_c}))
        answer = self.recv_clear()
        if answer[:1] == b"\x92" and answer[2:3] == b"\x14":
            raise VersionRefused(answer[1])
        ch = decode_frame(answer)
        if ch["type"] != CHALLENGE:
            raise ValueError("expected CHALLENGE, got %s" % ch["name"])
        self.rx, self.tx = sodium.kx_client_session_keys(self.eph_pk, self.eph_sk, ch["eph"])
        self.transcript = (bytes([self.version]) + self.eph_pk + self.nonce_c + ch["eph"] +
                           ch["nonce"])
        auth = decode_frame(self.recv_record())
        if auth["type"] != SRV_AUTH or auth["id"] != self.relay_pk:
            raise ValueError("the relay is not the pinned key")
        if not sodium.verify(auth["sig"], b"COVE-HS-SERVER-V1\0" + self.transcript,
                             self.relay_pk):
            raise ValueError("the relay's handshake signature does not verify")
        return self

    def finish_handshake(self, wait=True):
        """Sends CLI_AUTH, starts the reader and returns the relay's first
        frame (WLC, or ERR not_whitelisted), or None when not waiting."""
        sig = self.ident.sign(b"COVE-HS-CLIENT-V1\0" + self.transcript + self.relay_pk)
        self.send({"type": CLI_AUTH, "id": self.ident.pk, "sig": sig})
        self.sock.settimeout(None)  # the reader waits for as long as it takes
        self.reader = threading.Thread(target=self._read_loop, daemon=True,
                                       name="hostile-%d" % self.local_port)
        self.reader.start()
        return self.wait_frame(lambda f: f["type"] in (WLC, ERR)) if wait else None

    def handshake(self):
        """The whole handshake; returns the WLC (raises if it is not one)."""
        first = self.start_handshake().finish_handshake()
        if first["type"] != WLC or first["you"] != self.ident.pk:
            raise ValueError("the relay did not welcome us: %r" % first)
        self.check_relay_signature(first)
        return first

    # ---- frames ------------------------------------------------------------

    def next_seq(self):
        """The next sequence number. The relay refuses a seq not above the
        last it accepted on the connection, so frames must be sent in the
        order they were built (the reader's own replies take numbers too)."""
        with self.lock:
            self.seq += 1
            return self.seq

    def frame(self, ftype, room, signer=None, sign=True, **fields):
        """A signed frame of this client (or of signer) with a fresh seq:
        header filled, fields as given (a test may override from, seq, ts)."""
        signer = signer or self.ident
        f = {"type": ftype, "room": room, "from": signer.pk, "seq": self.next_seq(),
             "ts": now_ms()}
        f.update(fields)
        if sign:
            sign_frame(f, signer)
        return f

    def dat(self, room, text, signer=None, gk=None, **fields):
        """A DAT carrying TEXT, encrypted as a member of room would (a random
        key when the client holds none) and signed."""
        r = self.rooms.get(room)
        gk = gk or (r.gk if r and r.gk else sodium.random(32))
        epoch = r.epoch if r else 0
        sid = r.sid if r else sodium.random(16)
        if r:
            r.n += 1
        f = self.frame(DAT, room, signer=signer, sign=False, epoch=epoch, sid=sid,
                       n=r.n if r else 1, kid=key_id(gk, epoch), ct=b"")
        f.update(fields)
        key = dat_key(gk, f["room"], f["from"], f["epoch"], f["sid"])
        f["ct"] = sodium.gcm_encrypt(text_payload(text), dat_ad(f),
                                     b"\0" * 4 + struct.pack(">Q", f["seq"]), key)
        return sign_frame(f, signer or self.ident)

    def check_relay_signature(self, f):
        """Raises unless f is from the relay and its signature verifies."""
        if f["from"] != self.relay_pk:
            raise AssertionError("%s not from the relay" % f["name"])
        if not sodium.verify(f["sig"], signed_bytes(f), self.relay_pk):
            raise AssertionError("the relay's signature on %s does not verify" % f["name"])

    # ---- receiving ---------------------------------------------------------

    def _read_loop(self):
        try:
            while True:
                pt = self.recv_record()
                try:
                    f = decode_frame(pt)
                except ValueError as e:
                    with self.cond:
                        self.bad.append((pt, str(e)))
                    continue
                if self.auto:
                    self._react(f)
                with self.cond:
                    self.inbox.append(f)
                    self.cond.notify_all()
        except (Closed, ValueError, OSError) as e:
            with self.cond:
                if not isinstance(e, Closed):
                    self.bad.append((b"", str(e)))
                self.eof = True
                self.cond.notify_all()

    def _react(self, f):
        """What a well-behaved member does with f (on the reader thread)."""
        t = f["type"]
        if t == PING:
            self.send({"type": PONG, "n": f["n"]})
            return
        r = self.rooms.get(f.get("room"))
        if r is None:
            return
        if t == INI and f["from"] == self.relay_pk and f["xpk"] == r.xpk and r.gk is None:
            r.gk, r.epoch, r.first = sodium.random(32), 0, True
            self._ready(r)
        elif t == INI and f["from"] != self.relay_pk:
            r.members.add(f["from"])
        elif t == KEY and f["to"] == self.ident.pk and f["xpk"] == r.xpk and r.gk is None:
            gk = sodium.box_seal_open(f["sealed"], r.xpk, r.xsk)
            # the key must be the one the KEY's kid commits to (6.4)
            if gk and key_id(gk, f["epoch"]) != f["kid"]:
                r.refused_keys.append(f)
            elif gk:
                r.gk, r.epoch, r.first = gk, f["epoch"], False
                self._ready(r)
        elif t == ASK and f["to"] == self.ident.pk and r.gk is not None:
            view = view_hash(r.epoch, r.members | {self.ident.pk, f["joiner"]})
            self.send(self.frame(KEY, r.name, to=f["joiner"], xpk=f["xpk"], epoch=r.epoch,
                                 sealed=sodium.box_seal(r.gk, f["xpk"]),
                                 kid=key_id(r.gk, r.epoch), view=view))

    def _ready(self, r):
        if r.send_rdy:
            self.send(self.frame(RDY, r.name, epoch=r.epoch))
        r.ready.set()

    def wait_frame(self, pred, timeout=None, start=0):
        """The first frame in the inbox (from index start) matching pred,
        waiting for it; raises AssertionError on timeout or close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while True:
                for f in self.inbox[start:]:
                    if pred(f):
                        return f
                if self.eof:
                    raise AssertionError("the relay closed the connection; frames: %s; "
                                         "bad: %s" % (self.summary(), self.bad))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out; frames so far: %s; bad: %s" %
                                         (self.summary(), self.bad))
                self.cond.wait(left)

    def frames(self, pred=lambda f: True):
        with self.cond:
            return [f for f in self.inbox if pred(f)]

    def errs(self, code=None):
        """The ERR frames received (of one code)."""
        return self.frames(lambda f: f["type"] == ERR and (code is None or f["code"] == code))

    def wait_errs(self, code, count, timeout=None):
        """Waits until count ERRs of code (of any code: None) have arrived;
        returns them all, each checked to be signed by the relay."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while len(self.errs(code)) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError("%d ERR %s expected; got %s (closed: %s)" %
                                         (count, CODES.get(code, "of any code"),
                                          self.summary(), self.eof))
                self.cond.wait(left)
        errs = self.errs(code)
        for e in errs:
            self.check_relay_signature(e)
        return errs

    def wait_closed(self, timeout=None):
        """Whether the relay closed the connection within timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def summary(self):
        with self.cond:
            return ["%s%s" % (f["name"], "(%s, ref %d: %s)" % (CODES.get(f["code"]), f["ref"],
                                                                f["text"])
                              if f["type"] == ERR else "") for f in self.inbox]

    # ---- rooms -------------------------------------------------------------

    def join(self, room, rdy=True, wait=True, timeout=None):
        """Sends an INI with a fresh session key and, by default, waits until
        the client holds the room's key (it made it, or a member sealed it
        to us) and has said RDY. With rdy=False it never says RDY."""
        r = Room(room)
        r.send_rdy = rdy
        self.rooms[room] = r
        self.send(self.frame(INI, room, xpk=r.xpk))
        if wait and not r.ready.wait(timeout or self.timeout):
            raise AssertionError("no key for room %s; frames: %s" % (room, self.summary()))
        return r

    def say(self, room, text, **fields):
        """Sends a DAT of text into room; returns the frame."""
        f = self.dat(room, text, **fields)
        self.send(f)
        return f

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass


def closed_without_answer(sock, timeout):
    """Reads from a raw socket until the peer closes: returns (closed, the
    bytes received). closed is False when timeout passed first."""
    sock.settimeout(0.2)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, OSError):
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got
