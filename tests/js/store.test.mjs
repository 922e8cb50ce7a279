import assert from "node:assert/strict";
import { test } from "node:test";

import { OrderStore, hasGap, hasHole, pruneVictims, statusOf } from "../../static/orders/js/store.js";
import { event } from "./fakes.mjs";

test("events are de-duplicated by (orderId, seq)", () => {
  const store = new OrderStore();
  const first = store.accept(event("a", 1, "pending"));
  assert.equal(first.before, null);
  assert.equal(first.newest, true);
  assert.equal(store.accept(event("a", 1, "pending")), null);
  assert.ok(store.accept(event("b", 1, "pending")), "same seq, other order");
  assert.equal(store.size, 2);
  assert.equal(store.get("a").events.size, 1);
});

test("malformed events are refused", () => {
  const store = new OrderStore();
  for (const bad of [null, {}, { orderId: "a" }, { orderId: "a", seq: 0 }, { orderId: "a", seq: 1.5 }, { orderId: 7, seq: 1 }]) {
    assert.equal(store.accept(bad), null, JSON.stringify(bad));
  }
  assert.equal(store.size, 0);
});

test("accept reports the status before and whether the event is the newest", () => {
  const store = new OrderStore();
  store.accept(event("a", 1, "pending"));
  const routing = store.accept(event("a", 2, "routing"));
  assert.equal(routing.before, "pending");
  assert.equal(routing.newest, true);
  const late = store.accept(event("a", 3, "building"));
  assert.equal(late.before, "routing");
  store.accept(event("a", 5, "confirmed"));
  const filled = store.accept(event("a", 4, "submitted"));
  assert.equal(filled.newest, false, "a lost event filled in later is not the newest");
  assert.equal(statusOf(store.get("a")), "confirmed");
});

test("a hole below the newest seq is a gap; so is a summary ahead of the events", () => {
  const store = new OrderStore();
  store.accept(event("a", 1, "pending"));
  const rec = store.get("a");
  assert.equal(hasGap(rec), false);
  store.accept(event("a", 3, "building"));
  assert.equal(hasHole(rec), true);
  store.accept(event("a", 2, "routing"));
  assert.equal(hasGap(rec), false);

  store.summarize({ orderId: "a", status: "submitted", lastSeq: 4 });
  assert.equal(hasHole(rec), false);
  assert.equal(hasGap(rec), true);
  assert.equal(statusOf(rec), "submitted", "the newer summary wins");
});

test("the first event seen with seq > 1 lacks history", () => {
  const store = new OrderStore();
  store.accept(event("late", 3, "building"));
  assert.equal(hasHole(store.get("late")), true);
});

test("an older summary never replaces a newer one", () => {
  const store = new OrderStore();
  store.summarize({ orderId: "a", status: "routing", lastSeq: 2 });
  store.summarize({ orderId: "a", status: "pending", lastSeq: 1 });
  assert.equal(store.get("a").summary.status, "routing");
});

test("applyDetail fills the timeline and refuses another order's detail", () => {
  const store = new OrderStore({ now: () => 42 });
  store.accept(event("a", 1, "pending"));
  store.accept(event("a", 3, "building"));
  const rec = store.get("a");
  assert.equal(store.applyDetail(rec, { orderId: "b", events: [] }), false);
  const events = [event("a", 1, "pending"), event("a", 2, "routing"), event("a", 3, "building")];
  assert.equal(store.applyDetail(rec, { orderId: "a", status: "building", lastSeq: 3, createdAt: events[0].at, events }), true);
  assert.equal(hasGap(rec), false);
  assert.equal(rec.detail, true);
  assert.equal(rec.fetchedAt, 42);
  assert.equal(rec.created, Date.parse(events[0].at));
});

function rec(id, { status = "pending", created = 0, mine = false } = {}) {
  const store = new OrderStore();
  const r = store.record(id);
  r.events.set(1, event(id, 1, status));
  r.maxSeq = 1;
  r.created = created;
  r.mine = mine;
  return r;
}

test("pruning drops the oldest finished orders first", () => {
  const records = [
    rec("run-old", { status: "routing", created: 1 }),
    rec("done-new", { status: "confirmed", created: 9 }),
    rec("done-old", { status: "failed", created: 2 }),
    rec("run-new", { status: "pending", created: 8 }),
  ];
  assert.deepEqual(pruneVictims(records, 2).map((r) => r.id), ["done-old", "done-new"]);
  assert.deepEqual(pruneVictims(records, 3).map((r) => r.id), ["done-old"]);
  assert.deepEqual(pruneVictims(records, 4), []);
});

test("pruning is bounded even when nothing has finished, the tab's own orders last", () => {
  const records = [
    rec("mine-old", { status: "routing", created: 1, mine: true }),
    rec("other-new", { status: "routing", created: 9 }),
    rec("other-old", { status: "pending", created: 2 }),
  ];
  assert.deepEqual(pruneVictims(records, 1).map((r) => r.id), ["other-old", "other-new"]);
  assert.deepEqual(pruneVictims(records, 0).map((r) => r.id), ["other-old", "other-new", "mine-old"]);
});

test("records without a summary or events are pruned by when they were seen", () => {
  let now = 100;
  const store = new OrderStore({ maxOrders: 2, now: () => now });
  ["a", "b", "c"].forEach((id) => {
    store.record(id);
    now += 1;
  });
  assert.deepEqual(store.prune().map((r) => r.id), ["a"]);
  assert.deepEqual(Array.from(store.orders.keys()), ["b", "c"]);
});

test("the store never keeps more than maxOrders after a prune, under a flood", () => {
  const store = new OrderStore({ maxOrders: 150 });
  for (let i = 0; i < 1000; i++) {
    store.accept(event("o" + i, 2, "routing")); // first seen mid-way: no summary ever
    store.prune();
    assert.ok(store.size <= 150);
  }
  assert.ok(store.has("o999") && !store.has("o0"));
});
