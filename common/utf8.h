/*
 * utf8.h - UTF-8 validation.
 */
#ifndef COVE_COMMON_UTF8_H
#define COVE_COMMON_UTF8_H

#include <stddef.h>

/* Whether s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). NUL bytes are not allowed. */
int cove_utf8_valid(const char *s, size_t len);

#endif
