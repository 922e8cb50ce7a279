import assert from "node:assert/strict";
import { test } from "node:test";

import { OrderStore } from "../../static/orders/js/store.js";
import { cardModel, pairOf } from "../../static/orders/js/view.js";
import { event } from "./fakes.mjs";

const DEXES = ["raydium", "meteora"];
const TOKENS = ["SOL", "USDC", "BONK"];

function routing(id, seq = 2, extra = {}) {
  return event(id, seq, "routing", {
    dex: "meteora",
    quotes: {
      raydium: { dex: "raydium", pool: "raydium:SOL/USDC", inAmount: "1.500000000", outAmount: "218.10", price: "145.4", fee: "0.0037", feeBps: "25", priceImpactPct: "0.01" },
      meteora: { dex: "meteora", pool: "meteora:SOL/USDC", inAmount: "1.500000000", outAmount: "218.39", price: "145.59", fee: "0.003", feeBps: "20", priceImpactPct: "0.01", minOutAmount: "217.30" },
    },
    details: { path: "wSOL -> USDC", wrappedSol: "SOL is wrapped", reason: "meteora pays more", pool: "meteora:SOL/USDC", quoteMs: 201.4, minAmountOut: "217.30" },
    ...extra,
  });
}

function storeWith(...events) {
  const store = new OrderStore();
  events.forEach((ev) => store.accept(ev));
  return store;
}

test("without a summary the pair and amount come from the routing event", () => {
  const rec = storeWith(event("a", 1, "pending"), routing("a")).get("a");
  assert.deepEqual(pairOf(rec, rec.events.get(2), TOKENS), { amountIn: "1.5", tokenIn: "SOL", tokenOut: "USDC" });
  const pending = storeWith(event("b", 1, "pending")).get("b");
  assert.deepEqual(pairOf(pending, null, TOKENS), { amountIn: null, tokenIn: null, tokenOut: null });
});

test("the summary's pair wins over what events suggest", () => {
  const store = storeWith(event("a", 1, "pending"), routing("a"));
  store.summarize({ orderId: "a", status: "routing", lastSeq: 2, amountIn: "1.5", tokenIn: "SOL", tokenOut: "USDC", slippageBps: 50 });
  const model = cardModel(store.get("a"), { dexes: DEXES, tokens: TOKENS });
  assert.deepEqual(model.pair, { amountIn: "1.5", tokenIn: "SOL", tokenOut: "USDC" });
  assert.equal(model.slippageBps, 50);
});

test("a confirmed order's model: timeline, winner with its margin, route, facts", () => {
  const id = "0123456789abcdef";
  const store = storeWith(
    event(id, 1, "pending"),
    routing(id),
    event(id, 3, "building"),
    event(id, 4, "submitted", { txHash: "5xYzAbCdEfGhIjKlMnOpQrStUvWxYz12" }),
    event(id, 5, "confirmed", { amountOut: "218.394512345", executedPrice: "145.596341563", txHash: "5xYzAbCdEfGhIjKlMnOpQrStUvWxYz12" }),
  );
  const m = cardModel(store.get(id), { dexes: DEXES, tokens: TOKENS });
  assert.equal(m.status, "confirmed");
  assert.equal(m.inflight, false);
  assert.equal(m.amountOutShort, "218.394512");
  assert.deepEqual(m.timeline.steps.map((s) => s.status), ["pending", "routing", "building", "submitted", "confirmed"]);
  assert.deepEqual(m.timeline.steps.map((s) => s.dur), [100, 100, 100, 100, null]);
  assert.equal(m.timeline.totalMs, 400);
  assert.deepEqual(m.timeline.future, []);
  assert.equal(m.timeline.fetching, false);
  const [raydium, meteora] = m.quotes.items;
  assert.equal(meteora.winner, true);
  assert.equal(raydium.winner, false);
  assert.equal(meteora.diff.text, "+0.29 · +0.133%");
  assert.equal(raydium.diff.text, "−0.29 · −0.133%");
  assert.match(meteora.diff.title, /^better than raydium by 0.29 USDC$/);
  assert.equal(m.quotes.quoteMs, 201);
  assert.equal(m.route.path, "wSOL → USDC");
  assert.equal(m.route.dex, "meteora");
  assert.equal(m.facts.txHash, "5xYzAbCdEfGhIjKlMnOpQrStUvWxYz12");
  assert.equal(m.facts.minOut, "217.30");
  assert.deepEqual(m.errors, []);
});

test("a running order shows its live step and the steps to come", () => {
  const store = storeWith(event("a", 1, "pending"), routing("a"));
  const at = Date.parse(store.get("a").events.get(2).at);
  const m = cardModel(store.get("a"), { dexes: DEXES, tokens: TOKENS, serverNow: at + 1234 });
  const last = m.timeline.steps[1];
  assert.equal(last.live, true);
  assert.equal(last.liveMs, 1234);
  assert.deepEqual(m.timeline.future, ["building", "submitted", "confirmed"]);
  assert.equal(m.badge, "routing");
});

test("missing history shows as fetching; no quotes yet shows placeholders", () => {
  const store = storeWith(event("a", 3, "building"));
  const m = cardModel(store.get("a"), { dexes: DEXES });
  assert.equal(m.timeline.fetching, true);
  assert.deepEqual(m.quotes.items.map((q) => [q.kind, q.dex, q.text]), [
    ["placeholder", "raydium", "awaiting quote…"],
    ["placeholder", "meteora", "awaiting quote…"],
  ]);
  assert.equal(m.route, null);
});

test("a retry's error is listed once, and a failure's reason", () => {
  const store = storeWith(
    event("a", 1, "pending"),
    routing("a", 2),
    routing("a", 3, { attempt: 2, error: "blockhash expired" }),
    event("a", 4, "failed", { attempt: 2, error: "slippage exceeded" }),
  );
  const m = cardModel(store.get("a"), { dexes: DEXES });
  assert.deepEqual(m.errors, [
    { label: "attempt 1", text: "blockhash expired" },
    { label: "failed", text: "slippage exceeded" },
  ]);
  assert.equal(m.quotes.title, "Quotes · attempt 2");
  assert.deepEqual(m.timeline.steps[2].failedAttempt, { attempt: 1, error: "blockhash expired" });
  assert.equal(m.attempts, 2);
});

test("an order waiting for its retry says so", () => {
  const store = storeWith(event("a", 1, "pending"), routing("a"));
  store.summarize({ orderId: "a", status: "routing", lastSeq: 2, attempts: 1, error: "network error", nextAttemptAt: "2026-01-01T10:00:05.000Z" });
  const m = cardModel(store.get("a"), { dexes: DEXES });
  assert.equal(m.retrying, true);
  assert.equal(m.badge, "retrying");
  assert.equal(m.nextAttemptAt, Date.parse("2026-01-01T10:00:05.000Z"));
  assert.deepEqual(m.errors, [{ label: "attempt 1 (will retry)", text: "network error" }]);
});

test("a quote error and an unasked DEX are told apart", () => {
  const store = storeWith(event("a", 1, "pending"), routing("a", 2, { dex: "raydium", quotes: { raydium: { outAmount: "1", pool: "p" }, meteora: { error: "no pool" } } }));
  const m = cardModel(store.get("a"), { dexes: ["raydium", "meteora", "orca"] });
  assert.deepEqual(m.quotes.items.map((q) => q.kind), ["quote", "error", "placeholder"]);
  assert.equal(m.quotes.items[0].winner, true);
  assert.equal(m.quotes.items[0].diff, null, "no margin with one valid quote");
});

test("a split route shows each leg with its share", () => {
  const plan = [
    { dex: "meteora", pool: "meteora:SOL/USDC", percent: 77, inputToken: "SOL", outputToken: "USDC", outAmount: "565000" },
    { dex: "raydium", pool: "raydium:SOL/USDC", percent: 23, inputToken: "SOL", outputToken: "USDC", outAmount: "168000" },
  ];
  const store = storeWith(event("s", 1, "pending"), routing("s", 2, { dex: "meteora+raydium", details: { path: "wSOL -> USDC", reason: "split pays more", routePlan: plan } }));
  const m = cardModel(store.get("s"), { dexes: DEXES });
  assert.deepEqual(m.route.legs.map((leg) => leg.text), ["77% meteora SOL→USDC", "23% raydium SOL→USDC"]);
  assert.equal(m.quotes.items.filter((q) => q.winner).length, 0, "no single DEX won");
  const single = cardModel(storeWith(event("a", 1, "pending"), routing("a")).get("a"), { dexes: DEXES });
  assert.equal(single.route.legs, null);
});

test("a hop's amount comes from its first legs when the pair has no pool of its own", () => {
  const plan = [
    { dex: "meteora", pool: "meteora:BONK/SOL", percent: 70, inputToken: "BONK", outputToken: "SOL", inAmount: "70000000", outAmount: "1.1" },
    { dex: "raydium", pool: "raydium:BONK/SOL", percent: 30, inputToken: "BONK", outputToken: "SOL", inAmount: "30000000", outAmount: "0.5" },
    { dex: "raydium", pool: "raydium:JUP/SOL", percent: 100, inputToken: "SOL", outputToken: "JUP", inAmount: "1.6", outAmount: "260" },
  ];
  const rec = storeWith(
    event("h", 1, "pending"),
    routing("h", 2, { dex: "meteora+raydium", quotes: { raydium: { error: "no BONK/JUP pool" }, meteora: { error: "no BONK/JUP pool" } }, details: { path: "BONK -> wSOL -> JUP", routePlan: plan } }),
  ).get("h");
  assert.deepEqual(pairOf(rec, rec.events.get(2), ["BONK", "SOL", "JUP"]), { amountIn: "100000000", tokenIn: "BONK", tokenOut: "JUP" });
});
