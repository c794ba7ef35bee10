/*
 * sign.c - the relay's own frames (sign.h).
 */
#include <string.h>

#include "cli/cli.h"
#include "proto/msg.h"
#include "rendezvous/sign.h"

void rv_signer_init(struct rv_signer *s, const struct cove_ident *id)
{
	s->id = id;
	s->seq = cove_now_us();
}

int rv_sign(struct rv_signer *s, struct cove_frame *f)
{
	memcpy(f->from, s->id->pk, COVE_ID_LEN);
	f->seq = ++s->seq;
	f->ts = cove_now_ms();
	return cove_msg_sign(f, s->id);
}
