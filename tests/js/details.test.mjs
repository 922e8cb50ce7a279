import assert from "node:assert/strict";
import { test } from "node:test";

import { DetailFetcher, RETRY_MAX_TRIES, retryDelayMs } from "../../static/orders/js/details.js";
import { FakeTimers, settle } from "./fakes.mjs";

/** A fetcher whose loads wait until the test answers them. */
function harness({ concurrency = 2, maxQueued = 3, needed = () => true } = {}) {
  const timers = new FakeTimers();
  const calls = [];
  const waiting = new Map(); // id -> resolve
  const fetcher = new DetailFetcher({
    load: (id) => {
      calls.push(id);
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    needed,
    concurrency,
    maxQueued,
    timers,
  });
  const answer = async (id, outcome = "ok") => {
    const resolve = waiting.get(id);
    assert.ok(resolve, "no load in flight for " + id);
    waiting.delete(id);
    resolve(outcome);
    await settle();
  };
  return { fetcher, timers, calls, answer, waiting };
}

test("at most `concurrency` loads run at once", async () => {
  const { fetcher, calls, answer } = harness({ concurrency: 2, maxQueued: 10 });
  ["a", "b", "c", "d"].forEach((id) => fetcher.request(id));
  await settle();
  assert.deepEqual(calls, ["a", "b"]);
  assert.equal(fetcher.pending, 4);
  await answer("a");
  assert.deepEqual(calls, ["a", "b", "c"]);
  await answer("b");
  await answer("c");
  await answer("d");
  assert.equal(fetcher.pending, 0);
});

test("a request for an order already queued or loading is merged into it", async () => {
  const { fetcher, calls, answer } = harness({ concurrency: 1, maxQueued: 10 });
  fetcher.request("a");
  fetcher.request("b");
  fetcher.request("b");
  await settle();
  assert.deepEqual(calls, ["a"]);
  assert.equal(fetcher.pending, 2);
  await answer("a");
  await answer("b");
  assert.deepEqual(calls, ["a", "b"]);
});

test("asked again while loading, an order loads once more after, if still needed", async () => {
  let needed = true;
  const { fetcher, calls, answer } = harness({ concurrency: 1, needed: () => needed });
  fetcher.request("a");
  await settle();
  fetcher.request("a");
  await answer("a");
  assert.deepEqual(calls, ["a", "a"]);
  fetcher.request("a");
  needed = false;
  await answer("a");
  assert.deepEqual(calls, ["a", "a"], "not needed any more: no third load");
});

test("urgent requests go first, the newest urgent one first", async () => {
  const { fetcher, calls, answer } = harness({ concurrency: 1, maxQueued: 10 });
  fetcher.request("busy");
  fetcher.request("n1");
  fetcher.request("u1", true);
  fetcher.request("n2");
  fetcher.request("u2", true);
  for (const id of ["busy", "u2", "u1", "n1"]) {
    await settle();
    await answer(id);
  }
  await answer("n2");
  assert.deepEqual(calls, ["busy", "u2", "u1", "n1", "n2"]);
});

test("the queue is bounded: beyond maxQueued the oldest waiting request is dropped", async () => {
  const { fetcher, calls, answer } = harness({ concurrency: 1, maxQueued: 3 });
  ["a", "b", "c", "d", "e", "f"].forEach((id) => fetcher.request(id));
  await settle();
  assert.equal(fetcher.queued.size, 3);
  assert.equal(fetcher.dropped, 2);
  assert.equal(fetcher.pending, 4);
  for (const id of ["a", "d", "e", "f"]) await answer(id);
  assert.deepEqual(calls, ["a", "d", "e", "f"], "b and c were dropped");
});

test("a hundred unknown orders cost at most concurrency + maxQueued loads", async () => {
  const { fetcher, calls, waiting, answer } = harness({ concurrency: 6, maxQueued: 64 });
  for (let i = 0; i < 100; i++) fetcher.request("o" + i);
  await settle();
  while (waiting.size) await answer(waiting.keys().next().value);
  assert.equal(calls.length, 70);
  assert.equal(fetcher.dropped, 30);
});

test("a failed load is retried with a growing delay, a bounded number of times", async () => {
  const { fetcher, timers, calls, answer } = harness({ concurrency: 1 });
  fetcher.request("a");
  await settle();
  for (let tries = 1; tries <= RETRY_MAX_TRIES; tries++) {
    await answer("a", "retry");
    assert.deepEqual(timers.pending(), [retryDelayMs(tries)]);
    timers.advance(retryDelayMs(tries));
    await settle();
    assert.equal(calls.length, tries + 1);
  }
  await answer("a", "retry");
  assert.deepEqual(timers.pending(), [], "gave up");
  assert.ok(retryDelayMs(10) <= 5000);
});

test("a thrown load counts as a failure to retry", async () => {
  const timers = new FakeTimers();
  const fetcher = new DetailFetcher({
    load: () => Promise.reject(new Error("boom")),
    needed: () => true,
    timers,
  });
  fetcher.request("a");
  await settle();
  assert.equal(fetcher.pending, 0);
  assert.deepEqual(timers.pending(), [retryDelayMs(1)]);
});

test("cancel forgets queued requests and pending retries", async () => {
  const { fetcher, timers, calls, answer } = harness({ concurrency: 1 });
  fetcher.request("a");
  fetcher.request("b");
  await settle();
  fetcher.cancel("b");
  await answer("a", "retry");
  fetcher.cancel("a");
  assert.deepEqual(timers.pending(), []);
  await settle();
  assert.deepEqual(calls, ["a"]);
  assert.equal(fetcher.pending, 0);
});
