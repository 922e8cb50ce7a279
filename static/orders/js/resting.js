// Resting orders (limit, stop, sniper) on the page: the condition a waiting order rests
// on, beside the price it would get now, and the poller that fetches those prices.
// No DOM: tests run it under Node.

import { trimDec } from "./decimal.js";
import { parseTime } from "./format.js";
import { sortedEvents } from "./store.js";

/** A resting order: its summary says so, or it has been waiting. */
export function isResting(rec) {
  const type = rec.summary && rec.summary.orderType;
  if (type) return type !== "market";
  for (const ev of rec.events.values()) if (ev.status === "waiting") return true;
  return false;
}

/** The condition from the latest waiting event, else from the summary's fields. */
function triggerOf(rec) {
  let trigger = null;
  sortedEvents(rec).forEach((ev) => {
    if (ev.status === "waiting" && ev.details && ev.details.trigger) trigger = ev.details.trigger;
  });
  if (trigger) return trigger;
  const s = rec.summary;
  if (!s || !s.orderType || s.orderType === "market") return null;
  return { type: s.orderType, limitPrice: s.limitPrice, stopPrice: s.stopPrice, expiresAt: s.expiresAt, tokenIn: s.tokenIn, tokenOut: s.tokenOut, amount: s.amountIn };
}

/** Whether ``price`` meets the trigger (null when it cannot say). */
export function conditionMet(trigger, price) {
  if (price === null || price === undefined) return null;
  const p = Number(price);
  if (trigger.type === "limit") return p >= Number(trigger.limitPrice);
  if (trigger.type === "stop") return p <= Number(trigger.stopPrice);
  return null;
}

/**
 * What a resting order's card says about its condition. ``livePrice``: {price, at, note}
 * from the poller (price null with a note when there is no pool yet).
 */
export function conditionOf(rec, { livePrice = null, serverNow = Date.now() } = {}) {
  const trigger = triggerOf(rec);
  if (!trigger) return null;
  const unit = trigger.tokenOut && trigger.tokenIn ? trigger.tokenOut + " per " + trigger.tokenIn : "";
  let text;
  let target = null;
  if (trigger.type === "limit") {
    target = trigger.limitPrice;
    text = "limit ≥ " + trimDec(String(target), 9) + (unit ? " " + unit : "");
  } else if (trigger.type === "stop") {
    target = trigger.stopPrice;
    text = "stop ≤ " + trimDec(String(target), 9) + (unit ? " " + unit : "");
  } else {
    text = "waits for a " + (trigger.pool || (trigger.tokenIn || "?") + "/" + (trigger.tokenOut || "?")) + " pool";
  }
  const expiresAt = parseTime(trigger.expiresAt);
  const model = { type: trigger.type, text, trigger, expiresAt, expiresInMs: expiresAt ? expiresAt - serverNow : null, live: null };
  if (livePrice) {
    const met = conditionMet(trigger, livePrice.price);
    let gap = null;
    if (target && livePrice.price) gap = ((Number(target) - Number(livePrice.price)) / Number(livePrice.price)) * 100;
    model.live = {
      price: livePrice.price,
      text: livePrice.price ? "now " + trimDec(String(livePrice.price), 9) : livePrice.note || "no price",
      met,
      gapText: gap === null || met ? null : (Math.abs(gap) < 0.01 ? "<0.01" : Math.abs(gap).toFixed(2)) + "% away",
    };
  }
  return model;
}

/**
 * Current executable prices for the waiting orders a tab shows, bounded: every
 * ``everyMs`` at most ``perRound`` quotes, the ones asked longest ago first.
 */
export class LivePrices {
  constructor({ quote, waiting, onPrice = () => {}, everyMs = 2000, perRound = 4, timers = globalThis, now = () => Date.now() }) {
    Object.assign(this, { quote, waiting, onPrice, everyMs, perRound, timers, now });
    this.prices = new Map(); // orderId -> {price, at, note}
    this.askedAt = new Map(); // orderId -> when
    this.running = false;
  }

  get(id) {
    return this.prices.get(id) || null;
  }

  start() {
    this.timers.setTimeout(() => this.round().finally(() => this.start()), this.everyMs);
  }

  async round() {
    const waiting = this.waiting();
    const ids = new Set(waiting.map((rec) => rec.id));
    for (const id of this.prices.keys()) if (!ids.has(id)) this.prices.delete(id);
    for (const id of this.askedAt.keys()) if (!ids.has(id)) this.askedAt.delete(id);
    const due = waiting
      .map((rec) => ({ rec, trigger: triggerOf(rec) }))
      .filter((entry) => entry.trigger && entry.trigger.tokenIn && entry.trigger.amount)
      .sort((a, b) => (this.askedAt.get(a.rec.id) || 0) - (this.askedAt.get(b.rec.id) || 0))
      .slice(0, this.perRound);
    await Promise.all(
      due.map(async ({ rec, trigger }) => {
        this.askedAt.set(rec.id, this.now());
        const res = await this.quote({ tokenIn: trigger.tokenIn, tokenOut: trigger.tokenOut, amount: trigger.amount });
        let answer;
        if (res.ok && res.body && res.body.price) answer = { price: res.body.price, at: this.now(), note: null };
        else if (res.status === 400) answer = { price: null, at: this.now(), note: "no pool yet" };
        else return; // transient: keep the last price
        this.prices.set(rec.id, answer);
        this.onPrice(rec);
      }),
    );
  }
}
