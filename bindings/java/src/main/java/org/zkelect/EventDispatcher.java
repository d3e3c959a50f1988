package org.zkelect;

import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The one native event callback of a peer lands here and fans out to the
 * listeners. It holds no reference to the {@link Peer}; the native side holds
 * it only through a weak global reference, so neither keeps a peer that nobody
 * uses alive.
 */
final class EventDispatcher {
    private static final System.Logger LOG = System.getLogger("org.zkelect");

    // ZKELECT_EVENT_*
    static final int STATE_CHANGED = 1;
    static final int LEADER_ELECTED = 2;
    static final int LEADER_LOST = 3;
    static final int PEER_CONNECTED = 4;
    static final int PEER_DISCONNECTED = 5;

    final CopyOnWriteArrayList<ElectionListener> listeners = new CopyOnWriteArrayList<>();
    /** Set once the native handle exists; listeners are skipped once it is closed. */
    private volatile NativeHandle handle;

    void bind(NativeHandle h) {
        handle = h;
    }

    private boolean closed() {
        NativeHandle h = handle;
        return h != null && h.isClosed();
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
            long peerSid) {
        State old = null;
        State now = null;
        Leader elected = null;
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
                    break;
                default:
                    return; // a kind added after this binding: ignore
            }
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "zkelect sid " + sid + ": bad event from the library", e);
            return;
        }
        for (ElectionListener l : listeners) {
            if (closed()) {
                return; // close() ran, maybe in a listener: nothing more is delivered
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
                        l.onLeaderLost(leader);
                        break;
                    case PEER_CONNECTED:
                        l.onPeerConnected(peerSid);
                        break;
                    default:
                        l.onPeerDisconnected(peerSid);
                        break;
                }
            } catch (Throwable t) { // NOPMD: nothing above us could handle it
                LOG.log(System.Logger.Level.WARNING,
                        "zkelect sid " + sid + ": listener " + l + " threw; the election goes on", t);
            }
        }
    }
}
