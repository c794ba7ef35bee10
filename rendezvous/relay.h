/*
 * relay.h - what the rendezvous does with each frame a node sends: the
 * checks of PROTOCOL.md 5 (type, sender, whitelist, sequence, rate,
 * signature), with the signature checked on the verify pool when that is
 * worth it, and then the room logic (room/) for what the frame means.
 *
 * It is what connections hand their frames to (rv_server.cb): a
 * connection that is up gets a client here, with its member of each room
 * (a room peer reached through rv_conn_link) and its FIFO of frames
 * waiting for their turn.
 */
#ifndef COVE_RV_RELAY_H
#define COVE_RV_RELAY_H

#include "rendezvous/conn.h"
#include "wire/frame.h"

extern const struct rv_conn_cb rv_relay_cb;

/* The check of a node's frame: its signature by its sender (vf_check, for
 * the verify pool; a pure function of f). */
int rv_relay_check(const struct cove_frame *f);

#endif
