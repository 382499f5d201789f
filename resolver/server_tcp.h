/*
 * TCP listener and client connections (RFC 7766): 2-byte length framing,
 * several queries per connection, pipelined and answered in the order they
 * complete, an idle timeout, a cap on clients across all workers, and a cap
 * on queries in flight per connection (reading pauses above it).
 */
#ifndef LOKI_SERVER_TCP_H
#define LOKI_SERVER_TCP_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct server_tcp;
struct tcp_conn;

int server_tcp_open(struct worker *w, int fd, struct server_tcp **out);
void server_tcp_close(struct server_tcp *s);

/* Queues an answer on the connection (copied). Returns 0 or a negative errno. */
int tcp_conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len);
/* A query holds a reference on its connection while in flight. */
void tcp_conn_ref(struct tcp_conn *c);
void tcp_conn_unref(struct tcp_conn *c);
/* Closes every client connection of the worker that has nothing in flight;
 * the others close when their last answer is written. */
void tcp_conns_drain(struct worker *w);
/* Closes every client connection of the worker now. */
void tcp_conns_close_all(struct worker *w);

#endif
