// What the page knows about orders: one record per order, its events de-duplicated by
// (orderId, seq), and the rules over them (status, gaps, which orders to let go when the
// tab holds too many). No DOM and no network: tests run it under Node.

import { parseTime } from "./format.js";

export const STATUSES = ["pending", "waiting", "routing", "building", "submitted", "confirmed", "failed", "cancelled", "expired"];
export const TERMINAL = new Set(["confirmed", "failed", "cancelled", "expired"]);
export const IN_FLIGHT = new Set(["routing", "building", "submitted"]);
/** What a cancel may still end. */
export const CANCELLABLE = new Set(["pending", "waiting"]);

export function summarySeq(rec) {
  return rec.summary ? rec.summary.lastSeq || 0 : 0;
}

/** The newest word on the order: its latest event, or a summary that is ahead of it. */
export function statusOf(rec) {
  const last = rec.events.get(rec.maxSeq);
  if (rec.summary && (!last || summarySeq(rec) > rec.maxSeq)) return rec.summary.status;
  return last ? last.status : "pending";
}

/** A seq missing below the highest event held: lost for good, fetch it now. */
export function hasHole(rec) {
  for (let seq = 1; seq < rec.maxSeq; seq++) {
    if (!rec.events.has(seq)) return true;
  }
  return false;
}

/** A seq missing below the highest one known (events or summary): history to fetch. */
export function hasGap(rec) {
  return summarySeq(rec) > rec.maxSeq || hasHole(rec);
}

export function isTerminal(rec) {
  return TERMINAL.has(statusOf(rec));
}

export function sortedEvents(rec) {
  return Array.from(rec.events.values()).sort((a, b) => a.seq - b.seq);
}

/** When the order was created, or else when the page first heard of it: cards sort by it. */
export function orderTime(rec) {
  return rec.created || rec.firstSeen;
}

function validEvent(ev) {
  return ev && typeof ev.orderId === "string" && Number.isInteger(ev.seq) && ev.seq >= 1;
}

export class OrderStore {
  /**
   * `maxOrders`: how many orders prune() keeps. `forgetMemory`: how many let-go orders to
   * remember, so that their late events do not bring them back.
   */
  constructor({ maxOrders = 150, now = () => Date.now(), forgetMemory = 1000 } = {}) {
    Object.assign(this, { maxOrders, now, forgetMemory });
    this.orders = new Map();
    this.forgotten = new Set();
  }

  get size() {
    return this.orders.size;
  }

  get(id) {
    return this.orders.get(id);
  }

  has(id) {
    return this.orders.has(id);
  }

  all() {
    return Array.from(this.orders.values());
  }

  record(id) {
    let rec = this.orders.get(id);
    if (!rec) {
      rec = {
        id,
        summary: null,
        route: null,
        events: new Map(),
        maxSeq: 0,
        detail: false, // the whole history was fetched once
        fetchedAt: 0,
        askedAt: 0,
        created: 0,
        firstSeen: this.now(),
        mine: false,
      };
      this.forgotten.delete(id);
      this.orders.set(id, rec);
    }
    return rec;
  }

  addEvent(rec, ev) {
    if (rec.events.has(ev.seq)) return false;
    rec.events.set(ev.seq, ev);
    if (ev.seq > rec.maxSeq) rec.maxSeq = ev.seq;
    if (ev.seq === 1 && !rec.created) rec.created = parseTime(ev.at) || 0;
    return true;
  }

  /**
   * One live event. Returns null for a malformed event, a repeat of (orderId, seq), or
   * an order the page let go; else {rec, before, newest}: the status it had (null when
   * nothing was known) and whether this event is now its latest word.
   */
  accept(ev) {
    if (!validEvent(ev) || this.forgotten.has(ev.orderId)) return null;
    const existing = this.orders.get(ev.orderId);
    if (existing && existing.events.has(ev.seq)) return null;
    const rec = existing || this.record(ev.orderId);
    const before = rec.summary || rec.maxSeq ? statusOf(rec) : null;
    const newest = ev.seq > rec.maxSeq && ev.seq > summarySeq(rec);
    this.addEvent(rec, ev);
    return { rec, before, newest };
  }

  /**
   * A summary from the list or the submit answer. An order the page let go is not
   * brought back unless `force` (the tab's own submission). Returns the record or null.
   */
  summarize(summary, { force = false } = {}) {
    if (!summary || typeof summary.orderId !== "string") return null;
    if (this.forgotten.has(summary.orderId) && !force) return null;
    const rec = this.record(summary.orderId);
    this.applySummary(rec, summary);
    return rec;
  }

  applySummary(rec, summary) {
    if (!rec.summary || (summary.lastSeq || 0) >= summarySeq(rec)) rec.summary = summary;
    if (summary.route) rec.route = summary.route;
    const created = parseTime(summary.createdAt);
    if (created) rec.created = created;
  }

  /** GET /api/orders/<id>'s answer: the summary and the whole timeline. */
  applyDetail(rec, body) {
    if (!body || body.orderId !== rec.id) return false;
    this.applySummary(rec, body);
    for (const ev of Array.isArray(body.events) ? body.events : []) {
      if (validEvent(ev) && ev.orderId === rec.id) this.addEvent(rec, ev);
    }
    rec.detail = true;
    rec.fetchedAt = this.now();
    return true;
  }

  /** Let go of the orders beyond maxOrders (pruneVictims' choice); returns them. */
  prune() {
    const victims = pruneVictims(this.all(), this.maxOrders);
    victims.forEach((rec) => this.forget(rec.id));
    return victims;
  }

  forget(id) {
    if (!this.orders.delete(id)) return;
    this.forgotten.add(id);
    if (this.forgotten.size > this.forgetMemory) {
      this.forgotten.delete(this.forgotten.values().next().value);
    }
  }
}

/**
 * Which records to let go so at most `max` remain: the oldest finished ones first, then
 * the oldest still running, the tab's own orders last. Returns them in that order.
 */
export function pruneVictims(records, max) {
  const excess = records.length - max;
  if (excess <= 0) return [];
  const rank = (rec) => (isTerminal(rec) ? 0 : rec.mine ? 2 : 1);
  return records
    .map((rec, i) => ({ rec, i, rank: rank(rec), at: orderTime(rec) }))
    .sort((a, b) => a.rank - b.rank || a.at - b.at || a.i - b.i)
    .slice(0, excess)
    .map((entry) => entry.rec);
}
