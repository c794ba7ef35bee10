/*
 * utf8.h - UTF-8 validation, and text made safe to show on a terminal.
 */
#ifndef COVE_COMMON_UTF8_H
#define COVE_COMMON_UTF8_H

#include <stddef.h>

/* Whether s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). NUL bytes are not allowed. */
int cove_utf8_valid(const char *s, size_t len);

/* The length of the longest prefix of the valid UTF-8 text s[0..len) that
 * is at most max bytes and ends between two characters (to show the
 * start of a message). */
size_t cove_utf8_cut(const char *s, size_t len, size_t max);

/* The capacity that always holds cove_utf8_visible() of len bytes with
 * its NUL: no byte of input takes more than four of output. */
#define COVE_UTF8_VISIBLE_CAP(len) (4 * (size_t)(len) + 1)

/* Writes s[0..len) to out (capacity cap, always NUL-terminated when cap
 * > 0) as text that shows what it is and cannot change the look of the
 * rest of the line or the screen:
 *   - C0 controls in caret notation (^J, ^[), DEL as ^?; tab is kept;
 *   - C1 controls (U+0080-U+009F, CSI among them) as '?';
 *   - characters that reorder, hide or break the text around them as
 *     <U+XXXX>: the bidirectional marks, embeddings, overrides and isolates
 *     (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), the
 *     invisible separators and joiners that carry no shape of their own
 *     (U+200B, U+2060, U+FEFF), the line and paragraph separators
 *     (U+2028, U+2029), the deprecated format controls (U+206A-U+206F)
 *     and the interlinear annotation marks (U+FFF9-U+FFFB);
 *   - a byte that is not part of well-formed UTF-8 as '?'.
 * U+200C and U+200D (zero-width non-joiner and joiner) are kept: emoji
 * sequences and several scripts need them, and they move nothing.
 * Output stops before an item that does not fit, so an escape is never
 * cut in half. Returns the bytes written, without the NUL. */
size_t cove_utf8_visible(char *out, size_t cap, const char *s, size_t len);

#endif
