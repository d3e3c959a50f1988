package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The binding's tables against include/zkelect.h, the source of truth: every
 * {@code ZKELECT_EVENT_*}, {@code ZKELECT_REASON_*}, {@code ZKELECT_STATE_*} and
 * {@code ZKELECT_ERR_*} of the header must be in the Java table with the same
 * value, and the Java tables must hold nothing the header does not.
 */
class HeaderDriftTest {
    /** {@code #define ZKELECT_X_Y value}, or a C enum member {@code ZKELECT_X_Y = value,}. */
    private static final Pattern DEFINE = Pattern.compile(
            "^\\s*#\\s*define\\s+(ZKELECT_(?:EVENT|REASON|STATE|ERR)_[A-Z0-9_]+)\\s+(.*?)\\s*$");
    private static final Pattern ENUM_MEMBER = Pattern.compile(
            "^\\s*(ZKELECT_(?:EVENT|REASON|STATE|ERR)_[A-Z0-9_]+)\\s*=\\s*([^,]*?)\\s*,?\\s*(?:/[/*].*)?$");
    /** An integer, maybe in parentheses or behind a cast such as {@code (int32_t)}. */
    private static final Pattern VALUE = Pattern.compile("^(?:\\(\\s*u?int\\d+_t\\s*\\))?\\(?\\s*(-?\\d+)\\s*\\)?$");

    static String header() throws IOException {
        String h = System.getProperty("zkelect.test.header");
        assertTrue(h != null, "run with -Dzkelect.test.header=include/zkelect.h (build.sh test does)");
        return Files.readString(Path.of(h), StandardCharsets.UTF_8);
    }

    /** The header's constants by table ("EVENT", ...), then by name without the prefix. */
    static Map<String, Map<String, Integer>> headerTables(String text, List<String> problems) {
        Map<String, Map<String, Integer>> tables = new TreeMap<>();
        for (String table : List.of("EVENT", "REASON", "STATE", "ERR")) {
            tables.put(table, new TreeMap<>());
        }
        for (String line : text.split("\n", -1)) {
            Matcher m = DEFINE.matcher(line);
            if (!m.matches()) {
                m = ENUM_MEMBER.matcher(line);
                if (!m.matches()) {
                    continue;
                }
            }
            String full = m.group(1);
            Matcher v = VALUE.matcher(m.group(2));
            if (!v.matches()) {
                problems.add("cannot read the value of " + full + ": '" + m.group(2) + "'");
                continue;
            }
            String rest = full.substring("ZKELECT_".length());
            int cut = rest.indexOf('_');
            tables.get(rest.substring(0, cut)).put(rest.substring(cut + 1), Integer.parseInt(v.group(1)));
        }
        return tables;
    }

    /** The binding's tables, named as the header names them. */
    static Map<String, Map<String, Integer>> javaTables() throws IllegalAccessException {
        Map<String, Map<String, Integer>> tables = new TreeMap<>();
        tables.put("EVENT", intConstants(EventDispatcher.class));
        Map<String, Integer> reasons = new TreeMap<>();
        for (LossReason r : LossReason.values()) {
            if (r != LossReason.UNKNOWN) {
                reasons.put(r.name(), r.code());
            }
        }
        tables.put("REASON", reasons);
        Map<String, Integer> states = new TreeMap<>();
        for (State s : State.values()) {
            states.put(s.name(), s.code());
        }
        tables.put("STATE", states);
        tables.put("ERR", intConstants(ZkelectException.class));
        return tables;
    }

    private static Map<String, Integer> intConstants(Class<?> c) throws IllegalAccessException {
        Map<String, Integer> m = new TreeMap<>();
        for (Field f : c.getDeclaredFields()) {
            int mod = f.getModifiers();
            if (Modifier.isStatic(mod) && Modifier.isFinal(mod) && f.getType() == int.class) {
                f.setAccessible(true);
                m.put(f.getName(), f.getInt(null));
            }
        }
        return m;
    }

    /** Every disagreement between the header text and the binding's tables. */
    static List<String> drift(String headerText) throws IllegalAccessException {
        List<String> problems = new ArrayList<>();
        Map<String, Map<String, Integer>> h = headerTables(headerText, problems);
        Map<String, Map<String, Integer>> j = javaTables();
        for (String table : h.keySet()) {
            Map<String, Integer> hs = h.get(table);
            Map<String, Integer> js = j.get(table);
            if (hs.isEmpty()) {
                problems.add("the header has no ZKELECT_" + table + "_* constant: did its spelling change?");
            }
            hs.forEach((name, value) -> {
                Integer jv = js.get(name);
                if (jv == null) {
                    problems.add("ZKELECT_" + table + "_" + name + " = " + value + " is missing from the Java binding");
                } else if (!jv.equals(value)) {
                    problems.add("ZKELECT_" + table + "_" + name + " is " + value + " in the header but " + jv
                            + " in the Java binding");
                }
            });
            js.forEach((name, value) -> {
                if (!hs.containsKey(name)) {
                    problems.add("the Java binding has " + table + " " + name + " = " + value
                            + ", which the header does not define");
                }
            });
        }
        return problems;
    }

    @Test
    void javaTablesMatchTheHeader() throws Exception {
        String text = header();
        List<String> problems = drift(text);
        assertEquals(List.of(), problems, "the Java binding drifted from include/zkelect.h");
        Map<String, Map<String, Integer>> h = headerTables(text, problems);
        // The parser really read the header (12 kinds and 10 reasons when this was written).
        assertTrue(h.get("EVENT").size() >= 12, h.toString());
        assertTrue(h.get("REASON").size() >= 10, h.toString());
        assertEquals(6, h.get("EVENT").get("LEADING"));
        assertEquals(7, h.get("REASON").get("STOPPED"));
    }

    @Test
    void aKindOrReasonAddedToTheHeaderOnlyIsCaught() throws Exception {
        String text = header();
        List<String> p = drift(text + "\n#define ZKELECT_EVENT_SOMETHING_NEW 13\n");
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("ZKELECT_EVENT_SOMETHING_NEW = 13 is missing"), p.toString());

        p = drift(text + "\n  ZKELECT_REASON_SOMETHING_NEW = 10,\n");
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("ZKELECT_REASON_SOMETHING_NEW = 10 is missing"), p.toString());

        assertTrue(text.contains("  ZKELECT_EVENT_LEADING = 6,\n"), "the header's spelling changed");
        p = drift(text.replace("  ZKELECT_EVENT_LEADING = 6,\n", "  ZKELECT_EVENT_LEADING = 60,\n"));
        assertEquals(List.of("ZKELECT_EVENT_LEADING is 60 in the header but 6 in the Java binding"), p);

        assertTrue(text.contains("  ZKELECT_REASON_EPOCH_RAISED = 9,\n"), "the header's spelling changed");
        p = drift(text.replace("  ZKELECT_REASON_EPOCH_RAISED = 9,\n", ""));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("REASON EPOCH_RAISED = 9, which the header does not define"), p.toString());

        p = drift(text + "\n#define ZKELECT_EVENT_ODD (1 << 4)\n");
        assertEquals(List.of("cannot read the value of ZKELECT_EVENT_ODD: '(1 << 4)'"), p);
    }
}
