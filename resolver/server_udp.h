/*
 * UDP listener: one per listen address per worker, on a socket bound by the
 * main thread. Queries are read in batches (recvmmsg) into the listener's
 * own buffer; immediate answers are built in place there and the batch goes
 * out with one sendmmsg. Later answers go out with uv_udp_try_send, and only
 * when the socket buffer is full is an answer copied and sent
 * asynchronously.
 */
#ifndef LOKI_SERVER_UDP_H
#define LOKI_SERVER_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct worker;
struct server_udp;

/* Takes ownership of fd. Returns 0 or a negative errno. */
int server_udp_open(struct worker *w, int fd, struct server_udp **out);
/* Stops receiving and closes; freed in the close callback. */
void server_udp_close(struct server_udp *s);
/*
 * Sends an answer to client. Tries synchronously first; if the socket would
 * block, copies the answer and sends it asynchronously. Returns 0 or a
 * negative errno (the answer is then dropped, as UDP allows).
 */
int server_udp_send(struct server_udp *s, const struct sockaddr *client, const uint8_t *msg,
		    size_t len);

#endif
