package org.zkelect;

/** A peer's server state, as ZooKeeper names it. */
public enum State {
    /** Looking for a leader: an election is running. */
    LOOKING(0),
    /** Following the elected leader. */
    FOLLOWING(1),
    /** Leading: this peer was elected. */
    LEADING(2),
    /** Observing: a non-voting member that knows the leader. */
    OBSERVING(3);

    private static final State[] BY_CODE = values();

    private final int code;

    State(int code) {
        this.code = code;
    }

    /** The C ABI's number of this state ({@code ZKELECT_STATE_*}). */
    public int code() {
        return code;
    }

    /**
     * The state with the C ABI's number {@code code}.
     *
     * @throws IllegalArgumentException if no state has that number
     */
    public static State fromCode(int code) {
        for (State s : BY_CODE) {
            if (s.code == code) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown zkelect state code " + code);
    }
}
