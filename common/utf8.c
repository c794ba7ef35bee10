#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"

/* Decodes the sequence at s[0..len) (len > 0, s[0] >= 0x80). Returns its
 * length with *cp set, or 0 when it is not well-formed UTF-8. */
static size_t decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t v;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (len - 1 < n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n + 1;
}

int cove_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = decode(s + i, len - i, &cp);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t cove_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	/* back over continuation bytes (10xxxxxx) to a character's start */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Format characters that change how the text around them reads: a
 * right-to-left override makes "invoice\u202egnp.exe" show as
 * "invoiceexe.png"; a zero-width space hides inside a word; a paragraph
 * separator ends the bidirectional paragraph (and, for some programs,
 * the line). See utf8.h for the list and why ZWNJ and ZWJ stay. */
static int rearranges(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200b || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || cp == 0x2060 ||
	       (cp >= 0x2066 && cp <= 0x206f) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb);
}

size_t cove_utf8_visible(char *out, size_t cap, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0, i = 0;

	if (cap == 0)
		return 0;
	while (i < len) {
		char esc[12];
		const char *put = esc;
		size_t n = 1, w;
		uint32_t cp;

		if (s[i] < 0x20 && s[i] != '\t') {
			esc[0] = '^';
			esc[1] = (char)(s[i] + 0x40);
			w = 2;
		} else if (s[i] == 0x7f) {
			memcpy(esc, "^?", 2);
			w = 2;
		} else if (s[i] < 0x80) {
			put = (const char *)s + i;
			w = 1;
		} else if ((n = decode(s + i, len - i, &cp)) == 0) {
			esc[0] = '?'; /* not UTF-8: one byte at a time */
			n = w = 1;
		} else if (cp <= 0x9f) {
			esc[0] = '?'; /* C1 controls include CSI */
			w = 1;
		} else if (rearranges(cp)) {
			w = (size_t)snprintf(esc, sizeof(esc), "<U+%04X>", (unsigned)cp);
		} else {
			put = (const char *)s + i;
			w = n;
		}
		if (o + w >= cap)
			break;
		memcpy(out + o, put, w);
		o += w;
		i += n;
	}
	out[o] = '\0';
	return o;
}
