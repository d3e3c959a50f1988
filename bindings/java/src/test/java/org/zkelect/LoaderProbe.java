package org.zkelect;

/** Run in a child JVM by LoaderTest: loads the library and reports how. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        try (Peer p = Peer.fromConfig("server.1=127.0.0.1:1:2\n", 1)) {
            System.out.println("version=" + Peer.nativeVersion());
            System.out.println("sid=" + p.sid());
            System.out.println("source=" + NativeLoader.source());
        } catch (UnsatisfiedLinkError e) {
            System.err.println("UnsatisfiedLinkError: " + e.getMessage());
            System.exit(3);
        }
    }
}
