/*
 * The agent's end of the address stream (DESIGN.md, "The address stream"):
 * a libuv Unix-socket client that frames lines, validates hello and the seq
 * of every message, hands each message to the owner and, at the end of every
 * read callback, asks the owner to commit the batch, then acks its highest
 * seq. Any protocol error disconnects; every disconnect or failed connect
 * schedules a reconnect with exponential backoff (100 ms doubling up to a
 * 5 s cap; reset once a snapshot has been committed). The client never
 * touches the sets itself: on a disconnect they stay as they are.
 */
#ifndef LOKI_FWSYNC_CLIENT_H
#define LOKI_FWSYNC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "msg.h"

#define CLIENT_BACKOFF_MIN_MS 100
#define CLIENT_BACKOFF_MAX_MS 5000

struct client_ops {
	/* One validated add, del or synced message; a negative errno disconnects. */
	int (*on_msg)(void *arg, const struct msg *m);
	/* End of a read callback: commit the batch; *ack_seq is the seq to
	 * ack (0: none). A negative errno disconnects. */
	int (*on_batch)(void *arg, uint64_t *ack_seq);
	/* The connection is gone: drop whatever is queued. */
	void (*on_disconnect)(void *arg);
};

struct client_conf {
	const char *path;
	bool acks;		 /* subscribe with "acks":true and ack batches */
	uint64_t backoff_min_ms; /* 0: CLIENT_BACKOFF_MIN_MS */
	uint64_t backoff_max_ms; /* 0: CLIENT_BACKOFF_MAX_MS */
};

struct client_stats {
	uint64_t connects; /* connections that got a hello */
	uint64_t disconnects;
	uint64_t messages;
	uint64_t acks;
};

struct client;

/* Allocates the client; nothing runs until client_start. -ENOMEM. */
int client_new(uv_loop_t *loop, const struct client_conf *conf, const struct client_ops *ops,
	       void *arg, struct client **out);
/* Connects now; later attempts follow the backoff. */
int client_start(struct client *c);
/* Closes the connection and the timer; the loop ends when they are closed. */
void client_stop(struct client *c);
/* Frees a client whose handles are closed (after uv_run returned). */
void client_free(struct client *c);

const struct client_stats *client_get_stats(const struct client *c);

#endif
