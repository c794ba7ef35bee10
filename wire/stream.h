/*
 * stream.h - reassembles length-prefixed records from a byte stream.
 *
 * TCP delivers bytes in arbitrary chunks; Cove's link carries records,
 * each a 4-byte big-endian length L followed by L bytes. Feed the stream
 * whatever arrived and it hands back whole records, one at a time. A
 * length of 0 or above the stream's maximum is refused as soon as its four
 * bytes are in, before any memory is set aside for the record, and the
 * stream holds at most one record's bytes at a time.
 */
#ifndef COVE_WIRE_STREAM_H
#define COVE_WIRE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define COVE_STREAM_HDR 4

struct cove_stream {
	size_t max;        /* largest record accepted */
	uint8_t hdr[COVE_STREAM_HDR];
	size_t hdr_have;   /* header bytes buffered */
	size_t need;       /* record length, once the header is in */
	size_t have;       /* record bytes buffered */
	uint8_t *buf;      /* record buffer, owned */
	size_t cap;
	int failed;        /* a bad prefix was seen: the stream is done */
};

/* Prepares s for records of at most max bytes. Allocates nothing. */
void cove_stream_init(struct cove_stream *s, size_t max);

/* Changes the maximum (between records; e.g. after a handshake). */
void cove_stream_set_max(struct cove_stream *s, size_t max);

/* Frees the buffer; s may be initialised again. */
void cove_stream_free(struct cove_stream *s);

/* Consumes bytes from data[0..len) up to the end of the next record.
 * *used receives how many were consumed. Returns 1 when a record is
 * complete: *rec and *rec_len then describe it, pointing into s's buffer
 * or into data, valid until the next call. Returns 0 when all of data
 * was consumed without completing a record. Returns COVE_ERR_FRAME_SIZE
 * (a zero or oversized length; the stream refuses all further input) or
 * COVE_ERR_NOMEM. Call again with the rest of data while *used < len. */
int cove_stream_feed(struct cove_stream *s, const uint8_t *data, size_t len, size_t *used,
		     const uint8_t **rec, size_t *rec_len);

/* Bytes of a partial record held (header included), for idle checks. */
size_t cove_stream_pending(const struct cove_stream *s);

#endif
