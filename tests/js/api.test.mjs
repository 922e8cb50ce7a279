import assert from "node:assert/strict";
import { test } from "node:test";

import { apiClient, describeErrors } from "../../static/orders/js/api.js";
import { orderBody } from "../../static/orders/js/form.js";
import { bumpStats } from "../../static/orders/js/stats.js";

function fakeFetch(answer) {
  const calls = [];
  const impl = async (path, init) => {
    calls.push({ path, init });
    return answer(path, init);
  };
  return { impl, calls };
}

test("the client answers {status, ok, body}, even for a network error or a non-JSON body", async () => {
  const ok = fakeFetch(() => ({ status: 200, ok: true, json: async () => ({ results: [] }) }));
  assert.deepEqual(await apiClient(ok.impl).listOrders(50), { status: 200, ok: true, body: { results: [] } });
  assert.equal(ok.calls[0].path, "/api/orders?pageSize=50");
  assert.equal(ok.calls[0].init.cache, "no-store");

  const down = fakeFetch(() => {
    throw new TypeError("Failed to fetch");
  });
  assert.deepEqual(await apiClient(down.impl).stats(), { status: 0, ok: false, body: null });

  const html = fakeFetch(() => ({ status: 502, ok: false, json: async () => JSON.parse("<html>") }));
  assert.deepEqual(await apiClient(html.impl).orderDetail("a/b"), { status: 502, ok: false, body: null });
  assert.equal(html.calls[0].path, "/api/orders/a%2Fb");
});

test("submit posts the body as JSON", async () => {
  const post = fakeFetch(() => ({ status: 201, ok: true, json: async () => ({ orderId: "x" }) }));
  const res = await apiClient(post.impl).submitOrder({ tokenIn: "SOL" });
  assert.equal(res.status, 201);
  assert.equal(post.calls[0].init.method, "POST");
  assert.equal(post.calls[0].init.headers["Content-Type"], "application/json");
  assert.equal(post.calls[0].init.body, '{"tokenIn":"SOL"}');
});

test("describeErrors names each field, and says something when nothing is named", () => {
  assert.deepEqual(describeErrors({ status: 400, body: { errors: { amount: ["must be > 0"], route: { dex: ["none"] } } } }), {
    fields: [
      ["amount", "must be > 0"],
      ["route", "dex: none"],
    ],
    general: [],
  });
  assert.deepEqual(describeErrors({ status: 400, body: { error: "no pool for BONK/RAY" } }).general, ["no pool for BONK/RAY"]);
  assert.deepEqual(describeErrors({ status: 500, body: null }).general, ["the engine answered HTTP 500"]);
  assert.deepEqual(describeErrors({ status: 0, body: null }).general, ["the engine is unreachable"]);
});

test("orderBody sends an integer slippage as a number and anything else as typed", () => {
  assert.deepEqual(orderBody({ tokenIn: "SOL", tokenOut: "USDC", amount: " 1.5 ", slippage: "50" }), {
    tokenIn: "SOL",
    tokenOut: "USDC",
    amount: "1.5",
    slippageBps: 50,
  });
  assert.equal(orderBody({ amount: "1", slippage: "0.5" }).slippageBps, "0.5");
});

test("bumpStats moves an order between counters as it goes", () => {
  const stats = { queued: 1, executing: 0, confirmedLastMinute: 0, failedLastMinute: 0 };
  assert.equal(bumpStats(stats, "pending", "routing"), true);
  assert.deepEqual(stats, { queued: 0, executing: 1, confirmedLastMinute: 0, failedLastMinute: 0 });
  bumpStats(stats, "routing", "building");
  assert.equal(stats.executing, 1);
  bumpStats(stats, "submitted", "confirmed");
  assert.deepEqual(stats, { queued: 0, executing: 0, confirmedLastMinute: 1, failedLastMinute: 0 });
  assert.equal(bumpStats(stats, null, "routing"), false, "unknown history: left to the poll");
  assert.equal(bumpStats(null, "pending", "routing"), false);
  bumpStats(stats, null, "pending");
  assert.equal(stats.queued, 1);
});
