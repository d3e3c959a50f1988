/* JNI glue of the org.zkelect Java binding: one more client of the public
 * C ABI (include/zkelect.h), nothing else.
 *
 * - A peer handle crosses into Java as a jlong; the Java side (NativeHandle)
 *   guarantees that zkelect_peer_free never races another call on it.
 * - Strings come in as NUL-terminated UTF-8 byte arrays and errors go out as
 *   UTF-8 byte arrays (not modified UTF-8), decoded on the Java side.
 * - Events: one native callback per peer. Its userdata is a struct cb holding
 *   a WEAK global reference to the peer's org.zkelect.EventDispatcher, which
 *   fans out to the Java listeners. Weak, so that the native side never keeps
 *   a peer (its listeners may reference it) reachable: a peer nobody closed
 *   can still be collected and cleaned. The Java Peer holds its dispatcher
 *   strongly. free_cb releases the reference and the struct.
 * - Epoch stores: per zkelect_peer_set_epoch_store, a struct store holding a
 *   WEAK global reference to an org.zkelect.StoreBridge, for the same reason
 *   (a store may reference its peer); the peer's EventDispatcher holds the
 *   bridge strongly until free_store tells it (StoreBridge.released) that the
 *   library let go. The store runs on the peer's election thread, which is
 *   attached like the notifier thread. It returns non-zero when the bridge
 *   reports that the Java store threw, when the bridge was collected, or when
 *   anything still escapes; it never lets an exception unwind.
 * - Threads: only the JavaVM* is kept. A library thread that calls back is
 *   attached once, as a daemon, and detached when it exits (a pthread key
 *   destructor). A JNIEnv* is never kept or shared across threads.
 * - A Java exception never unwinds into the library: the dispatcher catches
 *   and logs what listeners throw; whatever still escapes is described and
 *   cleared here.
 */
#define _POSIX_C_SOURCE 200809L

#include <jni.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkelect.h"
#include "org_zkelect_Native.h"

#define JNI_VERSION JNI_VERSION_1_8

static JavaVM *g_vm;
static jclass g_exception_class; /* org.zkelect.ZkelectException */
static jmethodID g_exception_new;  /* ZkelectException(int, byte[], byte[]) */
static jclass g_dispatcher_class; /* org.zkelect.EventDispatcher */
static jmethodID g_dispatch;      /* void dispatch(long, int, int, int, long x7, int) */
static jclass g_bridge_class;     /* org.zkelect.StoreBridge */
static jmethodID g_bridge_store;  /* int store(long, long) */
static jmethodID g_bridge_released; /* void released() */
static pthread_key_t g_attached;  /* set on threads this file attached */
static long g_live_callbacks;     /* struct cb alive; atomic builtins only */
static long g_live_stores;        /* struct store alive; atomic builtins only */

struct cb {
    jweak dispatcher;
};

struct store {
    jweak bridge;
    int64_t sid;
};

/* --- threads ------------------------------------------------------------ */

static void detach_at_exit(void *vm) {
    (*(JavaVM *)vm)->DetachCurrentThread((JavaVM *)vm);
}

/* The calling thread's JNIEnv; attaches a library thread (as a daemon, once:
 * it is detached when it exits). *detach_now is set when the thread could be
 * attached but not registered for the detach at exit. NULL if no env. */
static JNIEnv *current_env(const char *thread_name, int *detach_now) {
    JNIEnv *env = NULL;
    *detach_now = 0;
    jint rc = (*g_vm)->GetEnv(g_vm, (void **)&env, JNI_VERSION);
    if (rc == JNI_OK) return env;
    if (rc != JNI_EDETACHED) return NULL;
    JavaVMAttachArgs args;
    args.version = JNI_VERSION;
    args.name = (char *)thread_name;
    args.group = NULL;
    if ((*g_vm)->AttachCurrentThreadAsDaemon(g_vm, (void **)&env, &args) != JNI_OK) return NULL;
    if (pthread_setspecific(g_attached, g_vm) != 0) *detach_now = 1;
    return env;
}

static void report_exception(JNIEnv *env) {
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionDescribe(env); /* prints and clears */
        (*env)->ExceptionClear(env);
    }
}

/* --- callbacks (library threads) ---------------------------------------- */

static void on_event(void *userdata, const zkelect_event *event) {
    struct cb *cb = userdata;
    zkelect_event e;
    memset(&e, 0, sizeof e);
    /* Read only what the library filled (struct_size), ignore what it adds. */
    size_t n = event->struct_size < sizeof e ? event->struct_size : sizeof e;
    memcpy(&e, event, n);

    char name[48];
    snprintf(name, sizeof name, "zkelect-notify-%lld", (long long)e.my_sid);
    int detach_now;
    JNIEnv *env = current_env(name, &detach_now);
    if (env == NULL) return; /* cannot call Java from this thread: drop the event */
    jobject d = (*env)->NewLocalRef(env, cb->dispatcher);
    if (d != NULL) { /* NULL: the dispatcher (and its peer) was collected */
        (*env)->CallVoidMethod(env, d, g_dispatch, (jlong)e.my_sid, (jint)e.kind,
                               (jint)e.old_state, (jint)e.new_state, (jlong)e.leader,
                               (jlong)e.zxid, (jlong)e.election_epoch, (jlong)e.peer_epoch,
                               (jlong)e.elapsed_ms, (jlong)e.peer_sid, (jlong)e.epoch,
                               (jint)e.reason);
        report_exception(env);
        (*env)->DeleteLocalRef(env, d);
    } else {
        report_exception(env);
    }
    if (detach_now) (*g_vm)->DetachCurrentThread(g_vm);
}

/* free_userdata: runs once, after the last on_event, on whichever thread
 * dropped the callback (a Java thread in free, or the notifier). */
static void free_cb(void *userdata) {
    struct cb *cb = userdata;
    if (cb == NULL) return;
    int detach_now;
    JNIEnv *env = current_env("zkelect-native", &detach_now);
    /* Without an env the weak reference leaks (a few bytes); nothing better. */
    if (env != NULL && cb->dispatcher != NULL) (*env)->DeleteWeakGlobalRef(env, cb->dispatcher);
    free(cb);
    __atomic_sub_fetch(&g_live_callbacks, 1, __ATOMIC_SEQ_CST);
    if (detach_now) (*g_vm)->DetachCurrentThread(g_vm);
}

/* store_cb: on the peer's election thread. 0 only when the Java store
 * returned normally. */
static int32_t on_store(void *userdata, int64_t epoch, int64_t round) {
    struct store *st = userdata;
    char name[48];
    snprintf(name, sizeof name, "zkelect-election-%lld", (long long)st->sid);
    int detach_now;
    JNIEnv *env = current_env(name, &detach_now);
    if (env == NULL) return 1; /* cannot call Java from this thread: not stored */
    int32_t rc = 1;
    jobject b = (*env)->NewLocalRef(env, st->bridge);
    if (b != NULL) { /* NULL: the bridge (and its peer) was collected */
        jint r = (*env)->CallIntMethod(env, b, g_bridge_store, (jlong)epoch, (jlong)round);
        if ((*env)->ExceptionCheck(env)) {
            report_exception(env);
        } else if (r == 0) {
            rc = 0;
        }
        (*env)->DeleteLocalRef(env, b);
    } else {
        report_exception(env);
    }
    if (detach_now) (*g_vm)->DetachCurrentThread(g_vm);
    return rc;
}

/* free_userdata of a store: once, after its last on_store, on whichever
 * thread dropped it. Tells the bridge, so its dispatcher lets go of it. */
static void free_store(void *userdata) {
    struct store *st = userdata;
    if (st == NULL) return;
    int detach_now;
    JNIEnv *env = current_env("zkelect-native", &detach_now);
    if (env != NULL && st->bridge != NULL) {
        /* With an exception pending no Java method may run: the bridge then
         * stays in its dispatcher's set until the peer is collected. */
        if (!(*env)->ExceptionCheck(env)) {
            jobject b = (*env)->NewLocalRef(env, st->bridge);
            if (b != NULL) {
                (*env)->CallVoidMethod(env, b, g_bridge_released);
                report_exception(env);
                (*env)->DeleteLocalRef(env, b);
            } else {
                report_exception(env);
            }
        }
        (*env)->DeleteWeakGlobalRef(env, st->bridge);
    }
    free(st);
    __atomic_sub_fetch(&g_live_stores, 1, __ATOMIC_SEQ_CST);
    if (detach_now) (*g_vm)->DetachCurrentThread(g_vm);
}

/* --- errors --------------------------------------------------------------- */

static jbyteArray utf8_bytes(JNIEnv *env, const char *s) {
    size_t len = strlen(s);
    jsize n = len > INT32_MAX ? INT32_MAX : (jsize)len;
    jbyteArray a = (*env)->NewByteArray(env, n);
    if (a == NULL) return NULL; /* OutOfMemoryError pending */
    (*env)->SetByteArrayRegion(env, a, 0, n, (const jbyte *)s);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->DeleteLocalRef(env, a);
        return NULL;
    }
    return a;
}

/* Throws ZkelectException for rc, with this thread's detailed message. Call
 * it right after the failed call: the message lives until the next one. */
static void throw_result(JNIEnv *env, zkelect_result rc) {
    jbyteArray detail = utf8_bytes(env, zkelect_last_error_message());
    if (detail == NULL) return;
    jbyteArray summary = utf8_bytes(env, zkelect_result_message(rc));
    if (summary != NULL) {
        jobject ex = (*env)->NewObject(env, g_exception_class, g_exception_new, (jint)rc, summary,
                                       detail);
        if (ex != NULL) {
            (*env)->Throw(env, (jthrowable)ex);
            (*env)->DeleteLocalRef(env, ex);
        }
        (*env)->DeleteLocalRef(env, summary);
    }
    (*env)->DeleteLocalRef(env, detail);
}

static void throw_new(JNIEnv *env, const char *class_name, const char *message) {
    jclass c = (*env)->FindClass(env, class_name);
    if (c == NULL) return; /* NoClassDefFoundError pending */
    (*env)->ThrowNew(env, c, message);
    (*env)->DeleteLocalRef(env, c);
}

/* 1 if rc is ZKELECT_OK, else throws and returns 0. */
static int ok(JNIEnv *env, zkelect_result rc) {
    if (rc == ZKELECT_OK) return 1;
    throw_result(env, rc);
    return 0;
}

static zkelect_peer *peer_of(jlong h) {
    return (zkelect_peer *)(intptr_t)h;
}

/* --- load / unload -------------------------------------------------------- */

static int global_class(JNIEnv *env, const char *name, jclass *out) {
    jclass local = (*env)->FindClass(env, name);
    if (local == NULL) return 0;
    *out = (jclass)(*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return *out != NULL;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION) != JNI_OK) return JNI_ERR;
    g_vm = vm;
    if (!global_class(env, "org/zkelect/ZkelectException", &g_exception_class)) return JNI_ERR;
    g_exception_new = (*env)->GetMethodID(env, g_exception_class, "<init>", "(I[B[B)V");
    if (g_exception_new == NULL) return JNI_ERR;
    if (!global_class(env, "org/zkelect/EventDispatcher", &g_dispatcher_class)) return JNI_ERR;
    g_dispatch = (*env)->GetMethodID(env, g_dispatcher_class, "dispatch", "(JIIIJJJJJJJI)V");
    if (g_dispatch == NULL) return JNI_ERR;
    if (!global_class(env, "org/zkelect/StoreBridge", &g_bridge_class)) return JNI_ERR;
    g_bridge_store = (*env)->GetMethodID(env, g_bridge_class, "store", "(JJ)I");
    if (g_bridge_store == NULL) return JNI_ERR;
    g_bridge_released = (*env)->GetMethodID(env, g_bridge_class, "released", "()V");
    if (g_bridge_released == NULL) return JNI_ERR;
    if (pthread_key_create(&g_attached, detach_at_exit) != 0) return JNI_ERR;
    return JNI_VERSION;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION) != JNI_OK) return;
    (*env)->DeleteGlobalRef(env, g_exception_class);
    (*env)->DeleteGlobalRef(env, g_dispatcher_class);
    (*env)->DeleteGlobalRef(env, g_bridge_class);
    /* The key stays: a thread still attached must find its destructor. */
}

/* --- natives -------------------------------------------------------------- */

JNIEXPORT jstring JNICALL Java_org_zkelect_Native_version(JNIEnv *env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, zkelect_version()); /* ASCII */
}

JNIEXPORT jlong JNICALL Java_org_zkelect_Native_newPeer(JNIEnv *env, jclass cls, jbyteArray text,
                                                        jboolean is_file, jlong sid,
                                                        jobject dispatcher) {
    (void)cls;
    if (text == NULL || dispatcher == NULL) {
        throw_new(env, "java/lang/NullPointerException", "text and dispatcher must not be null");
        return 0;
    }
    jsize n = (*env)->GetArrayLength(env, text);
    jbyte *bytes = (*env)->GetByteArrayElements(env, text, NULL);
    if (bytes == NULL) return 0; /* OutOfMemoryError pending */
    if (n < 1 || bytes[n - 1] != 0) {
        (*env)->ReleaseByteArrayElements(env, text, bytes, JNI_ABORT);
        throw_new(env, "java/lang/IllegalArgumentException", "the string must end with a NUL byte");
        return 0;
    }
    zkelect_peer *peer = NULL;
    zkelect_result rc = is_file ? zkelect_peer_from_file((const char *)bytes, sid, &peer)
                                : zkelect_peer_new((const char *)bytes, sid, &peer);
    (*env)->ReleaseByteArrayElements(env, text, bytes, JNI_ABORT);
    if (!ok(env, rc)) return 0;

    struct cb *cb = malloc(sizeof *cb);
    if (cb == NULL) {
        zkelect_peer_free(peer);
        throw_new(env, "java/lang/OutOfMemoryError", "zkelect: no memory for the event callback");
        return 0;
    }
    cb->dispatcher = (*env)->NewWeakGlobalRef(env, dispatcher);
    if (cb->dispatcher == NULL) {
        free(cb);
        zkelect_peer_free(peer);
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "zkelect: no weak global reference");
        }
        return 0;
    }
    __atomic_add_fetch(&g_live_callbacks, 1, __ATOMIC_SEQ_CST);
    /* From here on free_cb owns cb: the library runs it exactly once, also
     * when this call fails. */
    rc = zkelect_peer_set_event_callback(peer, on_event, cb, free_cb);
    if (!ok(env, rc)) {
        zkelect_peer_free(peer); /* runs free_cb; allowed with the exception pending */
        return 0;
    }
    return (jlong)(intptr_t)peer;
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_free(JNIEnv *env, jclass cls, jlong peer) {
    (void)env;
    (void)cls;
    zkelect_peer_free(peer_of(peer));
}

JNIEXPORT jlong JNICALL Java_org_zkelect_Native_sid(JNIEnv *env, jclass cls, jlong peer) {
    (void)cls;
    int64_t sid = 0;
    if (!ok(env, zkelect_peer_get_sid(peer_of(peer), &sid))) return 0;
    return (jlong)sid;
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_setZxid(JNIEnv *env, jclass cls, jlong peer,
                                                       jlong zxid) {
    (void)cls;
    ok(env, zkelect_peer_set_zxid(peer_of(peer), zxid));
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_setEpoch(JNIEnv *env, jclass cls, jlong peer,
                                                        jlong epoch) {
    (void)cls;
    ok(env, zkelect_peer_set_epoch(peer_of(peer), epoch));
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_start(JNIEnv *env, jclass cls, jlong peer) {
    (void)cls;
    ok(env, zkelect_peer_start(peer_of(peer)));
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_stop(JNIEnv *env, jclass cls, jlong peer) {
    (void)cls;
    ok(env, zkelect_peer_stop(peer_of(peer)));
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_restartElection(JNIEnv *env, jclass cls,
                                                               jlong peer) {
    (void)cls;
    ok(env, zkelect_peer_restart_election(peer_of(peer)));
}

static int check_length(JNIEnv *env, jlongArray out, jsize need) {
    if (out == NULL) {
        throw_new(env, "java/lang/NullPointerException", "out must not be null");
        return 0;
    }
    if ((*env)->GetArrayLength(env, out) < need) {
        throw_new(env, "java/lang/IllegalArgumentException", "out is too short");
        return 0;
    }
    return 1;
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_vote(JNIEnv *env, jclass cls, jlong peer,
                                                    jlongArray out) {
    (void)cls;
    if (!check_length(env, out, 5)) return;
    zkelect_vote v;
    if (!ok(env, zkelect_peer_get_vote(peer_of(peer), &v))) return;
    jlong a[5] = {v.state, v.leader, v.zxid, v.election_epoch, v.peer_epoch};
    (*env)->SetLongArrayRegion(env, out, 0, 5, a);
}

JNIEXPORT jboolean JNICALL Java_org_zkelect_Native_waitForLeader(JNIEnv *env, jclass cls,
                                                                 jlong peer, jlong timeout_ms,
                                                                 jlongArray out) {
    (void)cls;
    if (!check_length(env, out, 6)) return JNI_FALSE;
    if (timeout_ms < 0) {
        throw_new(env, "java/lang/IllegalArgumentException", "negative timeout");
        return JNI_FALSE;
    }
    zkelect_leader l;
    zkelect_result rc = zkelect_peer_wait_for_leader(peer_of(peer), (uint64_t)timeout_ms, &l);
    if (rc == ZKELECT_ERR_TIMEOUT) return JNI_FALSE;
    if (!ok(env, rc)) return JNI_FALSE;
    jlong a[6] = {l.leader, l.zxid, l.election_epoch, l.peer_epoch, l.state, (jlong)l.elapsed_ms};
    (*env)->SetLongArrayRegion(env, out, 0, 6, a);
    return (*env)->ExceptionCheck(env) ? JNI_FALSE : JNI_TRUE;
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_lease(JNIEnv *env, jclass cls, jlong peer,
                                                     jlongArray out) {
    (void)cls;
    if (!check_length(env, out, 4)) return;
    zkelect_lease l;
    if (!ok(env, zkelect_peer_get_lease(peer_of(peer), &l))) return;
    /* Nanoseconds of CLOCK_BOOTTIME fit a jlong for 292 years of uptime. */
    jlong a[4] = {l.leads_now, l.epoch, (jlong)l.remaining_ns, (jlong)l.deadline_ns};
    (*env)->SetLongArrayRegion(env, out, 0, 4, a);
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_leadership(JNIEnv *env, jclass cls, jlong peer,
                                                          jlongArray out) {
    (void)cls;
    if (!check_length(env, out, 12)) return;
    zkelect_leadership l;
    if (!ok(env, zkelect_peer_get_leadership(peer_of(peer), &l))) return;
    jlong a[12] = {l.confirmed,      l.role,           l.leader,  l.epoch,          l.leads_now,
                   (jlong)l.lease_ms, (jlong)l.lease_deadline_ns, l.state, l.elected_leader,
                   l.running,        l.follow_only,    l.real_members};
    (*env)->SetLongArrayRegion(env, out, 0, 12, a);
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_stats(JNIEnv *env, jclass cls, jlong peer,
                                                     jlongArray out) {
    (void)cls;
    if (!check_length(env, out, 20)) return;
    zkelect_stats s;
    if (!ok(env, zkelect_peer_get_stats(peer_of(peer), &s))) return;
    /* Counters and milliseconds fit a jlong for far longer than a run. */
    jlong a[20] = {s.running,
                   s.state,
                   s.leader,
                   s.confirmed,
                   s.accepted_epoch,
                   s.round,
                   (jlong)s.uptime_ms,
                   (jlong)s.confirmed_ms,
                   (jlong)s.looking_count,
                   (jlong)s.elections,
                   (jlong)s.last_election_ms,
                   (jlong)s.min_election_ms,
                   (jlong)s.max_election_ms,
                   (jlong)s.total_election_ms,
                   (jlong)s.leadership_changes,
                   (jlong)s.connected_peers,
                   (jlong)s.connection_errors,
                   (jlong)s.frames_dropped,
                   (jlong)s.frames_received,
                   (jlong)s.frames_sent};
    (*env)->SetLongArrayRegion(env, out, 0, 20, a);
}

JNIEXPORT jlong JNICALL Java_org_zkelect_Native_clockNanos(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)zkelect_clock_now_ns();
}

JNIEXPORT void JNICALL Java_org_zkelect_Native_setEpochStore(JNIEnv *env, jclass cls, jlong peer,
                                                             jlong held_epoch, jlong held_round,
                                                             jobject bridge, jlong sid) {
    (void)cls;
    if (bridge == NULL) {
        throw_new(env, "java/lang/NullPointerException", "bridge must not be null");
        return;
    }
    struct store *st = malloc(sizeof *st);
    if (st == NULL) {
        throw_new(env, "java/lang/OutOfMemoryError", "zkelect: no memory for the epoch store");
        return;
    }
    st->sid = sid;
    st->bridge = (*env)->NewWeakGlobalRef(env, bridge);
    if (st->bridge == NULL) {
        free(st);
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "zkelect: no weak global reference");
        }
        return;
    }
    __atomic_add_fetch(&g_live_stores, 1, __ATOMIC_SEQ_CST);
    /* From here on free_store owns st: the library runs it exactly once, also
     * when this call fails (before it returns, so no exception is pending). */
    ok(env, zkelect_peer_set_epoch_store(peer_of(peer), held_epoch, held_round, on_store, st,
                                         free_store));
}

JNIEXPORT jlong JNICALL Java_org_zkelect_Native_liveCallbacks(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)__atomic_load_n(&g_live_callbacks, __ATOMIC_SEQ_CST);
}

JNIEXPORT jlong JNICALL Java_org_zkelect_Native_liveStores(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)__atomic_load_n(&g_live_stores, __ATOMIC_SEQ_CST);
}
