package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The loader's three ways, each in a child JVM that starts with nothing loaded. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoaderTest {
    private static Path build;
    private static Path emptyDir;

    record Result(int exit, String out, String err) {}

    @BeforeAll
    static void locate() throws IOException {
        String b = System.getProperty("zkelect.test.build");
        assertTrue(b != null, "run with -Dzkelect.test.build=bindings/java/build (build.sh test does)");
        build = Path.of(b);
        emptyDir = Files.createTempDirectory("zkelect-empty");
        emptyDir.toFile().deleteOnExit();
    }

    private static Result probe(String classPath, String... props) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.add("-Djava.library.path=" + emptyDir); // nothing there unless a prop says otherwise
        for (String p : props) {
            cmd.add(p);
        }
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add("org.zkelect.LoaderProbe");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("LD_LIBRARY_PATH");
        Path out = Files.createTempFile("probe", ".out");
        Path err = Files.createTempFile("probe", ".err");
        try {
            Process proc = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "the child JVM hangs");
            return new Result(proc.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String testClasses() {
        return build.resolve("test-classes").toString();
    }

    @Test
    void jarPackedLibraryLoadsWithNothingElseConfigured() throws Exception {
        Result r = probe(build.resolve("zkelect.jar") + File.pathSeparator + testClasses());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("source=jar resource /native/" + NativeLoader.platform()
                + "/libzkelect_jni.so extracted to "), r.out());
        assertTrue(r.out().contains("version=" + Peer.nativeVersion()), r.out());
        assertTrue(r.out().contains("sid=1"), r.out());
        assertTrue(!r.err().contains("WARNING in native method"), r.err());
    }

    @Test
    void javaLibraryPathIsTriedBeforeTheJar() throws Exception {
        Result r = probe(build.resolve("zkelect.jar") + File.pathSeparator + testClasses(),
                "-Djava.library.path=" + build);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("source=java.library.path"), r.out());
    }

    @Test
    void explicitPropertyComesFirst() throws Exception {
        Result r = probe(build.resolve("zkelect.jar") + File.pathSeparator + testClasses(),
                "-Dzkelect.library.path=" + build.resolve("libzkelect_jni.so"),
                "-Djava.library.path=" + build);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("source=property zkelect.library.path: " + build.resolve("libzkelect_jni.so")),
                r.out());
    }

    @Test
    void aBadExplicitPathIsAnErrorNamingIt() throws Exception {
        Result r = probe(build.resolve("zkelect.jar") + File.pathSeparator + testClasses(),
                "-Dzkelect.library.path=/nonexistent/libzkelect_jni.so");
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains("-Dzkelect.library.path=/nonexistent/libzkelect_jni.so"), r.err());
    }

    @Test
    void aMissingLibrarySaysWhatWasTried() throws Exception {
        // The bare classes: no library packed with them, none on the path.
        Result r = probe(build.resolve("classes") + File.pathSeparator + testClasses());
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains("system property zkelect.library.path: not set"), r.err());
        assertTrue(r.err().contains("System.loadLibrary(\"zkelect_jni\") with java.library.path=" + emptyDir),
                r.err());
        assertTrue(r.err().contains("jar resource /native/" + NativeLoader.platform()
                + "/libzkelect_jni.so: not on the class path"), r.err());
    }
}
