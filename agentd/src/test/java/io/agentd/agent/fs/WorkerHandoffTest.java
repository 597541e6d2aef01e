package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** WorkerHandoff with the test thread as the loop: what is posted is run only when the test says. */
class WorkerHandoffTest {
    private final LinkedBlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final List<Integer> taken = new ArrayList<>();
    private final List<Integer> afterTakes = new ArrayList<>();
    private final WorkerHandoff<Integer> handoff = new WorkerHandoff<>(loop::add, taken::add,
            () -> afterTakes.add(taken.size()));

    @Test
    void itemsHandedWhileATakeWaitsGoInThatTakeInOrder() throws Exception {
        Thread worker = new Thread(() -> IntStream.range(0, 100).forEach(handoff::hand));
        worker.start();
        worker.join();
        assertEquals(1, loop.size(), "one take posted for a hundred items");
        loop.poll().run();
        assertEquals(IntStream.range(0, 100).boxed().toList(), taken);
        assertEquals(List.of(100), afterTakes);

        handoff.hand(100); // the take ran: the next item posts again
        assertEquals(1, loop.size());
        loop.poll().run();
        assertEquals(101, taken.size());
        assertEquals(List.of(100, 101), afterTakes);
    }

    @Test
    void takeAllTakesWhatIsThereAndTheLaterTakeFindsNothing() {
        handoff.hand(1);
        handoff.hand(2);
        handoff.takeAll();
        assertEquals(List.of(1, 2), taken);
        assertEquals(List.of(), afterTakes, "takeAll does not run what follows a posted take");
        loop.poll().run();
        assertEquals(List.of(1, 2), taken);
        assertEquals(List.of(2), afterTakes);
    }
}
