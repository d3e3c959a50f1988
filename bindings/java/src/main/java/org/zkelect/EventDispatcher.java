package org.zkelect;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The one native event callback of a peer lands here and fans out to the
 * listeners. It holds no reference to the {@link Peer}; the native side holds
 * it only through a weak global reference, so neither keeps a peer that nobody
 * uses alive.
 *
 * <p>It also keeps what {@link Peer#waitForConfirmed} waits for: the confirmed
 * leadership of the last leadership event, updated before any listener runs.
 */
final class EventDispatcher {
    private static final System.Logger LOG = System.getLogger("org.zkelect");

    // ZKELECT_EVENT_* (HeaderDriftTest checks them against include/zkelect.h)
    static final int STATE_CHANGED = 1;
    static final int LEADER_ELECTED = 2;
    static final int LEADER_LOST = 3;
    static final int PEER_CONNECTED = 4;
    static final int PEER_DISCONNECTED = 5;
    static final int LEADING = 6;
    static final int LEADERSHIP_LOST = 7;
    static final int LEADERSHIP_FAILED = 8;
    static final int FOLLOWING = 9;
    static final int OBSERVING = 10;
    static final int EPOCH_ACCEPTED = 11;
    static final int EPOCH_STORE_FAILED = 12;

    final CopyOnWriteArrayList<ElectionListener> listeners = new CopyOnWriteArrayList<>();
    /**
     * The epoch stores handed to the library, held strongly here because the
     * native side holds them only weakly; each removes itself once the
     * library released it.
     */
    final Set<StoreBridge> stores = ConcurrentHashMap.newKeySet();
    /** The peer's notifier thread, the one that calls {@link #dispatch}. */
    private volatile Thread notifier;
    /** Set when a listener closed the peer: nothing more is delivered. */
    private volatile boolean muted;

    private final Object confirmedLock = new Object();
    /** The leadership confirmed now, or null; guarded by confirmedLock. */
    private Confirmed confirmed;

    /**
     * {@link Peer#close()} is about to close the peer. Called from a listener
     * (the notifier thread), nothing more is delivered, not even to the
     * listeners after it for the same event, as the library delivers nothing
     * after a stop from its own callback. From any other thread, the events
     * the stop raises (leadership lost, leader lost: STOPPED) are still
     * delivered before close() returns.
     */
    void closing() {
        if (Thread.currentThread() == notifier) {
            muted = true;
        }
    }

    /** The confirmed leadership now, if any. */
    Optional<Confirmed> confirmed() {
        synchronized (confirmedLock) {
            return Optional.ofNullable(confirmed);
        }
    }

    /**
     * Waits up to {@code nanos} for a confirmed leadership; returns at once if
     * there is one, empty if there is none after the wait.
     */
    Optional<Confirmed> awaitConfirmed(long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        synchronized (confirmedLock) {
            while (confirmed == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                long ms = left / 1_000_000;
                confirmedLock.wait(ms, (int) (left - ms * 1_000_000));
            }
            return Optional.ofNullable(confirmed);
        }
    }

    private void track(long sid, int kind, int newState, long leader, long epoch) {
        Confirmed next;
        switch (kind) {
            case LEADING:
                next = new Confirmed(State.LEADING, sid, epoch);
                break;
            case FOLLOWING:
                next = new Confirmed(State.FOLLOWING, leader, epoch);
                break;
            case OBSERVING:
                next = new Confirmed(State.OBSERVING, leader, epoch);
                break;
            case LEADERSHIP_LOST:
            case LEADER_LOST:
                next = null;
                break;
            case STATE_CHANGED:
                if (newState != State.LOOKING.code()) {
                    return;
                }
                next = null;
                break;
            default:
                return;
        }
        synchronized (confirmedLock) {
            confirmed = next;
            confirmedLock.notifyAll();
        }
    }

    /**
     * Called by the JNI glue on the peer's notifier thread. Never throws: a
     * listener's exception is logged, and the next listener runs.
     */
    void dispatch(
            long sid,
            int kind,
            int oldState,
            int newState,
            long leader,
            long zxid,
            long electionEpoch,
            long peerEpoch,
            long elapsedMillis,
            long peerSid,
            long epoch,
            int reasonCode) {
        notifier = Thread.currentThread();
        State old = null;
        State now = null;
        Leader elected = null;
        LossReason reason = LossReason.fromCode(reasonCode);
        try {
            switch (kind) {
                case STATE_CHANGED:
                    old = State.fromCode(oldState);
                    now = State.fromCode(newState);
                    break;
                case LEADER_ELECTED:
                    elected = new Leader(
                            leader, zxid, electionEpoch, peerEpoch, State.fromCode(newState), elapsedMillis);
                    break;
                case LEADER_LOST:
                case PEER_CONNECTED:
                case PEER_DISCONNECTED:
                case LEADING:
                case LEADERSHIP_LOST:
                case LEADERSHIP_FAILED:
                case FOLLOWING:
                case OBSERVING:
                case EPOCH_ACCEPTED:
                case EPOCH_STORE_FAILED:
                    break;
                default:
                    return; // a kind added after this binding: ignore
            }
            track(sid, kind, newState, leader, epoch);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "zkelect sid " + sid + ": bad event from the library", e);
            return;
        }
        for (ElectionListener l : listeners) {
            if (muted) {
                return; // a listener closed the peer: nothing more is delivered
            }
            try {
                switch (kind) {
                    case STATE_CHANGED:
                        l.onStateChanged(old, now);
                        break;
                    case LEADER_ELECTED:
                        l.onElected(elected);
                        break;
                    case LEADER_LOST:
                        l.onLeaderLost(leader, reason);
                        break;
                    case PEER_CONNECTED:
                        l.onPeerConnected(peerSid);
                        break;
                    case PEER_DISCONNECTED:
                        l.onPeerDisconnected(peerSid);
                        break;
                    case LEADING:
                        l.onLeading(epoch);
                        break;
                    case LEADERSHIP_LOST:
                        l.onLeadershipLost(epoch, reason);
                        break;
                    case LEADERSHIP_FAILED:
                        l.onLeadershipFailed(epoch, reason);
                        break;
                    case FOLLOWING:
                        l.onFollowing(leader, epoch);
                        break;
                    case OBSERVING:
                        l.onObserving(leader, epoch);
                        break;
                    case EPOCH_ACCEPTED:
                        l.onEpochAccepted(epoch);
                        break;
                    default:
                        l.onEpochStoreFailed(epoch);
                        break;
                }
            } catch (Throwable t) { // NOPMD: nothing above us could handle it
                LOG.log(System.Logger.Level.WARNING,
                        "zkelect sid " + sid + ": listener " + l + " threw; the election goes on", t);
            }
        }
    }
}
