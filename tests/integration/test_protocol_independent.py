"""An independent check of docs/PROTOCOL.md against its own test vectors.

Everything here is re-derived from the text of the specification alone,
without the C sources: a strict msgpack reader and writer, the signed
bytes, and, in pure Python, Ed25519 (RFC 8032), X25519 (RFC 7748),
ChaCha20-Poly1305 IETF (RFC 8439), XChaCha20-Poly1305, XSalsa20-Poly1305
(crypto_box_seal), AES-256-GCM and Argon2id (RFC 9106). Only the standard
library is used (hashlib gives SHA-512 and BLAKE2b).

If a test here fails while the C implementation's own tests pass, either
the document and the code disagree or the document does not say enough
for a second implementation: both are bugs in the document.
"""

import base64
import hashlib
import os
import re
import struct
import unittest

from cove import ROOT

SPEC = os.path.join(ROOT, "docs", "PROTOCOL.md")


# ---------------------------------------------------------------------------
# The vectors block of section 10
# ---------------------------------------------------------------------------

def parse_vectors(text):
    """Returns (values, pads): values maps a name to bytes, str or int;
    pads maps a payload length to a padded length."""
    begin = text.index("<!-- vectors:begin -->")
    end = text.index("<!-- vectors:end -->", begin)
    block = text[begin:end].split("\n")
    fences = [i for i, line in enumerate(block) if line.startswith("```")]
    if len(fences) != 2:
        raise ValueError("the vectors block is not one fenced code block")
    lines = block[fences[0] + 1:fences[1]]
    values, pads = {}, {}
    current = None
    for n, line in enumerate(lines):
        if line.startswith("    ") and current is not None:
            values[current] += bytes.fromhex(line.strip())
            continue
        current = None
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"pad\((\d+)\) = (\d+)", line)
        if m:
            pads[int(m.group(1))] = int(m.group(2))
            continue
        m = re.fullmatch(r'(\S+) = "([^"]*)"', line)
        if m:
            values[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r"(\S+) = (\d+)", line)
        if m:
            values[m.group(1)] = int(m.group(2))
            continue
        m = re.fullmatch(r"(\S+) =", line)
        if m:
            if m.group(1) in values:
                raise ValueError("vector %s twice" % m.group(1))
            current = m.group(1)
            values[current] = b""
            continue
        raise ValueError("vectors line %d not understood: %r" % (n, line))
    for name, value in values.items():
        if value == b"":
            raise ValueError("vector %s has no bytes" % name)
    return values, pads


with open(SPEC, encoding="utf-8") as _f:
    V, PADS = parse_vectors(_f.read())


def seed(first):
    return bytes(range(first, first + 32))


# ---------------------------------------------------------------------------
# Strict msgpack (section 3)
# ---------------------------------------------------------------------------

class Refused(ValueError):
    pass


def _take(buf, pos, n):
    """The n bytes at pos, checked against what remains before use."""
    if n > len(buf) - pos:
        raise Refused("declared length %d exceeds the %d bytes that remain" % (n, len(buf) - pos))
    return buf[pos:pos + n], pos + n


def read_scalar(buf, pos):
    """One msgpack scalar: ('int', n) for a non-negative integer, ('str', b),
    ('bin', b). Everything else a frame field can never be is refused."""
    b, pos = _take(buf, pos, 1)
    t = b[0]
    if t <= 0x7F:
        return ("int", t), pos
    if 0xA0 <= t <= 0xBF:
        s, pos = _take(buf, pos, t & 0x1F)
        return ("str", s), pos
    if t in (0xCC, 0xCD, 0xCE, 0xCF):
        n = 1 << (t - 0xCC)
        s, pos = _take(buf, pos, n)
        return ("int", int.from_bytes(s, "big")), pos
    if t in (0xD0, 0xD1, 0xD2, 0xD3):
        n = 1 << (t - 0xD0)
        s, pos = _take(buf, pos, n)
        v = int.from_bytes(s, "big", signed=True)
        if v < 0:
            raise Refused("negative integer")
        return ("int", v), pos
    if t in (0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6):
        hl = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}[t]
        h, pos = _take(buf, pos, hl)
        s, pos = _take(buf, pos, int.from_bytes(h, "big"))
        return ("str" if t >= 0xD9 else "bin", s), pos
    if 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
        raise Refused("nested array")
    if 0x80 <= t <= 0x8F or t in (0xDE, 0xDF):
        raise Refused("map")
    if t >= 0xE0:
        raise Refused("negative integer")
    names = {0xC0: "nil", 0xC2: "boolean", 0xC3: "boolean", 0xCA: "float",
             0xCB: "float", 0xC1: "never-used byte"}
    raise Refused(names.get(t, "ext"))


def read_array(buf):
    """The frame: exactly one flat array of scalars, nothing after it."""
    b, pos = _take(buf, 0, 1)
    t = b[0]
    if 0x90 <= t <= 0x9F:
        count = t & 0x0F
    elif t in (0xDC, 0xDD):
        h, pos = _take(buf, pos, 2 if t == 0xDC else 4)
        count = int.from_bytes(h, "big")
    else:
        raise Refused("not an array")
    if count > len(buf) - pos:
        raise Refused("array count %d exceeds the bytes that remain" % count)
    items = []
    for _ in range(count):
        item, pos = read_scalar(buf, pos)
        items.append(item)
    if pos != len(buf):
        raise Refused("%d trailing bytes" % (len(buf) - pos))
    return items


# Field kinds: ("bin", exact size or None for 1+), ("u", bits), ("str", max)
SIGNED_TYPES = {
    1: ("INI", [("xpk", ("bin", 32))]),
    2: ("KEY", [("to", ("bin", 32)), ("xpk", ("bin", 32)), ("epoch", ("u", 32)),
                ("sealed", ("bin", 80))]),
    3: ("DAT", [("epoch", ("u", 32)), ("sid", ("bin", 16)), ("ct", ("bin", None))]),
    4: ("ERR", [("code", ("u", 32)), ("ref", ("u", 64)), ("text", ("str", 256))]),
    5: ("ASK", [("to", ("bin", 32)), ("joiner", ("bin", 32)), ("xpk", ("bin", 32))]),
    6: ("BYE", [("who", ("bin", 32))]),
    7: ("WLC", [("you", ("bin", 32))]),
}
HEAD = [("room", ("room", None)), ("from", ("bin", 32)), ("seq", ("u", 64)), ("ts", ("u", 64))]
HANDSHAKE_TYPES = {
    16: ("HELLO", [("eph", ("bin", 32)), ("nonce", ("bin", 32))]),
    17: ("CHALLENGE", [("eph", ("bin", 32)), ("nonce", ("bin", 32))]),
    18: ("SRV_AUTH", [("id", ("bin", 32)), ("sig", ("bin", 64))]),
    19: ("CLI_AUTH", [("id", ("bin", 32)), ("sig", ("bin", 64))]),
    20: ("VERSION", []),
}


def schema(ftype):
    if ftype in SIGNED_TYPES:
        name, fields = SIGNED_TYPES[ftype]
        return name, HEAD + fields + [("sig", ("bin", 64))]
    return HANDSHAKE_TYPES[ftype]


def _check_field(ftype, name, kind, item):
    k, arg = kind
    t, v = item
    if k == "u":
        if t != "int" or v >= 1 << arg:
            raise Refused("%s: not a uint%d" % (name, arg))
    elif k == "bin":
        if t != "bin" or (arg is not None and len(v) != arg) or (arg is None and not v):
            raise Refused("%s: not bin of the right size" % name)
    elif k == "str":
        if t != "str" or len(v) > arg:
            raise Refused("%s: not str of at most %d bytes" % (name, arg))
    elif k == "room":
        if t != "str" or len(v) > 64 or any(c < 0x21 or c > 0x7E for c in v):
            raise Refused("room: not 0-64 bytes of 0x21-0x7e")
        if not v and ftype not in (4, 7):
            raise Refused("room: empty")
    return v


def decode_frame(buf):
    """A frame as a dict: version, type, name and its named fields."""
    items = read_array(buf)
    if len(items) < 2 or items[0][0] != "int" or items[1][0] != "int":
        raise Refused("no version and type")
    version, ftype = items[0][1], items[1][1]
    if ftype not in SIGNED_TYPES and ftype not in HANDSHAKE_TYPES:
        raise Refused("unknown type %d" % ftype)
    # Section 3 refuses "a version other than 1", yet VERSION is [v, 20]
    # with v the relay's version: that one frame has to be exempt.
    if version != 1 and ftype != 20:
        raise Refused("version %d" % version)
    name, fields = schema(ftype)
    if len(items) != 2 + len(fields):
        raise Refused("%s with %d elements" % (name, len(items)))
    out = {"version": version, "type": ftype, "name": name}
    for (fname, kind), item in zip(fields, items[2:]):
        out[fname] = _check_field(ftype, fname, kind, item)
    return out


def mp_uint(v, bits):
    return (b"\xce" + struct.pack(">I", v)) if bits == 32 else (b"\xcf" + struct.pack(">Q", v))


def mp_raw(v, is_str):
    n = len(v)
    if is_str and n <= 31:
        h = bytes([0xA0 | n])
    elif n <= 0xFF:
        h = bytes([0xD9 if is_str else 0xC4, n])
    elif n <= 0xFFFF:
        h = bytes([0xDA if is_str else 0xC5]) + struct.pack(">H", n)
    else:
        h = bytes([0xDB if is_str else 0xC6]) + struct.pack(">I", n)
    return h + v


def encode_frame(f):
    """The encoder rules of section 3 (array headers: fixarray, unstated)."""
    name, fields = schema(f["type"])
    items = [bytes([f["version"]]), bytes([f["type"]])]
    for fname, (k, arg) in fields:
        v = f[fname]
        if k == "u":
            items.append(mp_uint(v, arg))
        else:
            items.append(mp_raw(v, k in ("str", "room")))
    assert len(items) <= 15
    return bytes([0x90 | len(items)]) + b"".join(items)


def signed_bytes(f):
    """Section 3.1: rebuilt from the decoded fields, not the msgpack bytes."""
    t = f["type"]
    out = (b"COVE-FRAME-V1\0" + bytes([1, t, len(f["room"])]) + f["room"] + f["from"]
           + struct.pack(">QQ", f["seq"], f["ts"]))
    if t == 1:
        out += f["xpk"]
    elif t == 2:
        out += f["to"] + f["xpk"] + struct.pack(">I", f["epoch"]) + f["sealed"]
    elif t == 3:
        out += struct.pack(">I", f["epoch"]) + f["sid"] + struct.pack(">I", len(f["ct"])) + f["ct"]
    elif t == 4:
        out += struct.pack(">IQH", f["code"], f["ref"], len(f["text"])) + f["text"]
    elif t == 5:
        out += f["to"] + f["joiner"] + f["xpk"]
    elif t == 6:
        out += f["who"]
    elif t == 7:
        out += f["you"]
    return out


# ---------------------------------------------------------------------------
# Ed25519 (RFC 8032) and X25519 (RFC 7748)
# ---------------------------------------------------------------------------

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _ed_add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * ED_D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _ed_double(p):
    x1, y1, z1, _ = p
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _ed_mul(s, p):
    q = (0, 1, 1, 0)
    for bit in bin(s)[2:] if s else "":
        q = _ed_double(q)
        if bit == "1":
            q = _ed_add(q, p)
    return q


def _ed_equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return x


_BY = 4 * pow(5, P - 2, P) % P
_BX = _recover_x(_BY, 0)
ED_B = (_BX, _BY, 1, _BX * _BY % P)


def _ed_encode(p):
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _ed_decode(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def ed25519_public_from_seed(sd):
    h = hashlib.sha512(sd).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return _ed_encode(_ed_mul(a, ED_B))


def ed25519_verify(public, message, sig):
    if len(sig) != 64:
        return False
    a = _ed_decode(public)
    r = _ed_decode(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + public + message).digest(), "little") % L
    left = _ed_mul(8 * s, ED_B)
    right = _ed_mul(8, _ed_add(r, _ed_mul(k, a)))
    return _ed_equal(left, right)


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a % P, b * b % P
        e = aa - bb
        c, d = x3 + z3, x3 - z3
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + 121665 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


X25519_BASE = (9).to_bytes(32, "little")


# ---------------------------------------------------------------------------
# ChaCha20, Poly1305, Salsa20 and their AEADs
# ---------------------------------------------------------------------------

M32 = 0xFFFFFFFF


def _rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & M32


def _chacha_rounds(s):
    x = list(s)

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & M32; x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & M32; x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & M32; x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & M32; x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return x


_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def chacha20_block(key, counter, nonce):
    s = list(_SIGMA) + list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    x = _chacha_rounds(s)
    return struct.pack("<16I", *[(a + b) & M32 for a, b in zip(x, s)])


def chacha20_xor(key, counter, nonce, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        block = chacha20_block(key, counter + i // 64, nonce)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], block))
    return bytes(out)


def hchacha20(key, n16):
    s = list(_SIGMA) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", n16))
    x = _chacha_rounds(s)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p, acc = (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        chunk = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(chunk, "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(b):
    return b"\0" * (-len(b) % 16)


class AuthFailed(ValueError):
    pass


def chacha20poly1305_ietf_open(key, nonce, ad, sealed):
    """RFC 8439 section 2.8: returns the plaintext or raises AuthFailed."""
    ct, tag = sealed[:-16], sealed[-16:]
    otk = chacha20_block(key, 0, nonce)[:32]
    mac_data = ad + _pad16(ad) + ct + _pad16(ct) + struct.pack("<QQ", len(ad), len(ct))
    if poly1305(otk, mac_data) != tag:
        raise AuthFailed("tag")
    return chacha20_xor(key, 1, nonce, ct)


def xchacha20poly1305_ietf_open(key, nonce24, ad, sealed):
    return chacha20poly1305_ietf_open(hchacha20(key, nonce24[:16]), b"\0" * 4 + nonce24[16:], ad, sealed)


def _salsa_rounds(s):
    x = list(s)

    def qr(a, b, c, d):
        x[b] ^= _rotl((x[a] + x[d]) & M32, 7)
        x[c] ^= _rotl((x[b] + x[a]) & M32, 9)
        x[d] ^= _rotl((x[c] + x[b]) & M32, 13)
        x[a] ^= _rotl((x[d] + x[c]) & M32, 18)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11)
        qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14)
    return x


def _salsa_state(key, n16):
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", n16)
    return [_SIGMA[0], *k[:4], _SIGMA[1], *n, _SIGMA[2], *k[4:], _SIGMA[3]]


def hsalsa20(key, n16):
    x = _salsa_rounds(_salsa_state(key, n16))
    return struct.pack("<8I", *[x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)])


def xsalsa20_stream(key, nonce24, length):
    sub = hsalsa20(key, nonce24[:16])
    out = bytearray()
    counter = 0
    while len(out) < length:
        s = _salsa_state(sub, nonce24[16:24] + struct.pack("<Q", counter))
        x = _salsa_rounds(s)
        out += struct.pack("<16I", *[(a + b) & M32 for a, b in zip(x, s)])
        counter += 1
    return bytes(out[:length])


def secretbox_open_easy(sealed, nonce24, key):
    """crypto_secretbox_easy layout: MAC(16) || ciphertext."""
    mac, ct = sealed[:16], sealed[16:]
    stream = xsalsa20_stream(key, nonce24, 32 + len(ct))
    if poly1305(stream[:32], ct) != mac:
        raise AuthFailed("secretbox tag")
    return bytes(a ^ b for a, b in zip(ct, stream[32:]))


def box_seal_open(sealed, pk, sk):
    epk = sealed[:32]
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    k = hsalsa20(x25519(sk, epk), b"\0" * 16)
    return secretbox_open_easy(sealed[32:], nonce, k)


# ---------------------------------------------------------------------------
# AES-256-GCM (FIPS 197, SP 800-38D)
# ---------------------------------------------------------------------------

def _xtime(a):
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _gmul8(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = _xtime(a)
        b >>= 1
    return r


def _make_sbox():
    sbox = []
    for x in range(256):
        inv = 0
        if x:
            inv = next(y for y in range(1, 256) if _gmul8(x, y) == 1)
        s = inv
        for i in range(1, 5):
            s ^= ((inv << i) | (inv >> (8 - i))) & 0xFF
        sbox.append(s ^ 0x63)
    return sbox


SBOX = _make_sbox()


def aes256_expand(key):
    w = [list(key[i:i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 60):
        t = list(w[i - 1])
        if i % 8 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = [SBOX[b] for b in t]
        w.append([a ^ b for a, b in zip(w[i - 8], t)])
    return [sum(w[4 * r:4 * r + 4], []) for r in range(15)]


def aes_encrypt_block(rk, block):
    s = [a ^ b for a, b in zip(block, rk[0])]
    for rnd in range(1, 15):
        s = [SBOX[b] for b in s]
        # ShiftRows: the state is column-major, byte (row r, column c) at 4c + r
        s = [s[(4 * (c + r) + r) % 16] for c in range(4) for r in range(4)]
        if rnd != 14:
            t = []
            for c in range(4):
                a = s[4 * c:4 * c + 4]
                t += [_gmul8(a[0], 2) ^ _gmul8(a[1], 3) ^ a[2] ^ a[3],
                      a[0] ^ _gmul8(a[1], 2) ^ _gmul8(a[2], 3) ^ a[3],
                      a[0] ^ a[1] ^ _gmul8(a[2], 2) ^ _gmul8(a[3], 3),
                      _gmul8(a[0], 3) ^ a[1] ^ a[2] ^ _gmul8(a[3], 2)]
            s = t
        s = [a ^ b for a, b in zip(s, rk[rnd])]
    return bytes(s)


def _gf128_mul(x, y):
    r = 0xE1 << 120
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def _ghash(h, ad, ct):
    data = ad + _pad16(ad) + ct + _pad16(ct) + struct.pack(">QQ", 8 * len(ad), 8 * len(ct))
    y = 0
    for i in range(0, len(data), 16):
        y = _gf128_mul(y ^ int.from_bytes(data[i:i + 16], "big"), h)
    return y


def aes256gcm_open(key, nonce12, ad, sealed):
    rk = aes256_expand(key)
    ct, tag = sealed[:-16], sealed[-16:]
    h = int.from_bytes(aes_encrypt_block(rk, b"\0" * 16), "big")
    j0 = nonce12 + b"\0\0\0\1"
    expect = (_ghash(h, ad, ct) ^ int.from_bytes(aes_encrypt_block(rk, j0), "big")).to_bytes(16, "big")
    if expect != tag:
        raise AuthFailed("gcm tag")
    out = bytearray()
    for i in range(0, len(ct), 16):
        block = aes_encrypt_block(rk, nonce12 + struct.pack(">I", 2 + i // 16))
        out += bytes(a ^ b for a, b in zip(ct[i:i + 16], block))
    return bytes(out)


# ---------------------------------------------------------------------------
# Argon2id v1.3 (RFC 9106), one lane, as libsodium's crypto_pwhash calls it
# ---------------------------------------------------------------------------

M64 = (1 << 64) - 1


def _blake2b_long(out_len, data):
    """H' of RFC 9106 section 3.3."""
    pre = struct.pack("<I", out_len)
    if out_len <= 64:
        return hashlib.blake2b(pre + data, digest_size=out_len).digest()
    r = -(-out_len // 32) - 2
    v = hashlib.blake2b(pre + data).digest()
    out = v[:32]
    for _ in range(r - 1):
        v = hashlib.blake2b(v).digest()
        out += v[:32]
    return out + hashlib.blake2b(v, digest_size=out_len - 32 * r).digest()


def _argon_permute(v, idx):
    def gb(a, b, c, d):
        va, vb, vc, vd = v[a], v[b], v[c], v[d]
        va = (va + vb + 2 * (va & M32) * (vb & M32)) & M64
        vd ^= va; vd = ((vd >> 32) | (vd << 32)) & M64
        vc = (vc + vd + 2 * (vc & M32) * (vd & M32)) & M64
        vb ^= vc; vb = ((vb >> 24) | (vb << 40)) & M64
        va = (va + vb + 2 * (va & M32) * (vb & M32)) & M64
        vd ^= va; vd = ((vd >> 16) | (vd << 48)) & M64
        vc = (vc + vd + 2 * (vc & M32) * (vd & M32)) & M64
        vb ^= vc; vb = ((vb >> 63) | (vb << 1)) & M64
        v[a], v[b], v[c], v[d] = va, vb, vc, vd

    i = idx
    gb(i[0], i[4], i[8], i[12]); gb(i[1], i[5], i[9], i[13])
    gb(i[2], i[6], i[10], i[14]); gb(i[3], i[7], i[11], i[15])
    gb(i[0], i[5], i[10], i[15]); gb(i[1], i[6], i[11], i[12])
    gb(i[2], i[7], i[8], i[13]); gb(i[3], i[4], i[9], i[14])


_ROWS = [list(range(16 * r, 16 * r + 16)) for r in range(8)]
_COLS = [[16 * k + 2 * c + j for k in range(8) for j in (0, 1)] for c in range(8)]


def _argon_g(x, y):
    r = [a ^ b for a, b in zip(x, y)]
    z = list(r)
    for idx in _ROWS:
        _argon_permute(z, idx)
    for idx in _COLS:
        _argon_permute(z, idx)
    return [a ^ b for a, b in zip(z, r)]


def argon2id(password, salt, t_cost, m_kib, out_len, parallelism=1):
    assert parallelism == 1 and t_cost == 1, "only what the vectors need"
    h0 = hashlib.blake2b(
        struct.pack("<IIIIII", parallelism, out_len, m_kib, t_cost, 0x13, 2)
        + struct.pack("<I", len(password)) + password
        + struct.pack("<I", len(salt)) + salt
        + struct.pack("<I", 0) + struct.pack("<I", 0)).digest()
    mp = 4 * parallelism * (m_kib // (4 * parallelism))
    q = mp // parallelism
    seglen = q // 4

    def words(b):
        return list(struct.unpack("<128Q", b))

    mem = [words(_blake2b_long(1024, h0 + struct.pack("<II", j, 0))) for j in (0, 1)]
    mem += [None] * (q - 2)
    zero = [0] * 128
    pass_ = 0
    for sl in range(4):
        independent = pass_ == 0 and sl < 2
        if independent:
            inp = [pass_, 0, sl, mp, t_cost, 2] + [0] * 122
            addresses = None
        for i in range(seglen):
            j = sl * seglen + i
            if j < 2:
                continue
            if independent:
                if addresses is None or i % 128 == 0:
                    inp[6] += 1
                    addresses = _argon_g(zero, _argon_g(zero, inp))
                rand = addresses[i % 128]
            else:
                rand = mem[j - 1][0]
            j1 = rand & M32
            # one lane, first pass: the reference area is every block made
            # so far but the previous one
            area = j - 1
            x = (j1 * j1) >> 32
            rel = area - 1 - ((area * x) >> 32)
            mem[j] = _argon_g(mem[j - 1], mem[rel])
    return _blake2b_long(out_len, struct.pack("<128Q", *mem[q - 1]))


# ---------------------------------------------------------------------------
# Padding (section 6)
# ---------------------------------------------------------------------------

def padme(length):
    e = length.bit_length() - 1
    s = e.bit_length()  # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def padded_size(n):
    if n + 1 <= 256:
        return 256
    if n > 32767:
        raise ValueError("payload too long")
    return padme(n + 1)


def pad(payload):
    size = padded_size(len(payload))
    return payload + b"\x80" + b"\0" * (size - len(payload) - 1)


# ---------------------------------------------------------------------------
# Records (section 2)
# ---------------------------------------------------------------------------

def split_records(stream):
    out, pos = [], 0
    while pos < len(stream):
        if len(stream) - pos < 4:
            raise Refused("short header")
        n = struct.unpack(">I", stream[pos:pos + 4])[0]
        if n == 0 or n > 65536 + 16 or n > len(stream) - pos - 4:
            raise Refused("record length %d" % n)
        out.append((stream[pos:pos + 4], stream[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


def record_nonce(n):
    return b"\0" * 4 + struct.pack(">Q", n)


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

FRAME_VECTORS = ["ini_alice", "ini_first_from_relay", "ini_bob", "ask_alice_for_bob",
                 "key_alice_to_bob", "dat_alice", "bye_bob", "err_bad_signature"]
RELAY, ALICE, BOB = V["relay.public"], V["alice.public"], V["bob.public"]
XA, XB = V["alice.session_x25519_public"], V["bob.session_x25519_public"]


def frame(name):
    return decode_frame(V[name + ".frame"])


class _Handshake:
    """The handshake vectors, decoded once (the link keys need X25519)."""
    _cache = None

    @classmethod
    def get(cls):
        if cls._cache is None:
            cls._cache = cls()
        return cls._cache

    def __init__(self):
        c2r = [split_records(V["wire.client_to_relay.%d" % i]) for i in (1, 2, 3)]
        r2c = [split_records(V["wire.relay_to_client.%d" % i]) for i in (1, 2, 3)]
        assert all(len(r) == 1 for r in c2r + r2c), "one record per wire vector"
        self.c2r = [r[0] for r in c2r]
        self.r2c = [r[0] for r in r2c]
        self.hello = decode_frame(self.c2r[0][1])
        self.challenge = decode_frame(self.r2c[0][1])
        eph_c, eph_s = self.hello["eph"], self.challenge["eph"]
        q = x25519(V["handshake.client_ephemeral_secret"], eph_s)
        h = hashlib.blake2b(q + eph_c + eph_s, digest_size=64).digest()
        self.client_rx, self.client_tx = h[:32], h[32:]
        q2 = x25519(V["handshake.relay_ephemeral_secret"], eph_c)
        h2 = hashlib.blake2b(q2 + eph_c + eph_s, digest_size=64).digest()
        self.relay_tx, self.relay_rx = h2[:32], h2[32:]
        self.transcript = (b"\x01" + eph_c + self.hello["nonce"] + eph_s
                           + self.challenge["nonce"])

    def open(self, direction):
        """The frames of the encrypted records of one direction, in order."""
        key = self.client_tx if direction == "c2r" else self.relay_tx
        records = (self.c2r if direction == "c2r" else self.r2c)[1:]
        return [chacha20poly1305_ietf_open(key, record_nonce(n), hdr, body)
                for n, (hdr, body) in enumerate(records)]


class VectorsBlock(unittest.TestCase):

    def test_vectors_block_holds_every_vector_these_tests_use(self):
        for name in FRAME_VECTORS:
            self.assertIsInstance(V[name + ".frame"], bytes)
            self.assertIsInstance(V[name + ".signed_bytes"], bytes)
            self.assertEqual(len(V[name + ".signature"]), 64)
        for name in ("relay.public", "alice.public", "bob.public", "group_key", "dat.key",
                     "handshake.key_client_to_relay", "handshake.key_relay_to_client",
                     "handshake.client_ephemeral_secret", "handshake.relay_ephemeral_secret"):
            self.assertEqual(len(V[name]), 32, name)
        self.assertTrue(PADS)


class Identities(unittest.TestCase):

    def test_identity_seeds_give_the_listed_ed25519_public_keys(self):
        self.assertEqual(ed25519_public_from_seed(seed(0x00)), RELAY)
        self.assertEqual(ed25519_public_from_seed(seed(0x20)), ALICE)
        self.assertEqual(ed25519_public_from_seed(seed(0x40)), BOB)

    def test_alice_base64_is_standard_padded_base64_of_her_key(self):
        text = V["alice.public_base64"]
        self.assertEqual(len(text), 44)
        self.assertEqual(base64.b64encode(ALICE).decode(), text)
        self.assertEqual(base64.b64decode(text, validate=True), ALICE)

    def test_alice_fingerprint_is_blake2b_128_of_domain_and_key(self):
        fp = hashlib.blake2b(b"COVE-FP-V1" + ALICE, digest_size=16).hexdigest()
        shown = " ".join(fp[i:i + 4] for i in range(0, 32, 4))
        self.assertEqual(shown, V["alice.fingerprint"])

    def test_session_seeds_give_the_listed_x25519_keys_as_crypto_box_seed_keypair(self):
        # Not in the document: crypto_box_seed_keypair's secret key is the
        # first 32 bytes of SHA-512(seed).
        for first, public in ((0xA0, XA), (0xC0, XB)):
            sk = hashlib.sha512(seed(first)).digest()[:32]
            self.assertEqual(x25519(sk, X25519_BASE), public)


class Msgpack(unittest.TestCase):

    def test_every_frame_vector_decodes_strictly_with_the_types_field_count(self):
        expected = {"ini_alice": 1, "ini_first_from_relay": 1, "ini_bob": 1,
                    "ask_alice_for_bob": 5, "key_alice_to_bob": 2, "dat_alice": 3,
                    "bye_bob": 6, "err_bad_signature": 4}
        for name, t in expected.items():
            f = frame(name)
            self.assertEqual(f["version"], 1, name)
            self.assertEqual(f["type"], t, name)
            self.assertEqual(f["room"], b"lobby", name)

    def test_decoded_frames_name_the_right_parties_and_keys(self):
        f = frame("ini_alice")
        self.assertEqual((f["from"], f["xpk"]), (ALICE, XA))
        f = frame("ini_first_from_relay")
        self.assertEqual((f["from"], f["xpk"]), (RELAY, XA))
        f = frame("ini_bob")
        self.assertEqual((f["from"], f["xpk"]), (BOB, XB))
        f = frame("ask_alice_for_bob")
        self.assertEqual((f["from"], f["to"], f["joiner"], f["xpk"]), (RELAY, ALICE, BOB, XB))
        f = frame("key_alice_to_bob")
        self.assertEqual((f["from"], f["to"], f["xpk"], f["epoch"]), (ALICE, BOB, XB, 0))
        self.assertEqual(len(f["sealed"]), 80)
        f = frame("dat_alice")
        self.assertEqual((f["from"], f["epoch"], f["sid"]), (ALICE, 0, V["dat.sid"]))
        self.assertEqual(len(f["ct"]), V["dat.padded_length"] + 16)
        f = frame("bye_bob")
        self.assertEqual((f["from"], f["who"]), (RELAY, BOB))
        f = frame("err_bad_signature")
        self.assertEqual((f["from"], f["code"]), (RELAY, 2))  # 2 = bad_signature
        self.assertEqual(f["text"], b"DAT refused: its signature does not verify")

    def test_each_signers_seq_rises_and_seq_is_microseconds_ts_milliseconds(self):
        by_signer = {}
        for name in FRAME_VECTORS:
            f = frame(name)
            by_signer.setdefault(f["from"], []).append(f["seq"])
            # section 7: seq starts at the clock in microseconds, ts is in ms
            self.assertLess(abs(f["seq"] // 1000 - f["ts"]), 60 * 60 * 1000, name)
        for seqs in by_signer.values():
            self.assertEqual(seqs, sorted(set(seqs)))

    def test_decoded_frames_reencode_to_the_same_bytes_by_the_encoder_rules(self):
        for name in FRAME_VECTORS:
            self.assertEqual(encode_frame(frame(name)), V[name + ".frame"], name)

    def test_reader_refuses_what_section_3_forbids(self):
        good = V["bye_bob.frame"]
        self.assertEqual(decode_frame(good)["type"], 6)
        bad = {
            "trailing byte": good + b"\x00",
            "truncated": good[:-1],
            "not an array": b"\x01",
            "two values": good + good,
            "huge bin length": good[:9] + b"\xc6\xff\xff\xff\xff",
            "huge array count": b"\xdd\xff\xff\xff\xff\x01\x06",
            "nested array": b"\x93\x01\x06\x90",
            "version 2": good[:1] + b"\x02" + good[2:],
            "unknown type": good[:2] + b"\x08" + good[3:],
            "one element missing": b"\x97" + good[1:-66],
        }
        for why, data in bad.items():
            with self.assertRaises(Refused, msg=why):
                decode_frame(data)
        # typed refusals inside an otherwise well-formed INI
        ini = V["ini_alice.frame"]
        seq_at = ini.index(b"\xcf")
        self.assertEqual(decode_frame(ini[:seq_at] + b"\xd3" + ini[seq_at + 1:])["seq"],
                         frame("ini_alice")["seq"], "int64 of a non-negative value")
        for why, enc in (("nil", b"\xc0"), ("true", b"\xc3"), ("float", b"\xcb" + b"\0" * 8),
                         ("negative", b"\xd3" + b"\xff" * 8), ("str", b"\xa0"),
                         ("ext", b"\xd4\x01\x00")):
            with self.assertRaises(Refused, msg=why):
                decode_frame(ini[:seq_at] + enc + ini[seq_at + 9:])
        room_at = ini.index(b"\xa5lobby")
        for room in (b"\xa0", b"\xa3a b", b"\xc4\x05lobby"):
            with self.assertRaises(Refused, msg=room):
                decode_frame(ini[:room_at] + room + ini[room_at + 6:])
        xpk_at = ini.index(b"\xc4\x20" + XA)
        with self.assertRaises(Refused, msg="bin 31 for xpk"):
            decode_frame(ini[:xpk_at] + b"\xc4\x1f" + XA[:31] + ini[xpk_at + 34:])


class Signatures(unittest.TestCase):

    def test_signed_bytes_rebuilt_from_decoded_fields_match_the_vectors(self):
        for name in FRAME_VECTORS:
            self.assertEqual(signed_bytes(frame(name)), V[name + ".signed_bytes"], name)

    def test_frame_sig_element_is_the_listed_signature(self):
        for name in FRAME_VECTORS:
            self.assertEqual(frame(name)["sig"], V[name + ".signature"], name)

    def test_every_signature_in_the_vectors_verifies(self):
        for name in FRAME_VECTORS:
            f = frame(name)
            self.assertTrue(ed25519_verify(f["from"], signed_bytes(f), f["sig"]), name)

    def test_a_signature_over_altered_bytes_does_not_verify(self):
        f = frame("ini_alice")
        sb = bytearray(signed_bytes(f))
        sb[-1] ^= 1
        self.assertFalse(ed25519_verify(f["from"], bytes(sb), f["sig"]))
        self.assertFalse(ed25519_verify(BOB, signed_bytes(f), f["sig"]))


class Padding(unittest.TestCase):

    def test_padme_gives_every_entry_of_the_padding_table(self):
        for n, m in sorted(PADS.items()):
            self.assertEqual(padded_size(n), m, "pad(%d)" % n)

    def test_padme_overhead_stays_within_12_percent(self):
        for n in range(256, 32768):
            self.assertLessEqual(padded_size(n), (n + 1) * 1.12)

    def test_only_text_lines_up_to_251_bytes_share_the_256_byte_size(self):
        # Section 6 says "every chat line under 256 bytes looks alike to the
        # relay"; the payload adds 4 bytes to a 32..255-byte line (fixarray,
        # kind, str8 header) and the 0x80 one more, so 252..255 pad to 272.
        def text_payload(n):
            return b"\x92\x01" + mp_raw(b"x" * n, True)
        self.assertEqual(padded_size(len(text_payload(251))), 256)
        for n in range(252, 256):
            self.assertEqual(padded_size(len(text_payload(n))), 272, n)


class Dat(unittest.TestCase):

    def test_dat_payload_is_text_hello_lobby_and_pads_to_the_listed_length(self):
        payload = V["dat.payload"]
        items = read_array(payload)
        self.assertEqual(items, [("int", 1), ("str", b"hello, lobby")])
        self.assertEqual(padded_size(len(payload)), V["dat.padded_length"])

    def test_dat_key_is_keyed_blake2b_256_of_the_domain_room_from_epoch_sid(self):
        f = frame("dat_alice")
        msg = (b"COVE-DAT-KEY-V1\0" + bytes([len(f["room"])]) + f["room"] + f["from"]
               + struct.pack(">I", f["epoch"]) + f["sid"])
        key = hashlib.blake2b(msg, key=V["group_key"], digest_size=32).digest()
        self.assertEqual(key, V["dat.key"])

    def test_dat_associated_data_is_the_signed_bytes_up_to_the_sid(self):
        f = frame("dat_alice")
        sb = signed_bytes(f)
        ad = sb[:sb.index(f["sid"]) + 16]
        self.assertEqual(ad, V["dat.associated_data"])
        self.assertEqual(len(ad), 14 + 3 + 5 + 32 + 16 + 4 + 16)

    def test_dat_ciphertext_decrypts_with_aes256gcm_to_the_padded_payload(self):
        f = frame("dat_alice")
        plain = aes256gcm_open(V["dat.key"], b"\0" * 4 + struct.pack(">Q", f["seq"]),
                               V["dat.associated_data"], f["ct"])
        self.assertEqual(plain, pad(V["dat.payload"]))
        self.assertEqual(read_array(plain[:len(V["dat.payload"])])[1], ("str", b"hello, lobby"))

    def test_dat_ciphertext_fails_under_another_nonce(self):
        f = frame("dat_alice")
        with self.assertRaises(AuthFailed):
            aes256gcm_open(V["dat.key"], b"\0" * 4 + struct.pack(">Q", f["seq"] + 1),
                           V["dat.associated_data"], f["ct"])


class SealedBox(unittest.TestCase):

    def test_key_frame_sealed_box_opens_with_bobs_session_key_to_the_group_key(self):
        f = frame("key_alice_to_bob")
        sk = hashlib.sha512(seed(0xC0)).digest()[:32]
        self.assertEqual(box_seal_open(f["sealed"], f["xpk"], sk), V["group_key"])

    def test_key_frame_sealed_box_does_not_open_with_alices_session_key(self):
        f = frame("key_alice_to_bob")
        sk = hashlib.sha512(seed(0xA0)).digest()[:32]
        with self.assertRaises(AuthFailed):
            box_seal_open(f["sealed"], XA, sk)


class Handshake(unittest.TestCase):

    def test_clear_records_are_hello_then_challenge_within_128_bytes(self):
        hs = _Handshake.get()
        for hdr, body in (hs.c2r[0], hs.r2c[0]):
            self.assertTrue(1 <= struct.unpack(">I", hdr)[0] <= 128)
        self.assertEqual(hs.hello["name"], "HELLO")
        self.assertEqual(hs.challenge["name"], "CHALLENGE")
        self.assertEqual(encode_frame(hs.hello), hs.c2r[0][1])
        self.assertEqual(encode_frame(hs.challenge), hs.r2c[0][1])

    def test_ephemeral_secrets_give_the_hello_and_challenge_keys(self):
        hs = _Handshake.get()
        self.assertEqual(x25519(V["handshake.client_ephemeral_secret"], X25519_BASE), hs.hello["eph"])
        self.assertEqual(x25519(V["handshake.relay_ephemeral_secret"], X25519_BASE), hs.challenge["eph"])

    def test_link_keys_are_crypto_kx_of_the_ephemeral_keys(self):
        hs = _Handshake.get()
        self.assertEqual(hs.client_tx, V["handshake.key_client_to_relay"])
        self.assertEqual(hs.client_rx, V["handshake.key_relay_to_client"])
        # the relay's computation gives the same keys the other way round
        self.assertEqual(hs.relay_rx, hs.client_tx)
        self.assertEqual(hs.relay_tx, hs.client_rx)

    def test_encrypted_records_have_lengths_between_17_and_65552(self):
        hs = _Handshake.get()
        for hdr, body in hs.c2r[1:] + hs.r2c[1:]:
            n = struct.unpack(">I", hdr)[0]
            self.assertEqual(n, len(body))
            self.assertTrue(17 <= n <= 65536 + 16)

    def test_every_record_decrypts_in_order_and_holds_the_expected_frame(self):
        hs = _Handshake.get()
        srv_auth, wlc = [decode_frame(b) for b in hs.open("r2c")]
        cli_auth, ini = [decode_frame(b) for b in hs.open("c2r")]
        self.assertEqual(srv_auth["name"], "SRV_AUTH")
        self.assertEqual(srv_auth["id"], RELAY)
        self.assertEqual(cli_auth["name"], "CLI_AUTH")
        self.assertEqual(cli_auth["id"], ALICE)
        self.assertEqual(wlc["name"], "WLC")
        self.assertEqual((wlc["from"], wlc["you"]), (RELAY, ALICE))
        self.assertEqual(hs.open("c2r")[1], V["ini_alice.frame"])
        self.assertEqual(ini["name"], "INI")

    def test_a_record_under_the_wrong_counter_or_key_does_not_decrypt(self):
        hs = _Handshake.get()
        hdr, body = hs.r2c[1]
        with self.assertRaises(AuthFailed):
            chacha20poly1305_ietf_open(hs.relay_tx, record_nonce(1), hdr, body)
        with self.assertRaises(AuthFailed):
            chacha20poly1305_ietf_open(hs.client_tx, record_nonce(0), hdr, body)

    def test_transcript_is_129_bytes(self):
        self.assertEqual(len(_Handshake.get().transcript), 129)

    def test_srv_auth_signs_the_server_domain_and_transcript(self):
        hs = _Handshake.get()
        srv_auth = decode_frame(hs.open("r2c")[0])
        self.assertTrue(ed25519_verify(srv_auth["id"], b"COVE-HS-SERVER-V1\0" + hs.transcript,
                                       srv_auth["sig"]))

    def test_cli_auth_signs_the_client_domain_transcript_and_relay_id(self):
        hs = _Handshake.get()
        cli_auth = decode_frame(hs.open("c2r")[0])
        self.assertTrue(ed25519_verify(cli_auth["id"],
                                       b"COVE-HS-CLIENT-V1\0" + hs.transcript + RELAY,
                                       cli_auth["sig"]))

    def test_wlc_is_signed_by_the_relay_over_its_signed_bytes(self):
        hs = _Handshake.get()
        wlc = decode_frame(hs.open("r2c")[1])
        # the document does not say which room a WLC names; the vector's is empty
        self.assertEqual(wlc["room"], b"")
        self.assertTrue(ed25519_verify(RELAY, signed_bytes(wlc), wlc["sig"]))
        self.assertEqual(encode_frame(wlc), hs.open("r2c")[1])


class KeyFiles(unittest.TestCase):

    def parse(self, name):
        rec = base64.b64decode(V[name], validate=True)
        head = rec[:96]
        magic, ver, kdf, aead, zero, ops, mem = struct.unpack(">4sBBBBQQ", head[:24])
        return {"record": rec, "head": head, "magic": magic, "version": ver, "kdf": kdf,
                "aead": aead, "zero": zero, "ops": ops, "mem": mem, "salt": head[24:40],
                "nonce": head[40:64], "public": head[64:96], "payload": rec[96:]}

    def test_plain_key_file_holds_alices_seed_and_public_key(self):
        k = self.parse("keyfile_plain.line2")
        self.assertEqual(len(k["record"]), 128)
        self.assertEqual((k["magic"], k["version"], k["kdf"], k["aead"], k["zero"]),
                         (b"CVSK", 1, 0, 0, 0))
        self.assertEqual((k["ops"], k["mem"]), (0, 0))
        self.assertEqual(k["salt"] + k["nonce"], b"\0" * 40)
        self.assertEqual(k["public"], ALICE)
        self.assertEqual(k["payload"], seed(0x20))
        self.assertEqual(ed25519_public_from_seed(k["payload"]), ALICE)

    def test_encrypted_key_file_fields(self):
        k = self.parse("keyfile_encrypted.line2")
        self.assertEqual(len(k["record"]), 96 + 32 + 16)
        self.assertEqual((k["magic"], k["version"], k["kdf"], k["aead"], k["zero"]),
                         (b"CVSK", 1, 1, 1, 0))
        self.assertEqual((k["ops"], k["mem"]), (1, 8192))
        self.assertNotEqual(k["salt"], b"\0" * 16)
        self.assertNotEqual(k["nonce"], b"\0" * 24)
        self.assertEqual(k["public"], ALICE)
        plain = self.parse("keyfile_plain.line2")
        self.assertNotEqual(k["payload"][:32], plain["payload"])

    def test_encrypted_key_file_opens_with_argon2id_and_xchacha20poly1305(self):
        # memlimit is in bytes (crypto_pwhash), so Argon2 m = 8192 / 1024 KiB,
        # with one lane: neither is said by the document.
        k = self.parse("keyfile_encrypted.line2")
        key = argon2id(b"correct horse", k["salt"], k["ops"], k["mem"] // 1024, 32)
        seed_ = xchacha20poly1305_ietf_open(key, k["nonce"], k["head"], k["payload"])
        self.assertEqual(seed_, seed(0x20))
        self.assertEqual(ed25519_public_from_seed(seed_), ALICE)


class Primitives(unittest.TestCase):
    """Published test vectors of the primitives, so that a failure above
    points at the document rather than at this file's cryptography."""

    def test_x25519_rfc7748_vector(self):
        k = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
        u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
        self.assertEqual(x25519(k, u).hex(),
                         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")

    def test_ed25519_rfc8032_test_1(self):
        sk = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        self.assertEqual(ed25519_public_from_seed(sk), pk)
        self.assertTrue(ed25519_verify(pk, b"", sig))

    def test_chacha20poly1305_rfc8439_aead_vector(self):
        key = bytes(range(0x80, 0xA0))
        nonce = bytes.fromhex("070000004041424344454647")
        ad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
        ct = bytes.fromhex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
            "3ff4def08e4b7a9de576d26586cec64b6116")
        tag = bytes.fromhex("1ae10b594f09e26a7e902ecbd0600691")
        self.assertTrue(chacha20poly1305_ietf_open(key, nonce, ad, ct + tag).startswith(
            b"Ladies and Gentlemen of the class of '99"))

    def test_aes256gcm_nist_vector(self):
        # GCM spec (McGrew-Viega) test case 16
        key = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
        iv = bytes.fromhex("cafebabefacedbaddecaf888")
        ad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        ct = bytes.fromhex(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
        tag = bytes.fromhex("76fc6ece0f4e1768cddf8853bb2d551b")
        pt = bytes.fromhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        self.assertEqual(aes256gcm_open(key, iv, ad, ct + tag), pt)


if __name__ == "__main__":
    unittest.main()
