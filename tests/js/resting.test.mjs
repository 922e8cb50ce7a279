import assert from "node:assert/strict";
import { test } from "node:test";

import { orderBody } from "../../static/orders/js/form.js";
import { LivePrices, conditionMet, conditionOf, isResting } from "../../static/orders/js/resting.js";
import { OrderStore } from "../../static/orders/js/store.js";
import { cardModel } from "../../static/orders/js/view.js";
import { FakeTimers, event, settle } from "./fakes.mjs";

function waitingOrder(id, trigger) {
  const store = new OrderStore();
  store.accept(event(id, 1, "pending"));
  store.accept(event(id, 2, "waiting", { details: { trigger } }));
  return store.get(id);
}

const LIMIT = { type: "limit", limitPrice: "150", tokenIn: "SOL", tokenOut: "USDC", amount: "1.5", expiresAt: "2026-01-01T11:00:00.000Z" };

test("a waiting order's condition, beside the price it would get now", () => {
  const rec = waitingOrder("a", LIMIT);
  assert.equal(isResting(rec), true);
  const far = conditionOf(rec, { livePrice: { price: "145.5" } });
  assert.equal(far.text, "limit ≥ 150 USDC per SOL");
  assert.equal(far.live.text, "now 145.5");
  assert.equal(far.live.met, false);
  assert.equal(far.live.gapText, "3.09% away");
  const met = conditionOf(rec, { livePrice: { price: "150.2" } });
  assert.equal(met.live.met, true);
  assert.equal(met.live.gapText, null);
  assert.equal(conditionMet({ type: "stop", stopPrice: "100" }, "99"), true);
  assert.equal(conditionMet({ type: "sniper" }, "1"), null);
});

test("a waiting card: pair from its condition, the steps to come, cancellable", () => {
  const m = cardModel(waitingOrder("a", LIMIT), { dexes: ["raydium", "meteora"] });
  assert.deepEqual(m.pair, { amountIn: "1.5", tokenIn: "SOL", tokenOut: "USDC" });
  assert.equal(m.status, "waiting");
  assert.equal(m.cancellable, true);
  assert.deepEqual(m.timeline.future, ["routing", "building", "submitted", "confirmed"]);
  assert.equal(m.quotes.items[0].text, "quoted at the trigger");
});

test("a cancelled order is final and a limit that rested again says why", () => {
  const store = new OrderStore();
  store.accept(event("c", 1, "pending"));
  store.accept(event("c", 2, "waiting", { details: { trigger: LIMIT } }));
  store.accept(event("c", 3, "cancelled"));
  const cancelled = cardModel(store.get("c"));
  assert.equal(cancelled.cancellable, false);
  assert.equal(cancelled.inflight, false);
  assert.deepEqual(cancelled.timeline.future, []);

  store.accept(event("r", 1, "pending"));
  store.accept(event("r", 2, "waiting", { details: { trigger: LIMIT } }));
  store.accept(event("r", 3, "routing", { dex: "raydium" }));
  store.accept(event("r", 4, "waiting", { error: "fill 149 is below the minimum 225", details: { trigger: LIMIT } }));
  const rested = cardModel(store.get("r"));
  assert.deepEqual(rested.errors, [{ label: "rests again", text: "fill 149 is below the minimum 225" }]);
});

test("orderBody by type: a limit drops slippage, resting types carry their fields", () => {
  const base = { tokenIn: "SOL", tokenOut: "USDC", amount: "1.5", slippage: "50" };
  assert.deepEqual(orderBody({ ...base, orderType: "limit", price: " 150.5 ", expiresInS: "600" }), {
    tokenIn: "SOL",
    tokenOut: "USDC",
    amount: "1.5",
    orderType: "limit",
    limitPrice: "150.5",
    expiresInS: 600,
  });
  assert.equal(orderBody({ ...base, orderType: "stop", price: "99" }).stopPrice, "99");
  assert.equal(orderBody({ ...base, orderType: "stop", price: "99" }).slippageBps, 50);
  assert.equal(orderBody({ ...base, orderType: "market", price: "1" }).limitPrice, undefined);
});

test("live prices: a few quotes per round, the longest-waiting first, none for finished orders", async () => {
  const timers = new FakeTimers();
  const store = new OrderStore();
  for (let i = 0; i < 10; i++) {
    store.accept(event("o" + i, 1, "pending"));
    store.accept(event("o" + i, 2, "waiting", { details: { trigger: LIMIT } }));
  }
  const asked = [];
  const prices = new LivePrices({
    quote: async (params) => {
      asked.push(params);
      return { status: 200, ok: true, body: { price: "149" } };
    },
    waiting: () => store.all(),
    perRound: 4,
    timers,
    now: timers.now,
  });
  await prices.round();
  assert.equal(asked.length, 4);
  assert.deepEqual(asked[0], { tokenIn: "SOL", tokenOut: "USDC", amount: "1.5" });
  timers.advance(10);
  await prices.round();
  timers.advance(10);
  await prices.round();
  await settle();
  assert.equal(asked.length, 12);
  assert.equal(prices.get("o9").price, "149", "every order got its turn");
  assert.equal(prices.get("nope"), null);
});
