/**
 * Work that may wait until the end of the current event-loop turn, run together there.
 *
 * The meter parses the bytes of a stream as they go by. Doing that inside each chunk's callback
 * interleaves the parsers with the relay's own code (llhttp, undici, node:http) chunk by chunk;
 * running it once per turn for every chunk that arrived in the turn keeps each piece of code
 * warm: 3–5 µs less CPU per relayed SSE event in the bench (bench/README.md, "Findings"). A
 * setImmediate callback runs right after the turn's I/O callbacks, so no chunk waits longer than
 * the turn it arrived in, and the times the meter records are the chunks' arrival times.
 */
export interface EndOfTurnTask {
  runAtEndOfTurn(): void;
}

let queue: EndOfTurnTask[] = [];

/** Runs `task.runAtEndOfTurn()` at the end of this turn; queue a task once per turn. */
export function atEndOfTurn(task: EndOfTurnTask): void {
  queue.push(task);
  if (queue.length === 1) {
    setImmediate(runQueued);
  }
}

function runQueued(): void {
  const tasks = queue;
  queue = [];
  for (const task of tasks) {
    try {
      task.runAtEndOfTurn();
    } catch (err) {
      // A measuring bug must not stop the other exchanges' tasks or the proxy.
      console.error('Tokenmeter: measuring failed:', err);
    }
  }
}
