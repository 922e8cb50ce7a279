// The engine's counters: polled from /api/orders/stats, nudged between polls by events.

import { IN_FLIGHT } from "./store.js";

function bucket(status) {
  if (status === "pending") return "queued";
  if (status === "waiting") return "waiting";
  if (IN_FLIGHT.has(status)) return "executing";
  return null;
}

/**
 * Move one order between the counters of ``stats`` as its status goes from ``before``
 * (null when nothing was known of it) to ``after``. Returns whether anything changed;
 * the next poll corrects any guess.
 */
export function bumpStats(stats, before, after) {
  if (!stats) return false;
  if (before === null && after !== "pending") return false; // unknown history: leave it to the poll
  const from = before === null ? null : bucket(before);
  const to = bucket(after);
  if (from !== to) {
    if (from) stats[from] = Math.max(0, (stats[from] | 0) - 1);
    if (to) stats[to] = (stats[to] | 0) + 1;
  }
  if (after === "confirmed") stats.confirmedLastMinute = (stats.confirmedLastMinute | 0) + 1;
  if (after === "failed") stats.failedLastMinute = (stats.failedLastMinute | 0) + 1;
  return true;
}

export class StatsPoller {
  constructor({ fetchStats, everyMs = 1500, timers = globalThis, onChange = () => {} }) {
    Object.assign(this, { fetchStats, everyMs, timers, onChange });
    this.stats = null;
  }

  async poll() {
    try {
      const res = await this.fetchStats();
      if (res.ok && res.body) {
        this.stats = res.body;
        this.onChange(this.stats);
      }
    } finally {
      this.timers.setTimeout(() => this.poll(), this.everyMs);
    }
  }

  bump(before, after) {
    if (bumpStats(this.stats, before, after)) this.onChange(this.stats);
  }
}
