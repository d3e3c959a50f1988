package org.zkelect;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads libzkelect_jni (which has libzkelect linked in statically), trying in order:
 *
 * <ol>
 *   <li>the system property {@value #PROPERTY}: an explicit path to the library.
 *       When it is set it is the only thing tried: a library the user named but
 *       that does not load is an error, not a reason to load another one;
 *   <li>{@code System.loadLibrary("zkelect_jni")}, i.e. {@code java.library.path};
 *   <li>the library packed in the jar under {@code /native/<os>-<arch>/},
 *       extracted to a temporary file (deleted on exit).
 * </ol>
 *
 * If nothing loads, an {@link UnsatisfiedLinkError} says what was tried and why
 * each failed; every later attempt throws the same message again.
 */
final class NativeLoader {
    /** System property holding an explicit path to libzkelect_jni. */
    static final String PROPERTY = "zkelect.library.path";
    /** The library's name for {@link System#loadLibrary}. */
    static final String NAME = "zkelect_jni";

    private static String source;
    private static String failure;

    private NativeLoader() {}

    /** Loads the library once; throws the same error on every call if it failed. */
    static synchronized void load() {
        if (source != null) {
            return;
        }
        if (failure != null) {
            throw new UnsatisfiedLinkError(failure);
        }
        try {
            source = tryAll();
        } catch (UnsatisfiedLinkError e) {
            failure = e.getMessage();
            throw e;
        }
    }

    /** How the library was loaded (for diagnostics and tests), or null if not yet. */
    static synchronized String source() {
        return source;
    }

    /** The {@code <os>-<arch>} directory name of this platform, e.g. linux-amd64. */
    static String platform() {
        String os = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "macos";
        } else if (os.startsWith("windows")) {
            os = "windows";
        } else {
            os = os.replaceAll("[^a-z0-9]+", "");
        }
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "x86_64":
            case "amd64":
            case "x64":
                arch = "amd64";
                break;
            case "aarch64":
            case "arm64":
                arch = "aarch64";
                break;
            default:
                arch = arch.replaceAll("[^a-z0-9_]+", "");
        }
        return os + "-" + arch;
    }

    /** The resource path of the library packed in the jar for this platform. */
    static String resource() {
        return "/native/" + platform() + "/" + System.mapLibraryName(NAME);
    }

    private static String tryAll() {
        String explicit = System.getProperty(PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            try {
                String abs = Path.of(explicit).toAbsolutePath().toString();
                System.load(abs);
                return "property " + PROPERTY + ": " + abs;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                throw new UnsatisfiedLinkError("cannot load the zkelect JNI library from -D" + PROPERTY
                        + "=" + explicit + ": " + e.getMessage()
                        + " (unset the property to search java.library.path and the jar)");
            }
        }
        List<String> tried = new ArrayList<>();
        tried.add("system property " + PROPERTY + ": not set");
        try {
            System.loadLibrary(NAME);
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            tried.add("System.loadLibrary(\"" + NAME + "\") with java.library.path="
                    + System.getProperty("java.library.path") + ": " + e.getMessage());
        }
        String res = resource();
        try (InputStream in = NativeLoader.class.getResourceAsStream(res)) {
            if (in == null) {
                tried.add("jar resource " + res + ": not on the class path");
            } else {
                Path tmp = Files.createTempFile("libzkelect_jni-", ".so");
                tmp.toFile().deleteOnExit();
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                try {
                    System.load(tmp.toAbsolutePath().toString());
                    return "jar resource " + res + " extracted to " + tmp;
                } catch (UnsatisfiedLinkError e) {
                    tried.add("jar resource " + res + " extracted to " + tmp + ": " + e.getMessage());
                }
            }
        } catch (IOException | RuntimeException e) {
            tried.add("jar resource " + res + ": " + e);
        }
        throw new UnsatisfiedLinkError("cannot load the zkelect JNI library ("
                + System.mapLibraryName(NAME) + " for " + platform() + "); tried: "
                + String.join("; ", tried));
    }
}
