/* Runs a 3-peer election ensemble in one process and prints the leader a
 * quorum confirmed, with its epoch (the fencing token).
 *
 *   cc -std=c99 ensemble.c $(pkg-config --cflags --libs zkelect) -o ensemble
 *   ./ensemble [first-port]
 *
 * The ports first-port .. first-port+5 on 127.0.0.1 must be free
 * (default 23100).
 */
#include <stdio.h>
#include <stdlib.h>
#include <zkelect.h>

int main(int argc, char **argv) {
    int base = argc > 1 ? atoi(argv[1]) : 23100;
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "tickTime=2000\ninitLimit=5\nsyncLimit=2\n"
             "server.1=127.0.0.1:%d:%d\n"
             "server.2=127.0.0.1:%d:%d\n"
             "server.3=127.0.0.1:%d:%d\n",
             base, base + 1, base + 2, base + 3, base + 4, base + 5);

    zkelect_peer *peers[3] = {NULL, NULL, NULL};
    int status = 1;
    for (int i = 0; i < 3; i++) {
        zkelect_result rc = zkelect_peer_new(cfg, i + 1, &peers[i]);
        if (rc == ZKELECT_OK) rc = zkelect_peer_start(peers[i]);
        if (rc != ZKELECT_OK) {
            fprintf(stderr, "peer %d: %s: %s\n", i + 1, zkelect_result_message(rc),
                    zkelect_last_error_message());
            goto out;
        }
    }
    for (int i = 0; i < 3; i++) {
        /* A leader a quorum confirmed, not the bare election result. */
        zkelect_leadership l;
        zkelect_result rc = zkelect_peer_wait_for_confirmed(peers[i], 30000, &l);
        if (rc != ZKELECT_OK) {
            fprintf(stderr, "peer %d: %s\n", i + 1, zkelect_result_message(rc));
            goto out;
        }
        printf("sid %d: %s, leader %lld (epoch %lld)%s\n", i + 1, zkelect_state_name(l.role),
               (long long)l.leader, (long long)l.epoch,
               l.leads_now ? ", leads now: would write with that epoch" : "");
    }
    status = 0;
out:
    for (int i = 0; i < 3; i++) zkelect_peer_free(peers[i]); /* NULL is a no-op */
    return status;
}
