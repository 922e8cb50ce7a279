// Keeps the store in step with the engine: stream events in, and HTTP only where the
// stream cannot help. An order first seen on the stream gets its card from its events;
// its detail is fetched only for history the tab lacks (a seq below the first one seen,
// a lost event, a summary ahead of the stream), or when it has been quiet too long.

import { DetailFetcher } from "./details.js";
import { parseTime } from "./format.js";
import { hasGap, hasHole, isTerminal, summarySeq } from "./store.js";

export const PAGE_SIZE = 50;
export const DETAIL_CONCURRENCY = 6;
export const MAX_QUEUED_DETAILS = 64; // ≥ PAGE_SIZE, so the first backfill fits
export const QUIET_MS = 4000;
// A summary ahead of the stream usually means its events are on their way.
export const GAP_GRACE_MS = 500;

export class OrderSync {
  constructor({ store, api, timers = globalThis, now = () => Date.now(), serverNow = () => Date.now(), onTouch = () => {}, onNewest = () => {}, onPending = () => {} }) {
    Object.assign(this, { store, api, timers, now, serverNow, onTouch, onNewest });
    this.graceTimers = new Map(); // id -> timer
    this.details = new DetailFetcher({
      load: (id) => this.loadDetail(id),
      needed: (id) => {
        const rec = this.store.get(id);
        return !!rec && (!rec.detail || hasGap(rec));
      },
      concurrency: DETAIL_CONCURRENCY,
      maxQueued: MAX_QUEUED_DETAILS,
      timers,
      onChange: onPending,
    });
  }

  /** One event from the stream. */
  onEvent(ev) {
    const res = this.store.accept(ev);
    if (!res) return null; // malformed, or a duplicate (same orderId and seq)
    const rec = res.rec;
    if (res.newest) this.onNewest(res.before, ev.status);
    this.wantHistory(rec, { wait: true });
    this.onTouch(rec);
    return rec;
  }

  /** The engine accepted an order this tab submitted. */
  onSubmitted(summary) {
    return this.onSummary(summary, { mine: true });
  }

  /**
   * A summary the tab was handed (a submit's or a cancel's answer): often ahead of the
   * stream, whose events then fill in the timeline.
   */
  onSummary(summary, { mine = false } = {}) {
    const rec = this.store.summarize(summary, { force: mine });
    if (!rec) return null;
    if (mine) rec.mine = true;
    this.wantHistory(rec, { wait: true });
    this.onTouch(rec);
    return rec;
  }

  /**
   * Fetch what ``rec`` lacks. A hole in the seqs it holds is lost for good: at once. A
   * summary ahead of the events is often the stream being a moment behind: with
   * ``wait``, give it GAP_GRACE_MS first.
   */
  wantHistory(rec, { wait = false } = {}) {
    if (hasHole(rec) || (rec.maxSeq === 0 && rec.summary && !wait)) {
      this.details.request(rec.id, !isTerminal(rec));
    } else if (summarySeq(rec) > rec.maxSeq) {
      if (!wait) this.details.request(rec.id, !isTerminal(rec));
      else if (!this.graceTimers.has(rec.id)) {
        const timer = this.timers.setTimeout(() => {
          this.graceTimers.delete(rec.id);
          if (this.store.get(rec.id) === rec && hasGap(rec)) this.details.request(rec.id, !isTerminal(rec));
        }, GAP_GRACE_MS);
        this.graceTimers.set(rec.id, timer);
      }
    }
  }

  async loadDetail(id) {
    const rec = this.store.get(id);
    if (!rec) return "gone";
    const res = await this.api.orderDetail(id);
    if (this.store.get(id) !== rec) return "gone"; // pruned meanwhile
    // A 404 right after an event is a race; anything else is transient.
    if (!res.ok || !this.store.applyDetail(rec, res.body)) return "retry";
    this.onTouch(rec);
    return hasGap(rec) ? "retry" : "ok";
  }

  /** The newest orders from the HTTP API; throws when the API cannot be read. */
  async backfill() {
    const res = await this.api.listOrders(PAGE_SIZE);
    if (!res.ok || !res.body || !Array.isArray(res.body.results)) throw new Error("HTTP " + res.status);
    const listed = new Set();
    res.body.results.forEach((summary) => {
      const rec = this.store.summarize(summary);
      if (!rec) return;
      listed.add(rec.id);
      this.wantHistory(rec, { wait: rec.maxSeq > 0 });
      this.onTouch(rec);
    });
    // Orders we follow that fell off the first page but were still running.
    this.store.all().forEach((rec) => {
      if (!listed.has(rec.id) && !isTerminal(rec)) this.details.request(rec.id, true);
    });
  }

  /**
   * The stream is at-most-once: a lost last event leaves no gap to notice. An order
   * quiet in a non-final state for a while is asked for again (this also shows a failed
   * attempt waiting for its retry, which has no event of its own).
   */
  checkQuiet() {
    const serverNow = this.serverNow();
    const now = this.now();
    this.store.all().forEach((rec) => {
      if (isTerminal(rec) || this.details.busy(rec.id) || this.graceTimers.has(rec.id)) return;
      const last = rec.events.get(rec.maxSeq);
      const lastAt = last ? parseTime(last.at) || 0 : 0;
      if (serverNow - lastAt <= QUIET_MS || now - Math.max(rec.fetchedAt, rec.askedAt || 0) <= QUIET_MS) return;
      rec.askedAt = now;
      this.details.request(rec.id, false);
    });
  }

  /** Drop records beyond the store's cap; returns them (their cards go too). */
  prune() {
    const victims = this.store.prune();
    victims.forEach((rec) => {
      this.details.cancel(rec.id);
      const timer = this.graceTimers.get(rec.id);
      if (timer !== undefined) {
        this.timers.clearTimeout(timer);
        this.graceTimers.delete(rec.id);
      }
    });
    return victims;
  }
}
