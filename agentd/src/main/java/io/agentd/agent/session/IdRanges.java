package io.agentd.agent.session;

import java.util.Arrays;
import java.util.List;

/**
 * Session ids for one log line about many sessions (a host's loss): sorted, runs of consecutive ids
 * as {@code 1-5}, at most {@link #MAX_RUNS} runs and then the count of ids left out, so that the
 * line stays short however many sessions the host had.
 */
final class IdRanges {
    static final int MAX_RUNS = 20;

    private IdRanges() {}

    /** The host's request ids of {@code sessions}: {@code 1-5, 9, 12-14} or {@code 1-5, 9, … (N more)}. */
    static String of(List<Session> sessions) {
        long[] ids = new long[sessions.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = sessions.get(i).id;
        }
        return of(ids);
    }

    static String of(long[] unsorted) {
        long[] ids = unsorted.clone();
        Arrays.sort(ids);
        StringBuilder text = new StringBuilder();
        int runs = 0;
        int i = 0;
        while (i < ids.length && runs < MAX_RUNS) {
            int end = i;
            while (end + 1 < ids.length && ids[end + 1] == ids[end] + 1) {
                end++;
            }
            text.append(runs++ == 0 ? "" : ", ").append(ids[i]);
            if (end > i) {
                text.append('-').append(ids[end]);
            }
            i = end + 1;
        }
        if (i < ids.length) {
            text.append(", … (").append(ids.length - i).append(" more)");
        }
        return text.toString();
    }
}
