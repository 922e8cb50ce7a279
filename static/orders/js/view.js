// What an order's card shows, derived from its record: plain data, no DOM (card.js draws it).
//
// A card is built from whatever the tab has: the HTTP summary when it was fetched or
// listed, else the stream's events alone. Events do not name the pair or the amount, so
// without a summary those come from the routing event (its path and quotes).

import { decAdd, decSub, fmtPct, signed, trimDec } from "./decimal.js";
import { parseTime } from "./format.js";
import { conditionOf, isResting } from "./resting.js";
import { CANCELLABLE, IN_FLIGHT, TERMINAL, hasGap, sortedEvents, statusOf, summarySeq } from "./store.js";

const MARKET_FLOW = ["pending", "routing", "building", "submitted", "confirmed"];
const RESTING_FLOW = ["pending", "waiting", "routing", "building", "submitted", "confirmed"];

function lastOf(events, status) {
  let found = null;
  events.forEach((ev) => {
    if (ev.status === status) found = ev;
  });
  return found;
}

function stripZeros(text) {
  return /\./.test(text) ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** The page's symbol for a route symbol: native SOL travels as wSOL. */
function pageSymbol(symbol, tokens) {
  if (!tokens || !tokens.length || tokens.includes(symbol)) return symbol;
  return symbol[0] === "w" && tokens.includes(symbol.slice(1)) ? symbol.slice(1) : symbol;
}

/**
 * Amount and pair: from the summary, else from the latest routing event, else from a
 * waiting event's condition, else unknown.
 */
export function pairOf(rec, lastRouting, tokens) {
  const s = rec.summary;
  if (s) return { amountIn: s.amountIn, tokenIn: s.tokenIn, tokenOut: s.tokenOut };
  const pair = { amountIn: null, tokenIn: null, tokenOut: null };
  const trigger = !lastRouting && conditionOf(rec) ? conditionOf(rec).trigger : null;
  if (trigger && trigger.tokenIn) return { amountIn: trigger.amount || null, tokenIn: trigger.tokenIn, tokenOut: trigger.tokenOut };
  const details = (lastRouting && lastRouting.details) || rec.route;
  const hops = details && details.path ? String(details.path).split(/\s*->\s*/) : [];
  if (hops.length >= 2) {
    pair.tokenIn = pageSymbol(hops[0], tokens);
    pair.tokenOut = pageSymbol(hops[hops.length - 1], tokens);
  }
  const quotes = lastRouting && lastRouting.quotes;
  const plan = details && Array.isArray(details.routePlan) ? details.routePlan : [];
  const chosen = quotes && (quotes[lastRouting.dex] || Object.values(quotes).find((q) => q && q.inAmount));
  if (chosen && chosen.inAmount) pair.amountIn = stripZeros(String(chosen.inAmount));
  else if (plan.length) {
    // No pool on the pair itself (a hop): the first hop's legs add up to the order.
    const first = plan.filter((leg) => leg.inputToken === plan[0].inputToken);
    pair.amountIn = stripZeros(first.reduce((sum, leg) => decAdd(sum, leg.inAmount), "0"));
  }
  return pair;
}

function timelineOf(rec, events, status, serverNow) {
  if (!events.length) return null;
  const first = parseTime(events[0].at);
  const last = events[events.length - 1];
  const terminal = TERMINAL.has(last.status);
  const steps = events.map((ev, i) => {
    const at = parseTime(ev.at);
    const next = events[i + 1];
    const live = !next && !TERMINAL.has(ev.status);
    return {
      seq: ev.seq,
      status: ev.status,
      attempt: ev.attempt,
      at,
      iso: ev.at,
      dur: next ? parseTime(next.at) - at : null,
      live,
      liveMs: live ? serverNow - at : null,
      failedAttempt: ev.status === "routing" && ev.error ? { attempt: (ev.attempt || 2) - 1, error: ev.error } : null,
    };
  });
  let future = [];
  const flow = isResting(rec) ? RESTING_FLOW : MARKET_FLOW;
  if (!terminal && !TERMINAL.has(status) && flow.includes(status)) future = flow.slice(flow.indexOf(status) + 1);
  return {
    steps,
    fetching: hasGap(rec),
    future,
    first,
    totalMs: terminal ? parseTime(last.at) - first : null,
    runningMs: terminal ? null : serverNow - first,
  };
}

function quotesOf(rec, lastRouting, s, dexes, unit, status) {
  const quotes = (lastRouting && lastRouting.quotes) || (rec.route && rec.route.quotes) || null;
  const chosen = (lastRouting && lastRouting.dex) || (rec.route && rec.route.dex) || s.dex;
  const names = dexes.slice();
  if (quotes) Object.keys(quotes).forEach((name) => names.includes(name) || names.push(name));
  let title = "Quotes";
  if (lastRouting && lastRouting.attempt > 1) title += " · attempt " + lastRouting.attempt;
  const quoteMs = lastRouting && lastRouting.details && lastRouting.details.quoteMs;
  const block = { title, quoteMs: quoteMs ? Math.round(quoteMs) : null, unit, items: [] };
  if (!quotes) {
    const text = status === "waiting" || status === "cancelled" || status === "expired" ? "quoted at the trigger" : "awaiting quote…";
    block.items = names.map((name) => ({ kind: "placeholder", dex: name, text }));
    return block;
  }
  const valid = names.filter((name) => quotes[name] && !quotes[name].error && quotes[name].outAmount !== undefined);
  const winner = valid.includes(chosen) ? chosen : null;
  block.items = names.map((name) => {
    const q = quotes[name];
    if (!q) return { kind: "placeholder", dex: name, text: "not asked" };
    if (q.error || q.outAmount === undefined) return { kind: "error", dex: name, text: q.error || "no quote" };
    const isWinner = name === winner;
    let diff = null;
    if (winner && valid.length > 1) {
      const other = isWinner
        ? valid.filter((n) => n !== winner).sort((a, b) => Number(quotes[b].outAmount) - Number(quotes[a].outAmount))[0]
        : winner;
      const base = quotes[other].outAmount;
      const delta = decSub(q.outAmount, base);
      diff = {
        up: isWinner,
        text: signed(delta) + " · " + fmtPct(Number(delta) / Number(base)),
        title: (isWinner ? "better than " : "worse than ") + other + " by " + String(delta).replace(/^-/, "") + " " + unit,
      };
    }
    return { kind: "quote", dex: name, winner: isWinner, quote: q, diff };
  });
  return block;
}

function routeOf(rec, lastRouting, s) {
  const details = (lastRouting && lastRouting.details) || rec.route || null;
  const reason = (details && details.reason) || s.routeReason;
  if (!details && !reason) return null;
  return {
    path: details && details.path ? String(details.path).replace(/\s*->\s*/g, " → ") : null,
    dex: (lastRouting && lastRouting.dex) || (rec.route && rec.route.dex) || s.dex || null,
    pool: (details && details.pool) || null,
    wrappedSol: (details && details.wrappedSol) || null,
    reason: reason || null,
    legs: planOf(details),
  };
}

/** A split or a hop: each leg's share of its hop and its pool; null for a single pool. */
function planOf(details) {
  const plan = details && Array.isArray(details.routePlan) ? details.routePlan : null;
  if (!plan || plan.length < 2) return null;
  return plan.map((leg) => ({
    text: leg.percent + "% " + leg.dex + " " + leg.inputToken + "→" + leg.outputToken,
    pool: leg.pool,
    out: leg.outAmount,
  }));
}

function errorsOf(events, s, status) {
  const items = [];
  const seen = new Set();
  const add = (label, text) => {
    if (!text || seen.has(text)) return;
    seen.add(text);
    items.push({ label, text });
  };
  events.forEach((ev) => {
    if (ev.status === "routing" && ev.error && ev.attempt > 1) add("attempt " + (ev.attempt - 1), ev.error);
    if (ev.status === "waiting" && ev.error) add("rests again", ev.error);
    if (ev.status === "failed") add("failed", ev.error || s.error);
  });
  if (s.error && IN_FLIGHT.has(status)) add("attempt " + (s.attempts || 1) + " (will retry)", s.error);
  if (status === "failed") add("failed", s.error);
  return items;
}

/** Everything one card shows. ``dexes`` and ``tokens`` are the page's lists. */
export function cardModel(rec, { dexes = [], tokens = [], serverNow = Date.now(), livePrice = null } = {}) {
  const s = rec.summary || {};
  const status = statusOf(rec);
  const events = sortedEvents(rec);
  const lastRouting = lastOf(events, "routing");
  const done = events.find((ev) => TERMINAL.has(ev.status));
  const confirmed = done && done.status === "confirmed" ? done : null;
  const amountOut = (confirmed && confirmed.amountOut) || (status === "confirmed" ? s.amountOut : null) || null;
  const price = (confirmed && confirmed.executedPrice) || (status === "confirmed" ? s.executedPrice : null) || null;
  const attempts = Math.max(s.attempts || 0, events.reduce((m, ev) => Math.max(m, ev.attempt || 0), 0));
  const inflight = !TERMINAL.has(status);
  const retrying = !!(inflight && s.nextAttemptAt && summarySeq(rec) >= rec.maxSeq);
  const pair = pairOf(rec, lastRouting, tokens);
  let txHash = null;
  events.forEach((ev) => {
    if (ev.txHash) txHash = ev.txHash;
  });
  const minOut =
    (lastRouting && lastRouting.details && lastRouting.details.minAmountOut) ||
    (rec.route && rec.route.minAmountOut) ||
    s.minAmountOut ||
    null;
  return {
    id: rec.id,
    mine: rec.mine,
    status,
    inflight,
    retrying,
    badge: retrying ? "retrying" : status,
    pair,
    amountOut,
    amountOutShort: amountOut ? trimDec(amountOut, 6) : null,
    created: rec.created || null,
    createdIso: s.createdAt || null,
    slippageBps: s.slippageBps === undefined ? null : s.slippageBps,
    attempts,
    nextAttemptAt: retrying ? parseTime(s.nextAttemptAt) : null,
    timeline: timelineOf(rec, events, status, serverNow),
    quotes: quotesOf(rec, lastRouting, s, dexes, pair.tokenOut || "", status),
    route: routeOf(rec, lastRouting, s),
    facts: { amountOut, price, minOut, txHash: txHash || s.txHash || null },
    errors: errorsOf(events, s, status),
    orderType: s.orderType || (isResting(rec) ? "resting" : "market"),
    condition: conditionOf(rec, { livePrice, serverNow }),
    cancellable: CANCELLABLE.has(status),
  };
}
