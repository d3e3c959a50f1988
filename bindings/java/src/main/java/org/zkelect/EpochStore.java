package org.zkelect;

/**
 * Keeps a peer's durable state (the accepted epoch and a round high-water
 * mark) for {@link Peer#setEpochStore}, instead of the file
 * {@code zkelect.<sid>.state} in {@code dataDir}.
 *
 * <p>{@link #store} runs on the peer's native election thread (attached to the
 * JVM as a daemon), and must return only once the state is durable (written
 * and fsynced, committed, ...): nothing that depends on it is sent before it
 * returns. It should return promptly, as the election waits for it, and must
 * not stop or close its own peer (the stop would wait for the very thread
 * that calls it).
 */
@FunctionalInterface
public interface EpochStore {
    /**
     * Stores {@code epoch} (the highest accepted epoch) and {@code round} (the
     * round high-water mark) durably.
     *
     * @throws Exception if the state could not be stored: the peer then
     *     acknowledges nothing that depends on it and emits
     *     {@link ElectionListener#onEpochStoreFailed}; the exception is logged
     *     (System.Logger {@code org.zkelect}, WARNING), never passed into the
     *     library
     */
    void store(long epoch, long round) throws Exception;
}
