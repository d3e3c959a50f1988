package org.zkelect;

import java.nio.charset.StandardCharsets;

/**
 * A failed call into the native library: {@link #getCode()} is the C ABI's
 * result code ({@code ZKELECT_ERR_*}, also the constants below) and the message
 * is the code's text followed by the library's detailed message (which config
 * line, which sid, which address).
 */
public class ZkelectException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** A required pointer argument was NULL (a bug in the binding). */
    public static final int NULL = 1;
    /** The configuration is invalid; the message names the line or key. */
    public static final int CONFIG = 2;
    /** A socket, file or thread operation failed (e.g. the election port is taken). */
    public static final int IO = 3;
    /** {@link Peer#start()} on a running peer. */
    public static final int ALREADY_RUNNING = 4;
    /** The operation needs a running peer. */
    public static final int NOT_RUNNING = 5;
    /** The wait ended before an election was decided. */
    public static final int TIMEOUT = 6;
    /** An argument is out of range. */
    public static final int INVALID_ARGUMENT = 7;
    /** The library caught an internal panic; please report the message. */
    public static final int PANIC = 99;

    private final int code;
    private final String detail;

    /**
     * @param code the result code
     * @param summary the code's static text
     * @param detail the detailed message (may be empty)
     */
    public ZkelectException(int code, String summary, String detail) {
        super(detail == null || detail.isEmpty() ? summary : summary + ": " + detail);
        this.code = code;
        this.detail = detail == null ? "" : detail;
    }

    /** Called by the JNI glue: the texts come as UTF-8 bytes. */
    ZkelectException(int code, byte[] summary, byte[] detail) {
        this(code, utf8(summary), utf8(detail));
    }

    private static String utf8(byte[] b) {
        return b == null ? "" : new String(b, StandardCharsets.UTF_8);
    }

    /** The C ABI's result code, one of the constants of this class. */
    public int getCode() {
        return code;
    }

    /** The library's detailed message alone (empty if it gave none). */
    public String getDetail() {
        return detail;
    }
}
