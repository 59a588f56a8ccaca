/* mtd_conns: every open connection of the HTTP front, for what libmicrohttpd does not do
 * itself. Its connection timeout is an idle timeout: a client sending one header byte
 * every few seconds is never idle, and 4,100 of them locked every device out. So:
 *
 *  - a request head must be complete within head_timeout of the connection opening
 *    (or of its previous answer, on a kept-alive connection), and an admitted body
 *    within body_timeout of its head; past that the connection is shut down;
 *  - connections still waiting for their head may hold at most max_pending of the
 *    connection slots: the rest is a reserve for requests that have been admitted
 *    (authenticated), and when a new connection would pass max_pending, the oldest
 *    waiting one is shut down to make room, so a newcomer with a quick head always
 *    gets in while slow ones rotate out;
 *  - when waiting connections hold half their slots, an address holding
 *    max_per_address connections that have not authenticated makes room for its new
 *    one by shedding its own oldest waiting one; a connection that carried an
 *    authenticated request counts no more. Nothing is refused at the door: a fleet
 *    behind one NAT address always gets in (libmicrohttpd's per-address limit counted
 *    every connection and refused the devices past 256).
 *
 * Each shed connection is counted in /metrics (mtd_shed_total by reason) and a summary
 * line is logged every few seconds, never a line per connection. Connections are shut
 * down (shutdown(2)), never closed here: libmicrohttpd sees the end and closes them in
 * its own thread, and tells mtd_conns_closed before the descriptor is released, under
 * the same lock, so a descriptor reused by a new connection is never shut down. */
#ifndef MTD_CONNS_H
#define MTD_CONNS_H

#include "collector/mtd_metrics.h"

typedef struct mtd_conns mtd_conns;
typedef struct mtd_conn mtd_conn;

typedef enum { MTD_CONN_HEAD, MTD_CONN_BODY, MTD_CONN_WORK } mtd_conn_phase;

typedef struct {
    unsigned max_pending;     /* connections waiting for a head, at most */
    unsigned head_timeout_s;  /* 0: no deadline */
    unsigned body_timeout_s;
    unsigned max_per_address; /* unauthenticated connections from one address (0: any) */
} mtd_conns_opts;

int mtd_conns_start(const mtd_conns_opts *o, mtd_metrics *m, mtd_conns **out);
void mtd_conns_stop(mtd_conns *cs);
/* A new connection on fd from address ip, waiting for its head (or shut down at once
 * when ip is at its limit). */
mtd_conn *mtd_conns_opened(mtd_conns *cs, int fd, const char *ip);
/* The connection carried an authenticated request: its address's limit spares it. */
void mtd_conns_authenticated(mtd_conns *cs, mtd_conn *c);
void mtd_conns_closed(mtd_conns *cs, mtd_conn *c);
void mtd_conns_phase(mtd_conns *cs, mtd_conn *c, mtd_conn_phase p);
/* Connections open now, and waiting for their head. */
void mtd_conns_count(mtd_conns *cs, unsigned *open, unsigned *pending);

#endif
