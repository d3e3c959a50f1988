/* Tests of the C ABI, run by tests/c_abi.rs under AddressSanitizer and
 * UBSan, and once under valgrind memcheck.
 *
 * Each test prints "ok NAME" or fails with a message and exit status 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zkelect.h>

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, " (last error: %s)\n", zkelect_last_error_message()); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define OK(call) CHECK((call) == ZKELECT_OK, "%s", #call)

/* Binds a socket to a free loopback port and returns it (the port in *port). */
static int bind_free_port(int *port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0, "getsockname");
    *port = ntohs(a.sin_port);
    return s;
}

/* A config for n servers on fresh loopback ports: all held open until each
 * is chosen, so no two are the same. */
static void make_config(char *buf, size_t size, int n, const char *extra) {
    int socks[16], ports[16];
    CHECK(2 * n <= 16, "n %d", n);
    for (int i = 0; i < 2 * n; i++) socks[i] = bind_free_port(&ports[i]);
    for (int i = 0; i < 2 * n; i++) close(socks[i]);
    int off = snprintf(buf, size, "tickTime=2000\ninitLimit=5\nsyncLimit=2\n%s\n", extra);
    for (int i = 1; i <= n; i++)
        off += snprintf(buf + off, size - (size_t)off, "server.%d=127.0.0.1:%d:%d\n", i,
                        ports[2 * i - 2], ports[2 * i - 1]);
}

static int count_dir(const char *path) {
    DIR *d = opendir(path);
    int n = 0;
    CHECK(d != NULL, "opendir %s", path);
    while (readdir(d) != NULL) n++;
    closedir(d);
    return n;
}

static int threads(void) { return count_dir("/proc/self/task"); }
static int fds(void) { return count_dir("/proc/self/fd"); }

/* ---- event recording ---------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    int elected;
    int64_t leader;
    int state_changes;
    int freed;
    int order_ok;      /* the decision's state change before LEADER_ELECTED, no no-op change */
    int saw_decision;
} recorder;

static void recorder_init(recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->order_ok = 1;
}

static void on_event(void *userdata, const zkelect_event *e) {
    recorder *r = userdata;
    CHECK(e->struct_size >= sizeof(zkelect_event), "struct_size %u", e->struct_size);
    pthread_mutex_lock(&r->mu);
    if (e->kind == ZKELECT_EVENT_STATE_CHANGED) {
        r->state_changes++;
        if (e->old_state == e->new_state) r->order_ok = 0; /* no LOOKING -> LOOKING */
        if (e->old_state == ZKELECT_STATE_LOOKING) r->saw_decision = 1;
    } else if (e->kind == ZKELECT_EVENT_LEADER_ELECTED) {
        if (!r->saw_decision) r->order_ok = 0;
        r->elected++;
        r->leader = e->leader;
    }
    pthread_mutex_unlock(&r->mu);
}

static void on_free(void *userdata) {
    recorder *r = userdata;
    pthread_mutex_lock(&r->mu);
    r->freed++;
    pthread_mutex_unlock(&r->mu);
}

static int recorder_get(recorder *r, int *field) {
    pthread_mutex_lock(&r->mu);
    int v = *field;
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* Waits (up to 30 s) until *field reaches at least want. */
static int await_count(recorder *r, int *field, int want) {
    for (int i = 0; i < 3000; i++) {
        if (recorder_get(r, field) >= want) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_version(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ZKELECT_VERSION_MAJOR, ZKELECT_VERSION_MINOR,
             ZKELECT_VERSION_PATCH);
    CHECK(strcmp(zkelect_version(), want) == 0, "version %s vs %s", zkelect_version(), want);
    CHECK(strcmp(zkelect_version(), ZKELECT_VERSION_STRING) == 0, "version string");
    printf("ok version\n");
}

static void test_ensemble_and_callbacks(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p[3];
    recorder r[3];
    for (int i = 0; i < 3; i++) {
        recorder_init(&r[i]);
        OK(zkelect_peer_new(cfg, i + 1, &p[i]));
        OK(zkelect_peer_set_event_callback(p[i], on_event, &r[i], on_free));
    }
    for (int i = 0; i < 3; i++) OK(zkelect_peer_start(p[i]));
    /* All three agree; under valgrind a slow peer's vote may miss the
     * finalize wait, so the winner is not asserted to be sid 3. */
    int64_t leader = -1;
    for (int i = 0; i < 3; i++) {
        zkelect_leader l;
        OK(zkelect_peer_wait_for_leader(p[i], 30000, &l));
        if (leader < 0) leader = l.leader;
        CHECK(l.leader == leader, "leader %lld vs %lld", (long long)l.leader, (long long)leader);
        CHECK(l.state == (l.leader == i + 1 ? ZKELECT_STATE_LEADING : ZKELECT_STATE_FOLLOWING),
              "state %d", l.state);
        zkelect_vote v;
        OK(zkelect_peer_get_vote(p[i], &v));
        CHECK(v.leader == leader && v.state == l.state, "vote %lld %d", (long long)v.leader,
              v.state);
        int64_t sid = 0;
        OK(zkelect_peer_get_sid(p[i], &sid));
        CHECK(sid == i + 1, "sid");
        zkelect_stats st;
        OK(zkelect_peer_get_stats(p[i], &st));
        CHECK(st.running == 1 && st.state == l.state, "stats state %d", st.state);
        CHECK(st.looking_count >= 1 && st.elections >= 1, "stats looking %llu elections %llu",
              (unsigned long long)st.looking_count, (unsigned long long)st.elections);
        CHECK(st.total_election_ms >= st.last_election_ms, "stats election time");
        CHECK(st.leader == leader || st.leader == -1, "stats leader %lld", (long long)st.leader);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(await_count(&r[i], &r[i].elected, 1), "elected event for sid %d", i + 1);
        pthread_mutex_lock(&r[i].mu);
        CHECK(r[i].leader == leader && r[i].order_ok, "event leader/order");
        pthread_mutex_unlock(&r[i].mu);
    }
    /* Replacing the callback frees the old userdata exactly once. */
    recorder other;
    recorder_init(&other);
    OK(zkelect_peer_set_event_callback(p[0], on_event, &other, on_free));
    CHECK(await_count(&r[0], &r[0].freed, 1), "old userdata freed on replace");
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    /* free joined the notifier: userdata is released by now, exactly once. */
    CHECK(other.freed == 1, "freed %d", other.freed);
    for (int i = 1; i < 3; i++) CHECK(r[i].freed == 1, "freed %d", r[i].freed);
    CHECK(r[0].freed == 1, "replaced callback freed once (%d)", r[0].freed);
    printf("ok ensemble_and_callbacks\n");
}

/* Stops (or frees) its own peer from inside the callback. */
typedef struct {
    zkelect_peer *peer;
    int do_free;
    volatile int done;
    pthread_mutex_t mu;
} self_stop;

static void stop_in_callback(void *userdata, const zkelect_event *e) {
    self_stop *s = userdata;
    if (e->kind != ZKELECT_EVENT_LEADER_ELECTED) return;
    pthread_mutex_lock(&s->mu);
    if (!s->done) {
        if (s->do_free) {
            zkelect_peer_free(s->peer);
        } else {
            CHECK(zkelect_peer_stop(s->peer) == ZKELECT_OK, "stop from callback");
            zkelect_vote v;
            CHECK(zkelect_peer_get_vote(s->peer, &v) == ZKELECT_OK, "get_vote after stop");
        }
        s->done = 1;
    }
    pthread_mutex_unlock(&s->mu);
}

static void test_stop_and_free_from_callback(void) {
    for (int do_free = 0; do_free <= 1; do_free++) {
        char cfg[1024];
        make_config(cfg, sizeof cfg, 3, "finalizeWait=20");
        zkelect_peer *p[3];
        for (int i = 0; i < 3; i++) OK(zkelect_peer_new(cfg, i + 1, &p[i]));
        self_stop s = {p[0], do_free, 0, PTHREAD_MUTEX_INITIALIZER};
        OK(zkelect_peer_set_event_callback(p[0], stop_in_callback, &s, NULL));
        for (int i = 0; i < 3; i++) OK(zkelect_peer_start(p[i]));
        int waited = 0;
        while (1) {
            pthread_mutex_lock(&s.mu);
            int d = s.done;
            pthread_mutex_unlock(&s.mu);
            if (d) break;
            CHECK(++waited < 3000, "callback never stopped its peer");
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!do_free) {
            zkelect_leader l;
            CHECK(zkelect_peer_wait_for_leader(p[0], 10, &l) == ZKELECT_ERR_NOT_RUNNING,
                  "stopped peer");
            zkelect_peer_free(p[0]);
        }
        for (int i = 1; i < 3; i++) zkelect_peer_free(p[i]);
    }
    printf("ok stop_and_free_from_callback\n");
}

static void test_free_without_stop(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p;
    OK(zkelect_peer_new(cfg, 1, &p));
    OK(zkelect_peer_start(p));
    zkelect_peer_free(p);
    zkelect_peer_free(NULL);
    printf("ok free_without_stop\n");
}

static void test_null_arguments(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p = NULL;
    zkelect_vote v;
    zkelect_leader l;
    int64_t sid;
    CHECK(zkelect_peer_new(NULL, 1, &p) == ZKELECT_ERR_NULL, "new(NULL text)");
    CHECK(zkelect_peer_new(cfg, 1, NULL) == ZKELECT_ERR_NULL, "new(NULL out)");
    CHECK(zkelect_peer_from_file(NULL, 1, &p) == ZKELECT_ERR_NULL, "from_file(NULL)");
    CHECK(zkelect_peer_from_file("/nonexistent/zoo.cfg", 1, NULL) == ZKELECT_ERR_NULL, "out NULL");
    CHECK(zkelect_peer_set_zxid(NULL, 1) == ZKELECT_ERR_NULL, "set_zxid");
    CHECK(zkelect_peer_set_epoch(NULL, 1) == ZKELECT_ERR_NULL, "set_epoch");
    CHECK(zkelect_peer_get_sid(NULL, &sid) == ZKELECT_ERR_NULL, "get_sid");
    CHECK(zkelect_peer_start(NULL) == ZKELECT_ERR_NULL, "start");
    CHECK(zkelect_peer_stop(NULL) == ZKELECT_ERR_NULL, "stop");
    CHECK(zkelect_peer_get_vote(NULL, &v) == ZKELECT_ERR_NULL, "get_vote");
    zkelect_stats st;
    CHECK(zkelect_peer_get_stats(NULL, &st) == ZKELECT_ERR_NULL, "get_stats");
    CHECK(zkelect_peer_wait_for_leader(NULL, 1, &l) == ZKELECT_ERR_NULL, "wait");
    CHECK(zkelect_peer_restart_election(NULL) == ZKELECT_ERR_NULL, "restart");
    CHECK(zkelect_peer_set_event_callback(NULL, on_event, NULL, NULL) == ZKELECT_ERR_NULL, "cb");
    CHECK(strlen(zkelect_last_error_message()) > 0, "a detailed message");
    OK(zkelect_peer_new(cfg, 1, &p));
    CHECK(zkelect_peer_get_sid(p, NULL) == ZKELECT_ERR_NULL, "get_sid out");
    CHECK(zkelect_peer_get_vote(p, NULL) == ZKELECT_ERR_NULL, "get_vote out");
    CHECK(zkelect_peer_get_stats(p, NULL) == ZKELECT_ERR_NULL, "get_stats out");
    OK(zkelect_peer_get_stats(p, &st));
    CHECK(st.running == 0 && st.looking_count == 0 && st.uptime_ms == 0, "stats before start");
    CHECK(zkelect_peer_wait_for_leader(p, 1, NULL) == ZKELECT_ERR_NULL, "wait out");
    OK(zkelect_peer_set_event_callback(p, NULL, NULL, NULL));
    CHECK(strlen(zkelect_last_error_message()) == 0, "success clears the message");
    zkelect_peer_free(p);
    CHECK(zkelect_set_log_level(7) == ZKELECT_ERR_INVALID_ARGUMENT, "log level");
    CHECK(strcmp(zkelect_result_message(ZKELECT_OK), "ok") == 0, "message of OK");
    CHECK(zkelect_result_message(12345) != NULL, "message of an unknown code");
    printf("ok null_arguments\n");
}

static void test_bad_config(void) {
    zkelect_peer *p = (zkelect_peer *)0x1; /* must stay untouched */
    zkelect_result rc = zkelect_peer_new("tickTime=2000\nserver.1=127.0.0.1:2888\n", 1, &p);
    CHECK(rc == ZKELECT_ERR_CONFIG, "rc %d", rc);
    CHECK(strstr(zkelect_last_error_message(), "line 2") != NULL, "names the line: %s",
          zkelect_last_error_message());
    CHECK(p == (zkelect_peer *)0x1, "out untouched on failure");
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    rc = zkelect_peer_new(cfg, 7, &p);
    CHECK(rc == ZKELECT_ERR_CONFIG && strstr(zkelect_last_error_message(), "7") != NULL,
          "unknown sid: %s", zkelect_last_error_message());
    rc = zkelect_peer_new("server.1=127.0.0.1:2888:3888\n\xff\xfe\n", 1, &p);
    CHECK(rc == ZKELECT_ERR_INVALID_ARGUMENT, "not UTF-8: %d", rc);
    printf("ok bad_config\n");
}

static void test_calls_after_stop(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p;
    zkelect_leader l;
    zkelect_vote v;
    OK(zkelect_peer_new(cfg, 1, &p));
    CHECK(zkelect_peer_wait_for_leader(p, 1, &l) == ZKELECT_ERR_NOT_RUNNING, "before start");
    CHECK(zkelect_peer_restart_election(p) == ZKELECT_ERR_NOT_RUNNING, "restart before start");
    OK(zkelect_peer_start(p));
    CHECK(zkelect_peer_start(p) == ZKELECT_ERR_ALREADY_RUNNING, "double start");
    OK(zkelect_peer_stop(p));
    OK(zkelect_peer_stop(p));
    CHECK(zkelect_peer_wait_for_leader(p, 1, &l) == ZKELECT_ERR_NOT_RUNNING, "after stop");
    CHECK(zkelect_peer_restart_election(p) == ZKELECT_ERR_NOT_RUNNING, "restart after stop");
    OK(zkelect_peer_get_vote(p, &v));
    OK(zkelect_peer_set_zxid(p, 5));
    zkelect_peer_free(p);
    printf("ok calls_after_stop\n");
}

static void test_restart_while_looking(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p;
    zkelect_vote v;
    zkelect_leader l;
    OK(zkelect_peer_new(cfg, 1, &p));
    OK(zkelect_peer_start(p));
    /* Alone, sid 1 cannot decide; every restart starts a newer round. */
    for (int i = 0; i < 3; i++) OK(zkelect_peer_restart_election(p));
    for (int i = 0; i < 300; i++) {
        OK(zkelect_peer_get_vote(p, &v));
        if (v.election_epoch >= 4) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(v.state == ZKELECT_STATE_LOOKING && v.election_epoch >= 4, "round %lld",
          (long long)v.election_epoch);
    CHECK(zkelect_peer_wait_for_leader(p, 50, &l) == ZKELECT_ERR_TIMEOUT, "no quorum");
    zkelect_peer_free(p);
    printf("ok restart_while_looking\n");
}

static void test_start_stop_cycles(int cycles) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    int t0 = threads(), f0 = fds();
    for (int i = 0; i < cycles; i++) {
        zkelect_peer *p;
        recorder r;
        recorder_init(&r);
        OK(zkelect_peer_new(cfg, 2, &p));
        OK(zkelect_peer_set_event_callback(p, on_event, &r, on_free));
        OK(zkelect_peer_start(p));
        OK(zkelect_peer_stop(p));
        OK(zkelect_peer_start(p));
        zkelect_peer_free(p);
        CHECK(r.freed == 1, "userdata freed once per cycle (%d)", r.freed);
    }
    CHECK(threads() == t0, "threads %d -> %d", t0, threads());
    CHECK(fds() == f0, "fds %d -> %d", f0, fds());
    printf("ok start_stop_cycles %d\n", cycles);
}

static int log_lines;
static void on_log(void *userdata, int32_t level, const char *msg) {
    (void)userdata;
    (void)level;
    if (msg != NULL && strlen(msg) > 0) __sync_fetch_and_add(&log_lines, 1);
}

static void test_log_callback(void) {
    OK(zkelect_set_log_level(ZKELECT_LOG_TRACE));
    OK(zkelect_set_log_callback(on_log, NULL, NULL));
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p;
    OK(zkelect_peer_new(cfg, 1, &p));
    OK(zkelect_peer_start(p)); /* its own vote, looped back, is traced */
    for (int i = 0; i < 3000 && __sync_fetch_and_add(&log_lines, 0) == 0; i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    zkelect_peer_free(p);
    OK(zkelect_set_log_callback(NULL, NULL, NULL));
    OK(zkelect_set_log_level(ZKELECT_LOG_WARN));
    CHECK(log_lines > 0, "log lines routed to the callback");
    printf("ok log_callback\n");
}

/* A host's durable store: what the store callback was last given. */
typedef struct {
    pthread_mutex_t mu;
    int64_t epoch, round;
    int calls, freed;
} store;

static int32_t on_store(void *userdata, int64_t epoch, int64_t round) {
    store *s = userdata;
    pthread_mutex_lock(&s->mu);
    if (epoch > s->epoch) s->epoch = epoch;
    if (round > s->round) s->round = round;
    s->calls++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void on_store_free(void *userdata) { ((store *)userdata)->freed++; }

static void test_store_hook_and_lease(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p[3];
    store st[3];
    for (int i = 0; i < 3; i++) {
        memset(&st[i], 0, sizeof st[i]);
        pthread_mutex_init(&st[i].mu, NULL);
        OK(zkelect_peer_new(cfg, i + 1, &p[i]));
        OK(zkelect_peer_set_epoch_store(p[i], 0, 0, on_store, &st[i], on_store_free));
    }
    CHECK(zkelect_peer_set_epoch_store(p[0], -1, 0, on_store, NULL, NULL) ==
              ZKELECT_ERR_INVALID_ARGUMENT,
          "negative held epoch");
    CHECK(zkelect_peer_set_epoch_store(p[0], 0, 0, NULL, NULL, NULL) == ZKELECT_ERR_NULL,
          "NULL store");
    zkelect_lease lease;
    CHECK(zkelect_peer_get_lease(NULL, &lease) == ZKELECT_ERR_NULL, "get_lease(NULL)");
    CHECK(zkelect_peer_get_lease(p[0], NULL) == ZKELECT_ERR_NULL, "get_lease(out NULL)");
    OK(zkelect_peer_get_lease(p[0], &lease));
    CHECK(lease.leads_now == 0 && lease.deadline_ns == 0, "no lease before start");
    for (int i = 0; i < 3; i++) OK(zkelect_peer_start(p[i]));
    /* Wait (with a deadline) until one peer leads confirmed. */
    int leader = -1;
    for (int waited = 0; leader < 0; waited++) {
        CHECK(waited < 30000, "nobody leads confirmed within 30 s");
        for (int i = 0; i < 3 && leader < 0; i++) {
            OK(zkelect_peer_get_lease(p[i], &lease));
            if (lease.leads_now) leader = i;
        }
        if (leader < 0) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    CHECK(lease.epoch >= 1, "lease epoch %lld", (long long)lease.epoch);
    CHECK(lease.remaining_ns > 0, "remaining");
    CHECK(lease.deadline_ns > zkelect_clock_now_ns() - lease.remaining_ns, "deadline");
    /* The leader stored its epoch before it counted itself, and so did a
     * quorum of acknowledging followers. */
    int stored = 0;
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&st[i].mu);
        if (st[i].epoch >= lease.epoch) stored++;
        CHECK(st[i].round >= 1, "round high-water mark stored by sid %d", i + 1);
        pthread_mutex_unlock(&st[i].mu);
    }
    CHECK(stored >= 2, "epoch %lld stored by %d peers", (long long)lease.epoch, stored);
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    for (int i = 0; i < 3; i++) CHECK(st[i].freed == 1, "store userdata freed once");
    printf("ok store_hook_and_lease\n");
}

static void test_names(void) {
    CHECK(strcmp(zkelect_event_kind_name(ZKELECT_EVENT_LEADING), "LEADING") == 0, "kind name");
    CHECK(strcmp(zkelect_event_kind_name(ZKELECT_EVENT_EPOCH_STORE_FAILED), "EPOCH_STORE_FAILED") == 0,
          "kind name");
    CHECK(strcmp(zkelect_event_kind_name(0), "unknown") == 0, "kind 0");
    CHECK(strcmp(zkelect_event_kind_name(-1), "unknown") == 0, "kind -1");
    CHECK(strcmp(zkelect_state_name(ZKELECT_STATE_OBSERVING), "OBSERVING") == 0, "state name");
    CHECK(strcmp(zkelect_state_name(4), "unknown") == 0, "state 4");
    CHECK(strcmp(zkelect_reason_name(ZKELECT_REASON_NONE), "NONE") == 0, "reason NONE");
    CHECK(strcmp(zkelect_reason_name(ZKELECT_REASON_NO_QUORUM), "NO_QUORUM") == 0, "reason name");
    CHECK(strcmp(zkelect_reason_name(INT32_MAX), "unknown") == 0, "reason max");
    CHECK(strcmp(zkelect_result_message(ZKELECT_ERR_TIMEOUT), "timed out") == 0, "timeout text");
    /* Every value of each table has a name of its own. */
    for (int k = ZKELECT_EVENT_STATE_CHANGED; k <= ZKELECT_EVENT_EPOCH_STORE_FAILED; k++)
        CHECK(strcmp(zkelect_event_kind_name(k), "unknown") != 0, "kind %d", k);
    for (int r = ZKELECT_REASON_NONE; r <= ZKELECT_REASON_EPOCH_RAISED; r++)
        CHECK(strcmp(zkelect_reason_name(r), "unknown") != 0, "reason %d", r);
    printf("ok names\n");
}

/* ---- confirmed leadership -------------------------------------------------- */

/* The leadership events of one peer. */
typedef struct {
    pthread_mutex_t mu;
    int64_t epoch;       /* of the last LEADING / FOLLOWING / OBSERVING */
    int confirmations;
    int losses;          /* LEADER_LOST and LEADERSHIP_LOST */
    int32_t reason;      /* of the last loss */
    int64_t lost_leader; /* of the first LEADER_LOST */
    int64_t epoch_after_loss; /* the first confirmed epoch after the last loss, 0 if none */
    int stopped_lost;    /* LEADERSHIP_LOST with ZKELECT_REASON_STOPPED seen */
} leadership_log;

static void on_leadership(void *userdata, const zkelect_event *e) {
    leadership_log *l = userdata;
    pthread_mutex_lock(&l->mu);
    switch (e->kind) {
    case ZKELECT_EVENT_LEADING:
    case ZKELECT_EVENT_FOLLOWING:
    case ZKELECT_EVENT_OBSERVING:
        l->epoch = e->epoch;
        l->confirmations++;
        if (l->losses > 0 && l->epoch_after_loss == 0) l->epoch_after_loss = e->epoch;
        break;
    case ZKELECT_EVENT_LEADERSHIP_LOST:
        if (e->reason == ZKELECT_REASON_STOPPED) l->stopped_lost = 1;
        /* fall through */
    case ZKELECT_EVENT_LEADER_LOST:
        l->losses++;
        l->reason = e->reason;
        if (e->kind == ZKELECT_EVENT_LEADER_LOST && l->lost_leader == 0) l->lost_leader = e->leader;
        l->epoch_after_loss = 0;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&l->mu);
}

/* Waits (up to 30 s) until the log shows a loss followed by a confirmation
 * with an epoch above `above`; returns that epoch, or 0 on timeout. */
static int64_t await_reconfirmed(leadership_log *l, int64_t above) {
    for (int i = 0; i < 3000; i++) {
        pthread_mutex_lock(&l->mu);
        int64_t e = l->epoch_after_loss;
        pthread_mutex_unlock(&l->mu);
        if (e > above) return e;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return 0;
}

static void remove_dir(const char *path) {
    DIR *d = opendir(path);
    CHECK(d != NULL, "opendir %s", path);
    struct dirent *e;
    char file[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        CHECK(unlink(file) == 0, "unlink %s", file);
    }
    closedir(d);
    CHECK(rmdir(path) == 0, "rmdir %s", path);
}

static void test_wait_for_confirmed_errors(void) {
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, "");
    zkelect_peer *p;
    zkelect_leadership l;
    CHECK(zkelect_peer_get_leadership(NULL, &l) == ZKELECT_ERR_NULL, "get_leadership(NULL)");
    CHECK(zkelect_peer_wait_for_confirmed(NULL, 1, &l) == ZKELECT_ERR_NULL, "wait(NULL)");
    OK(zkelect_peer_new(cfg, 1, &p));
    CHECK(zkelect_peer_get_leadership(p, NULL) == ZKELECT_ERR_NULL, "get_leadership(out NULL)");
    CHECK(zkelect_peer_wait_for_confirmed(p, 1, NULL) == ZKELECT_ERR_NULL, "wait(out NULL)");
    CHECK(zkelect_peer_wait_for_confirmed(p, 1, &l) == ZKELECT_ERR_NOT_RUNNING, "before start");
    OK(zkelect_peer_get_leadership(p, &l));
    CHECK(!l.running && !l.confirmed && l.leader == -1 && l.epoch == 0 && !l.leads_now &&
              l.role == ZKELECT_STATE_LOOKING && l.elected_leader == -1,
          "nothing before start");
    OK(zkelect_peer_start(p));
    /* Alone, sid 1 cannot be confirmed. */
    CHECK(zkelect_peer_wait_for_confirmed(p, 50, &l) == ZKELECT_ERR_TIMEOUT, "alone");
    OK(zkelect_peer_get_leadership(p, &l));
    CHECK(l.running && !l.confirmed && l.state == ZKELECT_STATE_LOOKING, "looking");
    OK(zkelect_peer_stop(p));
    CHECK(zkelect_peer_wait_for_confirmed(p, UINT64_MAX, &l) == ZKELECT_ERR_NOT_RUNNING,
          "after stop");
    zkelect_peer_free(p);
    printf("ok wait_for_confirmed_errors\n");
}

/* Sid 3, which would win on the sid, votes follow-only (followOnly=true in
 * its own config): sid 1 or 2 leads, and sid 3's snapshot says it votes
 * follow-only without knowing of any real ZooKeeper server. */
static void test_follow_only_snapshot(void) {
    char cfg[1024], own[1100];
    make_config(cfg, sizeof cfg, 3, "");
    snprintf(own, sizeof own, "followOnly=true\n%s", cfg);
    zkelect_peer *p[3];
    for (int i = 0; i < 3; i++) OK(zkelect_peer_new(i == 2 ? own : cfg, i + 1, &p[i]));
    zkelect_leadership l;
    OK(zkelect_peer_get_leadership(p[2], &l));
    CHECK(!l.follow_only && !l.real_members, "not started: no vote, nothing learned");
    for (int i = 0; i < 3; i++) OK(zkelect_peer_start(p[i]));
    int64_t leader = -1;
    for (int i = 0; i < 3; i++) {
        OK(zkelect_peer_wait_for_confirmed(p[i], 30000, &l));
        if (i == 0) leader = l.leader;
        CHECK(l.leader == leader && l.leader != 3, "sid %d: leader %lld, not the follow-only sid 3",
              i + 1, (long long)l.leader);
        CHECK(l.follow_only == (i == 2) && !l.real_members,
              "sid %d: follow_only %d real_members %d", i + 1, l.follow_only, l.real_members);
    }
    OK(zkelect_peer_stop(p[2]));
    OK(zkelect_peer_get_leadership(p[2], &l));
    CHECK(!l.running && !l.follow_only && !l.real_members, "stopped: no vote");
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    printf("ok follow_only_snapshot\n");
}

/* Three peers confirm a leader; after it stops, the survivors see the loss
 * with a reason, then a successor with a higher epoch. */
static void test_confirmed_leadership_and_failover(void) {
    char data[] = "/tmp/zkelect-c-XXXXXX";
    CHECK(mkdtemp(data) != NULL, "mkdtemp");
    char extra[128];
    /* A dataDir keeps the accepted epochs, so no start waits out a quarantine. */
    snprintf(extra, sizeof extra, "dataDir=%s", data);
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, extra);
    zkelect_peer *p[3];
    leadership_log log[3];
    for (int i = 0; i < 3; i++) {
        memset(&log[i], 0, sizeof log[i]);
        pthread_mutex_init(&log[i].mu, NULL);
        OK(zkelect_peer_new(cfg, i + 1, &p[i]));
        OK(zkelect_peer_set_event_callback(p[i], on_leadership, &log[i], NULL));
    }
    for (int i = 0; i < 3; i++) OK(zkelect_peer_start(p[i]));
    zkelect_leadership c[3];
    for (int i = 0; i < 3; i++) {
        OK(zkelect_peer_wait_for_confirmed(p[i], 30000, &c[i]));
        CHECK(c[i].confirmed && c[i].running && c[i].epoch >= 1, "confirmed %d", i + 1);
    }
    int leader = (int)c[0].leader - 1;
    int64_t epoch = c[0].epoch;
    CHECK(leader >= 0 && leader < 3, "leader %lld", (long long)c[0].leader);
    for (int i = 0; i < 3; i++) {
        CHECK(c[i].leader == leader + 1 && c[i].epoch == epoch, "one leader and epoch");
        CHECK(c[i].role == (i == leader ? ZKELECT_STATE_LEADING : ZKELECT_STATE_FOLLOWING),
              "role %s", zkelect_state_name(c[i].role));
        /* A pure zkelect ensemble: nobody votes follow-only or knows of real servers. */
        CHECK(!c[i].follow_only && !c[i].real_members, "sid %d: follow_only %d real_members %d",
              i + 1, c[i].follow_only, c[i].real_members);
    }
    /* The leader's snapshot holds its lease; the lease agrees. */
    zkelect_leadership now;
    OK(zkelect_peer_get_leadership(p[leader], &now));
    if (now.confirmed) { /* (a loaded machine may have let the lease lapse) */
        CHECK(now.leads_now && now.lease_ms <= 20 * 2000 && now.lease_deadline_ns > 0, "lease");
        CHECK(now.lease_deadline_ns >= now.lease_ms * 1000000, "deadline vs ms");
        CHECK(now.state == ZKELECT_STATE_LEADING && now.elected_leader == leader + 1, "state");
    }
    zkelect_lease lease;
    OK(zkelect_peer_get_lease(p[(leader + 1) % 3], &lease));
    CHECK(!lease.leads_now, "a follower holds no lease");

    /* The leader stops: its own loss (STOPPED) is delivered before stop returns. */
    OK(zkelect_peer_stop(p[leader]));
    pthread_mutex_lock(&log[leader].mu);
    CHECK(log[leader].stopped_lost, "leadership lost (stopped) delivered by stop");
    pthread_mutex_unlock(&log[leader].mu);
    OK(zkelect_peer_get_leadership(p[leader], &now));
    CHECK(!now.confirmed && !now.leads_now && !now.running, "stopped leader");

    for (int i = 0; i < 3; i++) {
        if (i == leader) continue;
        int64_t e = await_reconfirmed(&log[i], epoch);
        CHECK(e > epoch, "sid %d: no loss and a higher epoch than %lld", i + 1, (long long)epoch);
        pthread_mutex_lock(&log[i].mu);
        int64_t lost = log[i].lost_leader;
        pthread_mutex_unlock(&log[i].mu);
        CHECK(lost == leader + 1, "sid %d lost %lld first", i + 1, (long long)lost);
        OK(zkelect_peer_wait_for_confirmed(p[i], 30000, &now));
        CHECK(now.epoch >= e && now.leader != leader + 1, "sid %d: epoch %lld leader %lld",
              i + 1, (long long)now.epoch, (long long)now.leader);
    }
    /* The survivors' loss events carried a reason with a name. */
    for (int i = 0; i < 3; i++) {
        if (i == leader) continue;
        pthread_mutex_lock(&log[i].mu);
        int32_t reason = log[i].reason;
        pthread_mutex_unlock(&log[i].mu);
        CHECK(reason != ZKELECT_REASON_NONE && strcmp(zkelect_reason_name(reason), "unknown") != 0,
              "sid %d: reason %d", i + 1, reason);
    }
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    remove_dir(data);
    printf("ok confirmed_leadership_and_failover\n");
}

/* ---- a callback that stops its own peer, then a stop/free from the host -- */

/* Heap-allocated and freed by the host right after its stop/free returns:
 * if that returned while the callback still ran, the callback's last
 * access is a heap-use-after-free (ASan), and `returned` is still 0. */
typedef struct {
    zkelect_peer *peer;
    pthread_mutex_t mu;
    int fired;    /* the callback's own stop has returned */
    int returned; /* the callback is done with this struct */
} lingering;

static void stop_then_linger(void *userdata, const zkelect_event *e) {
    lingering *s = userdata;
    (void)e;
    pthread_mutex_lock(&s->mu);
    int first = !s->fired;
    pthread_mutex_unlock(&s->mu);
    if (!first) return;
    CHECK(zkelect_peer_stop(s->peer) == ZKELECT_OK, "stop from callback");
    pthread_mutex_lock(&s->mu);
    s->fired = 1;
    pthread_mutex_unlock(&s->mu);
    /* Still in the callback when the host calls stop or free. */
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    pthread_mutex_lock(&s->mu);
    s->returned = 1;
    pthread_mutex_unlock(&s->mu);
}

static void test_host_stop_waits_for_a_self_stopping_callback(void) {
    for (int do_free = 0; do_free <= 1; do_free++) {
        char cfg[1024];
        make_config(cfg, sizeof cfg, 3, "");
        lingering *s = calloc(1, sizeof *s);
        CHECK(s != NULL, "calloc");
        pthread_mutex_init(&s->mu, NULL);
        zkelect_peer *p;
        OK(zkelect_peer_new(cfg, 1, &p));
        s->peer = p;
        OK(zkelect_peer_set_event_callback(p, stop_then_linger, s, NULL));
        OK(zkelect_peer_start(p));
        /* A second peer gives sid 1 events (a connection, an election): a
         * lone peer starts LOOKING and emits none. */
        zkelect_peer *other;
        OK(zkelect_peer_new(cfg, 2, &other));
        OK(zkelect_peer_start(other));
        int waited = 0;
        while (1) {
            pthread_mutex_lock(&s->mu);
            int fired = s->fired;
            pthread_mutex_unlock(&s->mu);
            if (fired) break;
            CHECK(++waited < 3000, "the callback never stopped its peer");
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        if (do_free) {
            zkelect_peer_free(p);
        } else {
            OK(zkelect_peer_stop(p));
        }
        pthread_mutex_lock(&s->mu);
        int returned = s->returned;
        pthread_mutex_unlock(&s->mu);
        CHECK(returned, "%s returned while the callback still ran", do_free ? "free" : "stop");
        pthread_mutex_destroy(&s->mu);
        free(s); /* the host's promise: no callback runs any more */
        if (!do_free) zkelect_peer_free(p);
        zkelect_peer_free(other);
    }
    printf("ok host_stop_waits_for_a_self_stopping_callback\n");
}

/* ---- fork with running peers ------------------------------------------ */

typedef struct {
    pthread_mutex_t mu;
    int connected;
    int disconnected;
    int losses; /* LEADER_LOST, LEADERSHIP_LOST, LEADERSHIP_FAILED */
} link_log;

static void on_link(void *userdata, const zkelect_event *e) {
    link_log *l = userdata;
    pthread_mutex_lock(&l->mu);
    if (e->kind == ZKELECT_EVENT_PEER_CONNECTED) l->connected++;
    if (e->kind == ZKELECT_EVENT_PEER_DISCONNECTED) l->disconnected++;
    if (e->kind == ZKELECT_EVENT_LEADER_LOST || e->kind == ZKELECT_EVENT_LEADERSHIP_LOST ||
        e->kind == ZKELECT_EVENT_LEADERSHIP_FAILED)
        l->losses++;
    pthread_mutex_unlock(&l->mu);
}

static int link_get(link_log *l, int *field) {
    pthread_mutex_lock(&l->mu);
    int v = *field;
    pthread_mutex_unlock(&l->mu);
    return v;
}

/* A forked child stops and frees the parent's running peers (and exits):
 * it must neither crash nor disturb the parent, whose peers keep their
 * leader, epoch, connections, listeners and dataDir locks. */
static void test_fork_child_stops_and_frees(void) {
    if (getenv("ZKELECT_TEST_SKIP_FORK") != NULL) {
        printf("skipped fork_child_stops_and_frees\n");
        return;
    }
    char data[] = "/tmp/zkelect-c-fork-XXXXXX";
    CHECK(mkdtemp(data) != NULL, "mkdtemp");
    char extra[128];
    snprintf(extra, sizeof extra, "dataDir=%s", data);
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, extra);
    zkelect_peer *p[3];
    link_log log[3];
    for (int i = 0; i < 3; i++) {
        memset(&log[i], 0, sizeof log[i]);
        pthread_mutex_init(&log[i].mu, NULL);
        OK(zkelect_peer_new(cfg, i + 1, &p[i]));
        OK(zkelect_peer_set_event_callback(p[i], on_link, &log[i], NULL));
    }
    /* Sids 1 and 2 are a quorum; sid 3 joins after the fork. */
    zkelect_leadership c[2];
    for (int i = 0; i < 2; i++) OK(zkelect_peer_start(p[i]));
    for (int i = 0; i < 2; i++) OK(zkelect_peer_wait_for_confirmed(p[i], 30000, &c[i]));
    CHECK(c[0].leader == c[1].leader && c[0].epoch == c[1].epoch, "one leadership");
    int connected_before[2];
    for (int i = 0; i < 2; i++) connected_before[i] = link_get(&log[i], &log[i].connected);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        /* The child: none of the peers' threads exists here. */
        int before = fds();
        for (int i = 0; i < 3; i++)
            if (zkelect_peer_stop(p[i]) != ZKELECT_OK) _exit(10);
        zkelect_leader l;
        if (zkelect_peer_wait_for_leader(p[0], 10, &l) != ZKELECT_ERR_NOT_RUNNING) _exit(11);
        if (zkelect_peer_start(p[0]) != ZKELECT_ERR_IO) _exit(12);
        for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
        /* Its copies of the listeners, connections and lock files are closed. */
        if (fds() >= before) _exit(13);
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    /* The listeners still accept: sid 3 connects to both and follows the
     * same leader in the same epoch. */
    OK(zkelect_peer_start(p[2]));
    zkelect_leadership c3;
    OK(zkelect_peer_wait_for_confirmed(p[2], 30000, &c3));
    CHECK(c3.leader == c[0].leader && c3.epoch == c[0].epoch, "sid 3 follows %lld in %lld",
          (long long)c3.leader, (long long)c3.epoch);
    for (int i = 0; i < 2; i++) {
        int waited = 0;
        while (link_get(&log[i], &log[i].connected) <= connected_before[i]) {
            CHECK(++waited < 3000, "sid %d never saw sid 3 connect", i + 1);
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        zkelect_leadership now;
        OK(zkelect_peer_get_leadership(p[i], &now));
        CHECK(now.confirmed && now.leader == c[i].leader && now.epoch == c[i].epoch,
              "sid %d: leader %lld epoch %lld", i + 1, (long long)now.leader,
              (long long)now.epoch);
        CHECK(link_get(&log[i], &log[i].disconnected) == 0, "sid %d saw a disconnect", i + 1);
        CHECK(link_get(&log[i], &log[i].losses) == 0, "sid %d lost its leadership", i + 1);
    }
    /* The parent still holds sid 1's dataDir lock: the child only closed
     * its copy of the file. */
    zkelect_peer *twin;
    OK(zkelect_peer_new(cfg, 1, &twin));
    CHECK(zkelect_peer_start(twin) == ZKELECT_ERR_IO &&
              strstr(zkelect_last_error_message(), "held by another process") != NULL,
          "a second sid 1 started");
    zkelect_peer_free(twin);
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    remove_dir(data);
    printf("ok fork_child_stops_and_frees\n");
}

/* The peers a pthread_atfork child handler stops (NULL: none). */
static zkelect_peer *atfork_peers[3];

static void stop_in_child(void) {
    for (int i = 0; i < 3; i++)
        if (atfork_peers[i] != NULL) zkelect_peer_stop(atfork_peers[i]);
}

/* A child that lives on, having stopped the parent's peers in a
 * pthread_atfork child handler, keeps no copy of the parent's dataDir lock:
 * the parent can stop a peer and start it again while the child lives. */
static void test_fork_child_that_lives_on(void) {
    if (getenv("ZKELECT_TEST_SKIP_FORK") != NULL) {
        printf("skipped fork_child_that_lives_on\n");
        return;
    }
    char data[] = "/tmp/zkelect-c-fork2-XXXXXX";
    CHECK(mkdtemp(data) != NULL, "mkdtemp");
    char extra[128];
    snprintf(extra, sizeof extra, "dataDir=%s", data);
    char cfg[1024];
    make_config(cfg, sizeof cfg, 3, extra);
    zkelect_peer *p[3];
    for (int i = 0; i < 3; i++) OK(zkelect_peer_new(cfg, i + 1, &p[i]));
    zkelect_leadership c;
    for (int i = 0; i < 2; i++) OK(zkelect_peer_start(p[i]));
    OK(zkelect_peer_wait_for_confirmed(p[0], 30000, &c));
    for (int i = 0; i < 3; i++) atfork_peers[i] = p[i];
    CHECK(pthread_atfork(NULL, NULL, stop_in_child) == 0, "pthread_atfork");
    int ready[2], done[2];
    CHECK(pipe(ready) == 0 && pipe(done) == 0, "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        char b = 'r';
        close(ready[0]);
        close(done[1]);
        if (write(ready[1], &b, 1) != 1) _exit(20);
        /* Lives on until the parent is done (EOF). */
        while (read(done[0], &b, 1) > 0) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(done[0]);
    char b;
    CHECK(read(ready[0], &b, 1) == 1, "the child is ready");
    for (int i = 0; i < 3; i++) atfork_peers[i] = NULL;
    /* Sid 1's lock is free again once it stops: the child holds no copy. */
    OK(zkelect_peer_stop(p[0]));
    OK(zkelect_peer_start(p[0]));
    OK(zkelect_peer_wait_for_confirmed(p[0], 30000, &c));
    close(done[1]);
    close(ready[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    for (int i = 0; i < 3; i++) zkelect_peer_free(p[i]);
    remove_dir(data);
    printf("ok fork_child_that_lives_on\n");
}

int main(int argc, char **argv) {
    int cycles = argc > 1 ? atoi(argv[1]) : 100;
    test_version();
    test_names();
    test_null_arguments();
    test_bad_config();
    test_calls_after_stop();
    test_free_without_stop();
    test_restart_while_looking();
    test_ensemble_and_callbacks();
    test_stop_and_free_from_callback();
    test_host_stop_waits_for_a_self_stopping_callback();
    test_fork_child_stops_and_frees();
    test_fork_child_that_lives_on();
    test_store_hook_and_lease();
    test_wait_for_confirmed_errors();
    test_confirmed_leadership_and_failover();
    test_follow_only_snapshot();
    test_log_callback();
    test_start_stop_cycles(cycles);
    printf("all C ABI tests passed\n");
    return 0;
}
