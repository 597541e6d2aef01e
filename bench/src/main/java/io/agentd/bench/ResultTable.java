package io.agentd.bench;

import java.util.ArrayList;
import java.util.List;

/** Prints figures as an aligned text table (terminal) or a Markdown table (BENCHMARKS.md). */
final class ResultTable {
    private static final String[] HEADER = {"figure", "value", "baseline", "ratio", "target", "pass/miss"};

    private ResultTable() {}

    static String text(List<Figure> figures) {
        List<String[]> rows = rows(figures);
        int[] width = new int[HEADER.length];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            String[] row = rows.get(r);
            for (int c = 0; c < row.length; c++) {
                out.append(c == 0 ? "" : "  ").append(pad(row[c], width[c]));
            }
            out.append('\n');
            if (r == 0) {
                for (int c = 0; c < width.length; c++) {
                    out.append(c == 0 ? "" : "  ").append("-".repeat(width[c]));
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    static String markdown(List<Figure> figures) {
        StringBuilder out = new StringBuilder();
        List<String[]> rows = rows(figures);
        for (int r = 0; r < rows.size(); r++) {
            out.append("| ").append(String.join(" | ", rows.get(r))).append(" |\n");
            if (r == 0) {
                out.append("|---".repeat(HEADER.length)).append("|\n");
            }
        }
        return out.toString();
    }

    private static List<String[]> rows(List<Figure> figures) {
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        for (Figure f : figures) {
            rows.add(new String[] {f.name(), f.valueText(), f.baselineText(), f.ratioText(), f.target(),
                    f.verdictText()});
        }
        return rows;
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }
}
