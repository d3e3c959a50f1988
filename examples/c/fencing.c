/* Fencing with the epoch: three workers elect; only the confirmed leader
 * writes to a shared SQLite database, every write carries the leader's
 * epoch, and the database refuses a write whose epoch is lower than the
 * highest it has seen. Then the leader is closed: its successor writes with
 * a higher epoch, and the old leader's late write is refused.
 *
 *   cc -std=c99 fencing.c $(pkg-config --cflags --libs zkelect sqlite3) -lpthread -o fencing
 *   ./fencing [first-port]
 *
 * The ports first-port .. first-port+5 on 127.0.0.1 must be free (default
 * 23200).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zkelect.h>

/* One worker: a peer and the leadership its events announced. */
typedef struct {
    zkelect_peer *peer;
    int sid;
    int64_t leading_epoch; /* of the last ZKELECT_EVENT_LEADING, 0 once lost */
} worker;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

/* Runs on the peer's notifier thread: act on LEADING and its epoch, not on
 * the bare election result (ZKELECT_EVENT_LEADER_ELECTED). */
static void on_event(void *userdata, const zkelect_event *e) {
    worker *w = userdata;
    pthread_mutex_lock(&mu);
    if (e->kind == ZKELECT_EVENT_LEADING) {
        w->leading_epoch = e->epoch;
        printf("sid %d leads with epoch %lld\n", w->sid, (long long)e->epoch);
    } else if (e->kind == ZKELECT_EVENT_LEADERSHIP_LOST) {
        w->leading_epoch = 0;
        printf("sid %d no longer leads epoch %lld (%s)\n", w->sid, (long long)e->epoch,
               zkelect_reason_name(e->reason));
    }
    fflush(stdout);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
}

/* Waits up to 30 s for a worker other than `not_sid` to lead with an epoch
 * above `above`; returns it, or NULL. */
static worker *await_leader(worker *w, int n, int not_sid, int64_t above) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    worker *found = NULL;
    pthread_mutex_lock(&mu);
    while (found == NULL) {
        for (int i = 0; i < n; i++)
            if (w[i].peer != NULL && w[i].sid != not_sid && w[i].leading_epoch > above) found = &w[i];
        if (found == NULL && pthread_cond_timedwait(&changed, &mu, &deadline) != 0) break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static int exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return 0;
    }
    return 1;
}

static int64_t highest_epoch(sqlite3 *db) {
    sqlite3_stmt *st;
    int64_t e = -1;
    if (sqlite3_prepare_v2(db, "SELECT epoch FROM fence", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) e = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return e;
}

/* One fenced write, in one transaction: raise the fence to `epoch` unless a
 * higher epoch wrote already, then write. 1 if written, 0 if refused, -1 on
 * a database error. */
static int fenced_write(sqlite3 *db, int sid, int64_t epoch, const char *job) {
    if (!exec(db, "BEGIN IMMEDIATE")) return -1;
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "UPDATE fence SET epoch = ?1 WHERE epoch <= ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, epoch);
        if (sqlite3_step(st) == SQLITE_DONE) rc = sqlite3_changes(db) == 1;
        sqlite3_finalize(st);
    }
    if (rc == 1) {
        rc = -1;
        if (sqlite3_prepare_v2(db, "INSERT INTO jobs(job, sid, epoch) VALUES (?1, ?2, ?3)", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, sid);
            sqlite3_bind_int64(st, 3, epoch);
            if (sqlite3_step(st) == SQLITE_DONE) rc = 1;
            sqlite3_finalize(st);
        }
    }
    if (rc == 1) return exec(db, "COMMIT") ? 1 : -1;
    exec(db, "ROLLBACK");
    return rc;
}

/* The leader's write: only while its lease holds (checked right before
 * acting), tagged with the epoch of its LEADING event. */
static int write_as_leader(sqlite3 *db, worker *w, int64_t epoch, const char *job) {
    zkelect_lease lease;
    if (zkelect_peer_get_lease(w->peer, &lease) != ZKELECT_OK || !lease.leads_now ||
        lease.epoch != epoch) {
        printf("sid %d: no longer leads epoch %lld, does not write\n", w->sid, (long long)epoch);
        return 0;
    }
    int rc = fenced_write(db, w->sid, epoch, job);
    printf("fenced write by sid %d with epoch %lld: %s\n", w->sid, (long long)epoch,
           rc == 1 ? "accepted" : rc == 0 ? "refused" : "database error");
    return rc == 1;
}

static void remove_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char file[600];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        unlink(file);
    }
    if (d != NULL) closedir(d);
    rmdir(path);
}

int main(int argc, char **argv) {
    int base = argc > 1 ? atoi(argv[1]) : 23200;
    char dir[] = "/tmp/zkelect-fencing-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    /* dataDir keeps each peer's accepted epoch, fsynced before it is acknowledged. */
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=%s\n"
             "server.1=127.0.0.1:%d:%d\nserver.2=127.0.0.1:%d:%d\nserver.3=127.0.0.1:%d:%d\n",
             dir, base, base + 1, base + 2, base + 3, base + 4, base + 5);
    char path[600];
    snprintf(path, sizeof path, "%s/jobs.db", dir);
    sqlite3 *db = NULL;
    int status = 1;
    worker w[3];
    memset(w, 0, sizeof w);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        !exec(db, "CREATE TABLE fence(epoch INTEGER NOT NULL); INSERT INTO fence VALUES (0);"
                  "CREATE TABLE jobs(job TEXT, sid INTEGER, epoch INTEGER)"))
        goto out;
    for (int i = 0; i < 3; i++) {
        w[i].sid = i + 1;
        zkelect_result rc = zkelect_peer_new(cfg, i + 1, &w[i].peer);
        if (rc == ZKELECT_OK) rc = zkelect_peer_set_event_callback(w[i].peer, on_event, &w[i], NULL);
        if (rc == ZKELECT_OK) rc = zkelect_peer_start(w[i].peer);
        if (rc != ZKELECT_OK) {
            fprintf(stderr, "sid %d: %s: %s\n", i + 1, zkelect_result_message(rc),
                    zkelect_last_error_message());
            goto out;
        }
    }
    worker *first = await_leader(w, 3, 0, 0);
    if (first == NULL) {
        fprintf(stderr, "no confirmed leader within 30 s\n");
        goto out;
    }
    pthread_mutex_lock(&mu);
    int64_t old_epoch = first->leading_epoch;
    pthread_mutex_unlock(&mu);
    if (!write_as_leader(db, first, old_epoch, "nightly-backup")) goto out;

    /* The leader goes away (here: closed; a killed process works the same,
     * after the followers notice). */
    int old_sid = first->sid;
    zkelect_peer_free(first->peer); /* stops: its LEADERSHIP_LOST (STOPPED) comes first */
    pthread_mutex_lock(&mu);
    first->peer = NULL;
    pthread_mutex_unlock(&mu);
    worker *next = await_leader(w, 3, old_sid, old_epoch);
    if (next == NULL) {
        fprintf(stderr, "no successor with an epoch above %lld within 30 s\n", (long long)old_epoch);
        goto out;
    }
    pthread_mutex_lock(&mu);
    int64_t new_epoch = next->leading_epoch;
    pthread_mutex_unlock(&mu);
    if (!write_as_leader(db, next, new_epoch, "nightly-backup")) goto out;

    /* The old leader's write that was still on its way (a pause, a slow
     * network) arrives now, with its old epoch: the store refuses it. */
    int late = fenced_write(db, old_sid, old_epoch, "nightly-backup (late)");
    printf("late write by sid %d with epoch %lld: %s (the store has seen epoch %lld)\n", old_sid,
           (long long)old_epoch, late == 0 ? "refused" : "ACCEPTED", (long long)highest_epoch(db));
    status = late == 0 ? 0 : 1;
out:
    for (int i = 0; i < 3; i++) zkelect_peer_free(w[i].peer); /* NULL is a no-op */
    if (db != NULL) sqlite3_close(db);
    remove_dir(dir);
    return status;
}
