import assert from "node:assert/strict";
import { test } from "node:test";

import { OrderStore, hasGap } from "../../static/orders/js/store.js";
import { GAP_GRACE_MS, MAX_QUEUED_DETAILS, DETAIL_CONCURRENCY, OrderSync, QUIET_MS } from "../../static/orders/js/sync.js";
import { FakeTimers, event, settle } from "./fakes.mjs";

/** An engine whose orders the fake API answers from; counts what the tab asks for. */
function harness({ maxOrders = 150 } = {}) {
  const timers = new FakeTimers(Date.parse("2026-01-01T10:00:00Z"));
  const engine = new Map(); // orderId -> events
  const asked = [];
  const api = {
    orderDetail: async (id) => {
      asked.push(id);
      const events = engine.get(id);
      if (!events) return { status: 404, ok: false, body: { error: "no order" } };
      const last = events[events.length - 1];
      return {
        status: 200,
        ok: true,
        body: { orderId: id, status: last.status, lastSeq: last.seq, tokenIn: "SOL", tokenOut: "USDC", amountIn: "1", createdAt: events[0].at, events },
      };
    },
    listOrders: async () => ({
      status: 200,
      ok: true,
      body: {
        results: Array.from(engine, ([id, events]) => ({ orderId: id, status: events[events.length - 1].status, lastSeq: events.length, createdAt: events[0].at })),
      },
    }),
  };
  const store = new OrderStore({ maxOrders, now: timers.now });
  const touched = [];
  const sync = new OrderSync({ store, api, timers, now: timers.now, serverNow: timers.now, onTouch: (rec) => touched.push(rec.id) });
  const life = (id, upto) => {
    const statuses = ["pending", "routing", "building", "submitted", "confirmed"];
    const events = statuses.slice(0, upto).map((s, i) => event(id, i + 1, s));
    engine.set(id, events);
    return events;
  };
  return { timers, engine, asked, store, sync, touched, life };
}

test("an order seen from its first event gets its card from the stream alone", async () => {
  const { sync, store, asked, touched, life, timers } = harness();
  for (const ev of life("a", 5)) sync.onEvent(ev);
  timers.advance(GAP_GRACE_MS * 2);
  await settle();
  assert.deepEqual(asked, [], "no detail fetch");
  assert.equal(store.get("a").events.size, 5);
  assert.ok(touched.includes("a"));
});

test("duplicates change nothing", () => {
  const { sync, life, touched } = harness();
  const [first] = life("a", 1);
  assert.ok(sync.onEvent(first));
  assert.equal(sync.onEvent({ ...first }), null);
  assert.equal(touched.length, 1);
});

test("an order first seen mid-way fetches the history it lacks, once", async () => {
  const { sync, store, asked, life } = harness();
  const events = life("late", 4);
  sync.onEvent(events[2]);
  sync.onEvent(events[3]);
  await settle();
  assert.deepEqual(asked, ["late"]);
  assert.equal(hasGap(store.get("late")), false);
  assert.equal(store.get("late").summary.tokenIn, "SOL");
});

test("a lost event is fetched again at once", async () => {
  const { sync, store, asked, life } = harness();
  const events = life("a", 5);
  [0, 1, 2, 4].forEach((i) => sync.onEvent(events[i])); // `submitted` lost
  await settle();
  assert.deepEqual(asked, ["a"]);
  assert.equal(store.get("a").events.get(4).status, "submitted");
});

test("a submit answer ahead of the stream waits for the stream before fetching", async () => {
  const { sync, asked, life, timers, store } = harness();
  const [pending] = life("mine", 1);
  sync.onSubmitted({ orderId: "mine", status: "pending", lastSeq: 1 });
  assert.equal(store.get("mine").mine, true);
  sync.onEvent(pending); // arrives within the grace
  timers.advance(GAP_GRACE_MS);
  await settle();
  assert.deepEqual(asked, []);

  life("lost", 1);
  sync.onSubmitted({ orderId: "lost", status: "pending", lastSeq: 1 });
  timers.advance(GAP_GRACE_MS);
  await settle();
  assert.deepEqual(asked, ["lost"], "the stream never brought it: fetched");
});

test("backfill fetches only orders whose history the tab lacks", async () => {
  const { sync, asked, life } = harness();
  const known = life("known", 5);
  life("missed", 5);
  known.forEach((ev) => sync.onEvent(ev));
  await sync.backfill();
  await settle();
  assert.deepEqual(asked, ["missed"]);
});

test("a flood of unknown orders costs a bounded number of detail fetches", async () => {
  const { sync, asked, life } = harness();
  for (let i = 0; i < 500; i++) {
    const events = life("o" + i, 3);
    sync.onEvent(events[1]); // every one first seen mid-way
    sync.onEvent(events[2]);
  }
  assert.ok(sync.details.pending <= DETAIL_CONCURRENCY + MAX_QUEUED_DETAILS, String(sync.details.pending));
  await settle(50);
  assert.ok(asked.length <= DETAIL_CONCURRENCY + MAX_QUEUED_DETAILS, String(asked.length));
  assert.equal(new Set(asked).size, asked.length, "one fetch per order");
});

test("pruning bounds the store and cancels what the dropped orders would fetch", async () => {
  const { sync, store, life, asked } = harness({ maxOrders: 3 });
  for (let i = 0; i < 10; i++) sync.onEvent(life("o" + i, 2)[1]);
  const victims = sync.prune();
  assert.equal(store.size, 3);
  assert.equal(victims.length, 7);
  await settle(50);
  assert.deepEqual(asked.sort(), ["o7", "o8", "o9"], "dropped orders are not fetched");
  assert.equal(sync.details.pending, 0);
});

test("an order quiet too long in a running state is asked for again, not every second", async () => {
  const { sync, asked, life, timers } = harness();
  const events = life("a", 2);
  events.forEach((ev) => {
    ev.at = new Date(timers.now()).toISOString();
    sync.onEvent(ev);
  });
  timers.advance(QUIET_MS - 100);
  sync.checkQuiet();
  assert.deepEqual(asked, []);
  timers.advance(200);
  sync.checkQuiet();
  await settle();
  assert.deepEqual(asked, ["a"]);
  timers.advance(1000);
  sync.checkQuiet();
  await settle();
  assert.deepEqual(asked, ["a"]);
});

test("finished orders are never asked for again", async () => {
  const { sync, asked, life, timers } = harness();
  life("a", 5).forEach((ev) => sync.onEvent(ev));
  timers.advance(QUIET_MS * 10);
  sync.checkQuiet();
  await settle();
  assert.deepEqual(asked, []);
});
