/*
 * chat_ops.h - the input language of fuzz_chat.c, shared with the seed
 * maker (chat-seeds.c).
 *
 * An input is a list of operations, each one opcode byte (taken modulo
 * FZ_OP_COUNT) followed by its argument bytes; an input that ends in the
 * middle of one reads zeros for the rest. The world holds alice (the chat
 * core under test) in two rooms, the relay, and three others: bob and
 * carol on alice's whitelist, dave not (FZ_OP_WHITELIST changes that).
 * The harness signs every frame it builds with the right identity, so
 * the fuzzer reaches what lies behind the signature checks; bits of the
 * arguments break a signature, replay an old session key and so on.
 *
 * Arguments, byte by byte ("room" is bit 0 of the first byte unless
 * said otherwise; "member" picks bob, carol, dave or alice):
 */
#ifndef COVE_TESTS_FUZZ_CHAT_OPS_H
#define COVE_TESTS_FUZZ_CHAT_OPS_H

enum fz_op {
	/* u16 v: the clock moves on (v & 0x3fff) units of 1 ms, 100 ms, 10 s
	 * or 1 min (v >> 14), and the core's timers run */
	FZ_OP_TICK,
	/* a: a member's INI. member (a >> 1) & 3; session key (a >> 3) & 3:
	 * a new one, the current one, the one before, or the last INI's very
	 * bytes again; stamped (a >> 5) & 3: now, over a day ago, a minute
	 * ago, an hour ahead; a & 0x80: a bad signature */
	FZ_OP_INI,
	/* a: the relay's "you are first"; session key (a >> 1) & 3: alice's
	 * current, her previous, another; a & 0x08: a bad signature */
	FZ_OP_FIRST,
	/* a: the relay asks alice to give the key to member (a >> 1) & 3,
	 * sealed to its session key (a >> 3) & 3: current, previous, another;
	 * a & 0x20: asks bob instead of alice; a & 0x40: a bad signature */
	FZ_OP_ASK,
	/* a, b, c: a KEY to alice. from member (a >> 1) & 3; epoch (a >> 3) &
	 * 7: alice's, +1, +c, the c-th key the world knows (that very key),
	 * the last epoch number, 0, too high for a first key, too far a step;
	 * b & 0x0f: who the view names (alice, bob, carol, dave); b & 0x10:
	 * sealed to alice's previous session key; 0x20: the commitment of
	 * another key; 0x40: a bad signature; 0x80: addressed to bob */
	FZ_OP_KEY,
	/* a, b: the relay names alice to make an epoch: (a >> 1) & 3: hers
	 * +1, hers, hers +b, too far; a & 0x08: names bob; 0x10: bad signature */
	FZ_OP_REK,
	/* a, b, c, len, len bytes: a DAT from member (a >> 1) & 3. Content
	 * (a >> 3) & 7: text, the bytes as its plaintext (len is then a u16),
	 * HOLDERS, GONE, RESEND, CATCHUP, text under a key other than its
	 * commitment says, text of an epoch to come.
	 * b & 0x0f: which known key; number (b >> 4) & 3: the next, c ahead,
	 * c back, unnumbered; (b >> 6): as is, an old seq, an old stamp, a
	 * bad signature. c: HOLDERS/GONE: whom they name (bits of alice, bob,
	 * carol, dave, the relay); RESEND/CATCHUP: how far back */
	FZ_OP_DAT,
	/* a: member (a >> 1) & 3 leaves: (a >> 3) & 3: its own BYE, the
	 * relay's, a BYE naming another, a bad signature */
	FZ_OP_BYE,
	/* a, b, len, len bytes: the relay's ERR with code a & 15, in room
	 * a >> 7 (b & 1: in none), about (b >> 1) & 3: nothing, alice's last
	 * RDY there, her last DAT there, her (b >> 3)-th frame back; the text
	 * is the bytes */
	FZ_OP_ERR,
	/* a, u16 rate, u16 burst: the relay's welcome; a & 1: to bob */
	FZ_OP_WLC,
	/* u16 len, len bytes: a frame exactly as these bytes encode it */
	FZ_OP_RAW,
	/* a, len, len bytes: the user sends the bytes 1 << ((a >> 2) % 11)
	 * times; a & 2: to the first room (room NULL) */
	FZ_OP_SEND,
	/* a: the user asks for a rekey; a & 2: of every room */
	FZ_OP_REKEY,
	/* the link goes */
	FZ_OP_LINK_DOWN,
	/* a: a new link; a & 1: the relay's welcome follows; a & 2: the
	 * relay tells who is here again (each member's last INI); a & 4: a
	 * relay that keeps rooms: alice's SYNs are not refused, and her rooms
	 * catch up until an UPD */
	FZ_OP_LINK_UP,
	/* a: alice's whitelist becomes alice, bob, carol, dave by bits 0-3 */
	FZ_OP_WHITELIST,
	/* alice leaves every room */
	FZ_OP_LEAVE,
	/* a: one of the last frames fed to alice, fed again */
	FZ_OP_REPLAY,
	/* a, u16 pos, v: one of the last frames fed to alice with byte pos
	 * (modulo its length) xored with v, fed again when it still decodes */
	FZ_OP_MUTATE,
	/* the front-end's questions: who is here, what is queued, ... */
	FZ_OP_QUERY,
	/* a: member (a >> 1) & 3 restarts: a new session id, numbers from 0 */
	FZ_OP_RESTART,
	/* a: one of the last frames alice sent, handed back to her */
	FZ_OP_ECHO,
	/* a, u16 rseq: the relay forwards a stored frame numbered rseq: one
	 * of the last frames fed to alice (a >> 1), or with a & 1 one of the
	 * last she sent (a frame no room stores, often) */
	FZ_OP_FWD,
	/* a: the relay's UPD in room a & 1, missed (a >> 1) & 3: none, one,
	 * a thousand, huge; a & 0x80: a bad signature */
	FZ_OP_UPD,
	/* a: the relay's PRS in room a & 1 for member (a >> 1) & 3, here
	 * when a & 0x08; a & 0x80: a bad signature */
	FZ_OP_PRS,
	FZ_OP_COUNT
};

#endif
