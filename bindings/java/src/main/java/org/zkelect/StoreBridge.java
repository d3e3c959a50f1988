package org.zkelect;

/**
 * One {@link EpochStore} as the library holds it: the JNI glue's store
 * callback calls {@link #store} on the peer's election thread through a weak
 * global reference (so that a store referencing its peer does not keep the
 * peer reachable), and {@link #released} once the library let go of it. The
 * peer's {@link EventDispatcher} holds it strongly until then.
 */
final class StoreBridge {
    private static final System.Logger LOG = System.getLogger("org.zkelect");

    private final EventDispatcher owner;
    private final EpochStore store;
    private final long sid;

    StoreBridge(EventDispatcher owner, EpochStore store, long sid) {
        this.owner = owner;
        this.store = store;
        this.sid = sid;
    }

    /**
     * Called by the JNI glue. Never throws: 0 once the store returned, 1 if it
     * threw (logged), which the library reports as a failed store.
     */
    int store(long epoch, long round) {
        try {
            store.store(epoch, round);
            return 0;
        } catch (Throwable t) { // NOPMD: nothing may unwind into the library
            LOG.log(System.Logger.Level.WARNING, "zkelect sid " + sid + ": epoch store " + store
                    + " threw storing epoch " + epoch + ", round " + round
                    + "; nothing that depends on it is sent", t);
            return 1;
        }
    }

    /** Called by the JNI glue once the library will not call this store again. */
    void released() {
        owner.stores.remove(this);
    }
}
