/*
 * utf8.h - UTF-8 validation.
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

#endif
