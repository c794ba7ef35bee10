/*
 * mqtt.c - just enough MQTT 3.1.1 (OASIS standard, 2014) to put the same
 * load on a broker: CONNECT with a clean session, SUBSCRIBE at QoS 0,
 * PUBLISH at QoS 0, and reading PUBLISH packets back.
 *
 * Every packet is a fixed header (type and flags in one byte, then the
 * remaining length in 1-4 bytes of 7 bits each, least significant first)
 * and the rest. Strings are a u16be length and the bytes.
 *
 * The receive path is the harness's own cost in every number measured
 * against a broker, so it is kept short: once connected, the socket is
 * read by a plain read event into one fixed buffer per client (no
 * evbuffer, no allocation, no copy of a packet that is all there), the
 * clock is read once per read() right after the bytes arrive, and each
 * PUBLISH is handed over in place with that time. Writing stays with the
 * bufferevent (the publishers need its queue and low-water mark), and a
 * PUBLISH is written at once when nothing is queued before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bench/bn.h"

#define MQTT_CONNECT 0x10
#define MQTT_CONNACK 0x20
#define MQTT_PUBLISH 0x30
#define MQTT_SUBSCRIBE 0x82 /* the flags of SUBSCRIBE are fixed at 0010 */
#define MQTT_SUBACK 0x90
#define MQTT_PINGRESP 0xd0

/* Anything larger from the broker is a bug of ours or of the broker;
 * the read buffer holds one such packet whole. */
#define MQTT_MAX_PACKET (256u << 10)
#define MQTT_RBUF (MQTT_MAX_PACKET + 8)

struct bn_mqtt {
	struct event_base *base;
	struct bn_mqtt_conf conf;
	struct bufferevent *bev;
	struct event *rd;            /* the socket's reads, once connected */
	int ready, dead;
	size_t drain_low;
	void (*on_drain)(void *arg);
	void *drain_arg;
	size_t rlen;                 /* bytes in rbuf not yet taken */
	uint8_t rbuf[MQTT_RBUF];
};

static size_t put_len(uint8_t *out, size_t n)
{
	size_t i = 0;

	do {
		uint8_t b = n % 128;

		n /= 128;
		out[i++] = (uint8_t)(b | (n ? 0x80 : 0));
	} while (n);
	return i;
}

static void put_str(struct evbuffer *b, const char *s)
{
	size_t len = strlen(s);
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	evbuffer_add(b, hdr, 2);
	evbuffer_add(b, s, len);
}

static void fixed_header(struct evbuffer *b, uint8_t type, size_t rest)
{
	uint8_t hdr[5];
	size_t n;

	hdr[0] = type;
	n = put_len(hdr + 1, rest);
	evbuffer_add(b, hdr, 1 + n);
}

static void go_down(struct bn_mqtt *m, const char *why)
{
	if (m->dead)
		return;
	m->dead = 1;
	bufferevent_disable(m->bev, EV_READ | EV_WRITE);
	if (m->rd)
		event_del(m->rd);
	if (why)
		bn_err("mqtt %s: %s", m->conf.client_id, why);
	if (m->conf.down)
		atomic_fetch_add(m->conf.down, 1);
}

static void became_ready(struct bn_mqtt *m)
{
	m->ready = 1;
	if (m->conf.ready)
		atomic_fetch_add(m->conf.ready, 1);
}

static void send_connect(struct bn_mqtt *m)
{
	struct evbuffer *out = bufferevent_get_output(m->bev);
	static const uint8_t var[] = {
		0, 4, 'M', 'Q', 'T', 'T', /* protocol name */
		4,                        /* level: 3.1.1 */
		0x02,                     /* flags: clean session */
		0, 60,                    /* keepalive, seconds */
	};

	fixed_header(out, MQTT_CONNECT, sizeof(var) + 2 + strlen(m->conf.client_id));
	evbuffer_add(out, var, sizeof(var));
	put_str(out, m->conf.client_id);
}

static void send_subscribe(struct bn_mqtt *m)
{
	struct evbuffer *out = bufferevent_get_output(m->bev);
	static const uint8_t id[2] = { 0, 1 };
	uint8_t qos = 0;

	fixed_header(out, MQTT_SUBSCRIBE, 2 + 2 + strlen(m->conf.topic) + 1);
	evbuffer_add(out, id, 2);
	put_str(out, m->conf.topic);
	evbuffer_add(out, &qos, 1);
}

static int on_packet(struct bn_mqtt *m, uint8_t type, const uint8_t *p, size_t len,
		     uint64_t t_arrival)
{
	size_t tlen;

	switch (type & 0xf0) {
	case MQTT_CONNACK:
		if (len != 2 || p[1] != 0) {
			go_down(m, "the broker refused the connection");
			return -1;
		}
		if (m->conf.sub)
			send_subscribe(m);
		else
			became_ready(m);
		return 0;
	case MQTT_SUBACK:
		if (len != 3 || p[2] == 0x80) {
			go_down(m, "the broker refused the subscription");
			return -1;
		}
		became_ready(m);
		return 0;
	case MQTT_PUBLISH:
		if ((type & 0x06) != 0 || len < 2) { /* QoS 0 only: no packet id */
			go_down(m, "a PUBLISH above QoS 0");
			return -1;
		}
		tlen = (size_t)p[0] << 8 | p[1];
		if (2 + tlen > len) {
			go_down(m, "a PUBLISH with a topic longer than the packet");
			return -1;
		}
		if (m->conf.on_publish)
			m->conf.on_publish(m->conf.arg, p + 2 + tlen, len - 2 - tlen, t_arrival);
		return 0;
	case MQTT_PINGRESP:
		return 0;
	}
	go_down(m, "an MQTT packet this client does not expect");
	return -1;
}

/* Takes every whole packet at the front of rbuf, all arrived at t;
 * keeps what is left of a packet for the next read. Returns 0, or -1
 * once the client is down. */
static int take_packets(struct bn_mqtt *m, uint64_t t)
{
	size_t off = 0;

	while (!m->dead) {
		const uint8_t *b = m->rbuf + off;
		size_t have = m->rlen - off, n = 0, hl;
		int complete = 0;

		if (have < 2)
			break;
		for (hl = 1; hl < 5 && hl < have; hl++) {
			n |= (size_t)(b[hl] & 0x7f) << (7 * (hl - 1));
			if (!(b[hl] & 0x80)) {
				complete = 1;
				hl++;
				break;
			}
		}
		if (!complete) {
			if (have >= 5) {
				go_down(m, "a remaining length longer than 4 bytes");
				return -1;
			}
			break;
		}
		if (n > MQTT_MAX_PACKET) {
			go_down(m, "a packet above 256 KiB");
			return -1;
		}
		if (have < hl + n)
			break;
		if (on_packet(m, b[0], b + hl, n, t) != 0)
			return -1;
		off += hl + n;
	}
	if (off) {
		memmove(m->rbuf, m->rbuf + off, m->rlen - off);
		m->rlen -= off;
	}
	return m->dead ? -1 : 0;
}

/* Reads what the socket has, a buffer at a time: one clock reading per
 * read(), taken as soon as it returns. */
static void read_ready(evutil_socket_t fd, short what, void *arg)
{
	struct bn_mqtt *m = arg;

	(void)what;
	while (!m->dead) {
		size_t room = sizeof(m->rbuf) - m->rlen;
		ssize_t got = recv(fd, m->rbuf + m->rlen, room, 0);
		uint64_t t = bn_now_ns();

		if (got == 0) {
			go_down(m, "the broker closed the connection");
			return;
		}
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			go_down(m, "connection error");
			return;
		}
		m->rlen += (size_t)got;
		if (take_packets(m, t) != 0)
			return;
		if ((size_t)got < room)
			return; /* the socket had less than there was room for: drained */
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct bn_mqtt *m = arg;
	void (*fn)(void *) = m->on_drain;

	if (fn && evbuffer_get_length(bufferevent_get_output(bev)) <= m->drain_low) {
		m->on_drain = NULL;
		fn(m->drain_arg);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bn_mqtt *m = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bn_nodelay(bev);
		/* from now on the socket's reads are ours (see the top) */
		bufferevent_disable(bev, EV_READ);
		m->rd = event_new(m->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST, read_ready,
				  m);
		if (!m->rd || event_add(m->rd, NULL) != 0)
			go_down(m, "cannot watch the socket");
		return;
	}
	go_down(m, (what & BEV_EVENT_EOF) ? "the broker closed the connection"
					  : "connection error");
}

struct bn_mqtt *bn_mqtt_new(struct event_base *base, const struct bn_mqtt_conf *conf)
{
	struct bn_mqtt *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base = base;
	m->conf = *conf;
	m->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!m->bev) {
		free(m);
		return NULL;
	}
	bufferevent_setcb(m->bev, NULL, write_cb, event_cb, m);
	return m;
}

void bn_mqtt_free(struct bn_mqtt *m)
{
	if (!m)
		return;
	if (m->rd)
		event_free(m->rd);
	bufferevent_free(m->bev);
	free(m);
}

int bn_mqtt_connect(struct bn_mqtt *m)
{
	if (bn_connect(m->bev, m->conf.host, m->conf.port) != 0) {
		go_down(m, "cannot connect");
		return -1;
	}
	send_connect(m);
	return 0;
}

int bn_mqtt_publish(struct bn_mqtt *m, const char *topic, const uint8_t *payload, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(m->bev);

	if (m->dead || !m->ready)
		return -1;
	fixed_header(out, MQTT_PUBLISH, 2 + strlen(topic) + len);
	put_str(out, topic);
	evbuffer_add(out, payload, len);
	return 0;
}

int bn_mqtt_publish_now(struct bn_mqtt *m, const char *topic, const uint8_t *payload,
			size_t len)
{
	uint8_t pkt[8 + 2 + 256 + 4096];
	size_t tlen = strlen(topic), n, rest = 2 + tlen + len;
	ssize_t put;

	if (m->dead || !m->ready)
		return -1;
	if (evbuffer_get_length(bufferevent_get_output(m->bev)) > 0 || tlen > 256 ||
	    len > 4096)
		return bn_mqtt_publish(m, topic, payload, len);
	pkt[0] = MQTT_PUBLISH;
	n = 1 + put_len(pkt + 1, rest);
	pkt[n++] = (uint8_t)(tlen >> 8);
	pkt[n++] = (uint8_t)tlen;
	memcpy(pkt + n, topic, tlen);
	memcpy(pkt + n + tlen, payload, len);
	n += tlen + len;
	put = send(bufferevent_getfd(m->bev), pkt, n, MSG_NOSIGNAL);
	if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		go_down(m, "connection error");
		return -1;
	}
	if (put < 0)
		put = 0;
	/* what the kernel did not take goes out through the bufferevent */
	if ((size_t)put < n)
		evbuffer_add(bufferevent_get_output(m->bev), pkt + put, n - (size_t)put);
	return 0;
}

size_t bn_mqtt_unsent(const struct bn_mqtt *m)
{
	return evbuffer_get_length(bufferevent_get_output(m->bev));
}

void bn_mqtt_on_drain(struct bn_mqtt *m, size_t low, void (*fn)(void *arg), void *arg)
{
	m->drain_low = low;
	m->on_drain = fn;
	m->drain_arg = arg;
	bufferevent_setwatermark(m->bev, EV_WRITE, low, 0);
}
