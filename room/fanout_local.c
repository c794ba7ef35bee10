/*
 * fanout_local.c - the fan-out backend of a relay on its own: every
 * member of a room is a connection to this relay.
 */
#include "room/fanout.h"
#include "room/room.h"

static size_t local_send(void *ctx, struct rm_room *r, const struct rm_member *skip,
			 const struct rm_out *o, enum rm_to to)
{
	(void)ctx;
	return rm_room_deliver(r, skip, o, to);
}

const struct rm_fanout_ops rm_fanout_local = {
	.name = "local",
	.send = local_send,
};
