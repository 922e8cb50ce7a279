import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { BACKOFF_MAX_MS, Backfill, StreamConnection, backoffDelay, streamUrl } from "../../static/orders/js/stream.js";
import { FakeSocket, FakeTimers, settle } from "./fakes.mjs";

const LOCATION = { protocol: "http:", host: "engine.test:8000" };

function connection(options = {}) {
  const timers = new FakeTimers();
  const seen = { events: [], opens: 0, states: [] };
  const conn = new StreamConnection({
    location: LOCATION,
    WebSocketImpl: FakeSocket,
    timers,
    now: timers.now,
    random: () => 0.5,
    onEvent: (ev) => seen.events.push(ev),
    onOpen: () => seen.opens++,
    onState: (c) => seen.states.push(c.state),
    ...options,
  });
  return { conn, timers, seen };
}

beforeEach(() => FakeSocket.reset());

test("the stream URL follows the page's scheme and carries the resume cursor", () => {
  assert.equal(streamUrl(LOCATION, null), "ws://engine.test:8000/api/orders/stream");
  assert.equal(streamUrl({ protocol: "https:", host: "x" }, "1-2"), "wss://x/api/orders/stream?after=1-2");
  assert.equal(streamUrl(LOCATION, "a&b"), "ws://engine.test:8000/api/orders/stream?after=a%26b");
});

test("back-off doubles from 250 ms with jitter of at most 20 %, capped at 5 s", () => {
  assert.equal(backoffDelay(0, () => 1), 250);
  assert.equal(backoffDelay(0, () => 0), 200);
  assert.equal(backoffDelay(3, () => 1), 2000);
  assert.equal(backoffDelay(30, () => 1), BACKOFF_MAX_MS);
  for (let attempt = 0; attempt < 10; attempt++) {
    const d = backoffDelay(attempt);
    const base = Math.min(5000, 250 * 2 ** attempt);
    assert.ok(d >= 0.8 * base && d <= base, `${attempt}: ${d}`);
  }
});

test("open goes live and backfills; events are handed on", () => {
  const { conn, seen } = connection();
  conn.connect();
  assert.equal(conn.state, "connecting");
  const ws = FakeSocket.last();
  assert.equal(ws.url, "ws://engine.test:8000/api/orders/stream");
  ws.open();
  assert.equal(conn.state, "live");
  assert.equal(conn.text(), "live");
  assert.equal(seen.opens, 1);
  ws.receive({ orderId: "a", seq: 1, status: "pending" });
  ws.receive("not json");
  assert.deepEqual(seen.events, [{ orderId: "a", seq: 1, status: "pending" }]);
});

test("a lost connection reconnects after a growing back-off and backfills again", () => {
  const { conn, timers, seen } = connection();
  conn.connect();
  FakeSocket.last().open();
  FakeSocket.last().serverClose(1006);
  assert.equal(conn.state, "reconnecting");
  assert.match(conn.text(), /^reconnecting in 0\.2 s$/);
  const delays = [];
  for (let i = 0; i < 6; i++) {
    delays.push(timers.pending()[0]);
    timers.advance(timers.pending()[0]);
    FakeSocket.last().serverClose(1006); // refused again
  }
  assert.deepEqual(delays, [225, 450, 900, 1800, 3600, 4500]);
  timers.advance(timers.pending()[0]);
  FakeSocket.last().open();
  assert.equal(conn.state, "live");
  assert.equal(seen.opens, 2);
  assert.equal(conn.attempt, 0, "back-off starts over once live");
});

test("close 4410 with a cursor resumes at once from that cursor, not in a loop", () => {
  const { conn, timers } = connection();
  conn.connect();
  FakeSocket.last().open();
  FakeSocket.last().receive({ error: "fell more than 10000 events behind", resumeAfter: "17-3" });
  assert.match(conn.title, /fell more than/);
  FakeSocket.last().serverClose(4410);
  assert.equal(FakeSocket.instances.length, 2, "reconnected at once");
  assert.equal(FakeSocket.last().url, "ws://engine.test:8000/api/orders/stream?after=17-3");
  assert.deepEqual(timers.pending(), []);

  // The resume fails at once too: the next one waits for the back-off.
  FakeSocket.last().receive({ error: "could not replay", resumeAfter: "17-3" });
  FakeSocket.last().serverClose(4410);
  assert.equal(FakeSocket.instances.length, 2);
  assert.equal(conn.state, "reconnecting");
  timers.advance(timers.pending()[0]);
  assert.equal(FakeSocket.last().url, "ws://engine.test:8000/api/orders/stream?after=17-3", "still resumes from the cursor");
  FakeSocket.last().open();
  FakeSocket.last().serverClose(1006);
  timers.advance(timers.pending()[0]);
  assert.equal(FakeSocket.last().url, "ws://engine.test:8000/api/orders/stream", "a cursor is used once");
});

test("close 4410 without a cursor (too old) reconnects plainly and backfills", () => {
  const { conn, timers, seen } = connection();
  conn.connect();
  FakeSocket.last().open();
  FakeSocket.last().receive({ error: "events after 1-1 are no longer kept", resumeAfter: null });
  FakeSocket.last().serverClose(4410);
  assert.equal(conn.state, "reconnecting");
  timers.advance(timers.pending()[0]);
  assert.equal(FakeSocket.last().url, "ws://engine.test:8000/api/orders/stream");
  FakeSocket.last().open();
  assert.equal(seen.opens, 2);
});

test("a refusal is shown while waiting to reconnect", () => {
  const { conn } = connection();
  conn.connect();
  FakeSocket.last().receive({ error: "too many open sockets from 127.0.0.1" });
  FakeSocket.last().serverClose(4429);
  assert.match(conn.text(), /^refused; reconnecting in /);
});

test("drop reconnects by itself; drop with hold stays offline until reconnect", () => {
  const { conn, timers } = connection();
  conn.connect();
  const first = FakeSocket.last();
  first.open();
  conn.drop();
  assert.deepEqual(first.closed, { code: 4000, reason: "dropped by the page" });
  first.serverClose(4000); // its close event is ignored: the page let go of it
  assert.equal(conn.state, "reconnecting");
  timers.advance(timers.pending()[0]);
  FakeSocket.last().open();
  assert.equal(conn.state, "live");

  conn.drop({ hold: true });
  assert.equal(conn.state, "offline");
  assert.equal(conn.text(), "offline");
  assert.deepEqual(timers.pending(), []);
  conn.wake();
  assert.equal(FakeSocket.instances.length, 2, "held: wake does not connect");
  conn.reconnect();
  assert.equal(FakeSocket.instances.length, 3);
  FakeSocket.last().open();
  assert.equal(conn.state, "live");
});

test("a socket that cannot even be created is retried", () => {
  const { conn, timers } = connection({
    WebSocketImpl: class {
      constructor() {
        throw new Error("blocked");
      }
    },
  });
  conn.connect();
  assert.equal(conn.state, "reconnecting");
  assert.equal(timers.pending().length, 1);
});

test("backfill runs one at a time, once more if asked meanwhile, and retries failures", async () => {
  const timers = new FakeTimers();
  let runs = 0;
  let fail = false;
  let release;
  const backfill = new Backfill({
    run: () =>
      new Promise((resolve, reject) => {
        runs++;
        release = () => (fail ? reject(new Error("HTTP 503")) : resolve());
      }),
    timers,
    now: timers.now,
  });
  backfill.trigger();
  backfill.trigger();
  backfill.trigger();
  assert.equal(runs, 1);
  release();
  await settle();
  assert.equal(runs, 2, "asked meanwhile: one more run");
  release();
  await settle();
  assert.equal(runs, 2);
  assert.equal(backfill.loadedOnce, true);
  assert.equal(backfill.lastSync, timers.now());

  fail = true;
  backfill.trigger();
  release();
  await settle();
  assert.equal(backfill.failed, true);
  assert.deepEqual(timers.pending(), [2000]);
  fail = false;
  timers.advance(2000);
  release();
  await settle();
  assert.equal(runs, 4);
  assert.equal(backfill.failed, false);
});
