/* Runs one election peer from a zoo.cfg and prints each election as it
 * happens, until SIGINT or SIGTERM.
 *
 *   cc -std=c99 peer.c $(pkg-config --cflags --libs zkelect) -o peer
 *   ./peer zoo.cfg 1
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <zkelect.h>

/* Runs on the library's notifier thread, one event at a time, in order. */
static void on_event(void *userdata, const zkelect_event *e) {
    FILE *out = userdata;
    switch (e->kind) {
    case ZKELECT_EVENT_STATE_CHANGED:
        fprintf(out, "sid %lld: %s\n", (long long)e->my_sid, zkelect_state_name(e->new_state));
        break;
    case ZKELECT_EVENT_LEADER_ELECTED:
        fprintf(out, "sid %lld: elected leader %lld, I am %s (round %lld, peer epoch %lld, %llu ms)\n",
                (long long)e->my_sid, (long long)e->leader, zkelect_state_name(e->new_state),
                (long long)e->election_epoch, (long long)e->peer_epoch,
                (unsigned long long)e->elapsed_ms);
        break;
    case ZKELECT_EVENT_LEADER_LOST:
        fprintf(out, "sid %lld: leader %lld lost (%s)\n", (long long)e->my_sid, (long long)e->leader,
                zkelect_reason_name(e->reason));
        break;
    /* The leadership to act on: a quorum confirmed it, with this epoch. */
    case ZKELECT_EVENT_LEADING:
        fprintf(out, "sid %lld: leading, epoch %lld (tag every write with it)\n",
                (long long)e->my_sid, (long long)e->epoch);
        break;
    case ZKELECT_EVENT_FOLLOWING:
        fprintf(out, "sid %lld: following %lld, epoch %lld\n", (long long)e->my_sid,
                (long long)e->leader, (long long)e->epoch);
        break;
    case ZKELECT_EVENT_LEADERSHIP_LOST:
        fprintf(out, "sid %lld: no longer leading epoch %lld (%s)\n", (long long)e->my_sid,
                (long long)e->epoch, zkelect_reason_name(e->reason));
        break;
    default:
        break; /* connection events, and kinds added later */
    }
    fflush(out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s zoo.cfg [myid]\n", argv[0]);
        return 2;
    }
    int64_t myid = argc > 2 ? atoll(argv[2]) : ZKELECT_MYID_FROM_DATADIR;

    /* Block the stop signals before the library starts its threads, then
     * wait for them synchronously. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    zkelect_peer *peer = NULL;
    zkelect_result rc = zkelect_peer_from_file(argv[1], myid, &peer);
    if (rc == ZKELECT_OK) rc = zkelect_peer_set_event_callback(peer, on_event, stdout, NULL);
    if (rc == ZKELECT_OK) rc = zkelect_peer_start(peer);
    if (rc != ZKELECT_OK) {
        fprintf(stderr, "%s: %s\n", zkelect_result_message(rc), zkelect_last_error_message());
        zkelect_peer_free(peer);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    zkelect_peer_free(peer); /* stops, joins the threads, then frees */
    return 0;
}
