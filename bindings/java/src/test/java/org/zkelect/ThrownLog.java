package org.zkelect;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures the throwables the {@code org.zkelect} logger reports (a listener
 * or store that threw) and keeps their stack traces out of the test output
 * until closed.
 */
final class ThrownLog implements AutoCloseable {
    final ConcurrentLinkedQueue<Throwable> thrown = new ConcurrentLinkedQueue<>();
    private final Logger jul = Logger.getLogger("org.zkelect");
    private final boolean useParent = jul.getUseParentHandlers();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getThrown() != null) {
                thrown.add(r.getThrown());
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    ThrownLog() {
        jul.addHandler(handler);
        jul.setUseParentHandlers(false);
    }

    @Override
    public void close() {
        jul.removeHandler(handler);
        jul.setUseParentHandlers(useParent);
    }
}
