// The page's live parts: the grid of order cards (batched re-renders, newest first), the
// counters, the connection badge and the sync note.

import { cardChildren } from "./card.js";
import { fmtMs, fmtTime } from "./format.js";
import { cardModel } from "./view.js";

const FLUSH_MS = 16;

export class OrdersGrid {
  /** ``isCurrent(rec)``: the record is still the store's (not pruned meanwhile). */
  constructor({ grid, empty, total, countNodes, dexes, tokens, serverNow, isCurrent, livePrice = () => null, onFlushed = () => {}, timers = globalThis }) {
    Object.assign(this, { grid, empty, total, countNodes, dexes, tokens, serverNow, isCurrent, livePrice, onFlushed, timers });
    this.cards = new Map(); // orderId -> {node, created}
    this.dirty = new Set();
    this.flushTimer = null;
  }

  touch(rec) {
    this.dirty.add(rec);
    if (!this.flushTimer) this.flushTimer = this.timers.setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush() {
    this.flushTimer = null;
    const dirty = Array.from(this.dirty);
    this.dirty.clear();
    dirty.forEach((rec) => {
      if (this.isCurrent(rec)) this.render(rec);
    });
    this.onFlushed();
    this.chrome();
    this.tick();
  }

  place(node, created) {
    const cards = this.grid.querySelectorAll(".order");
    for (const card of cards) {
      if (card !== node && (this.cards.get(card.dataset.orderId)?.created || 0) < created) {
        this.grid.insertBefore(node, card);
        return;
      }
    }
    this.grid.appendChild(node);
  }

  render(rec) {
    const model = cardModel(rec, { dexes: this.dexes, tokens: this.tokens, serverNow: this.serverNow(), livePrice: this.livePrice(rec) });
    let entry = this.cards.get(rec.id);
    if (!entry) {
      const node = document.createElement("article");
      node.className = "order";
      node.dataset.orderId = rec.id;
      entry = { node, created: rec.created || Date.now() };
      this.cards.set(rec.id, entry);
      this.place(node, entry.created);
    } else if (rec.created && rec.created !== entry.created) {
      entry.created = rec.created; // learned its real age later (a summary, or seq 1)
      this.place(entry.node, entry.created);
    }
    const node = entry.node;
    node.dataset.status = model.status;
    node.classList.toggle("mine", rec.mine);
    node.replaceChildren(...cardChildren(model));
  }

  remove(recs) {
    recs.forEach((rec) => {
      const entry = this.cards.get(rec.id);
      if (entry) entry.node.remove();
      this.cards.delete(rec.id);
      this.dirty.delete(rec);
    });
  }

  get size() {
    return this.cards.size;
  }

  chrome() {
    const counts = { active: 0, waiting: 0, confirmed: 0, failed: 0, ended: 0 };
    this.cards.forEach(({ node }) => {
      const s = node.dataset.status;
      if (s === "confirmed") counts.confirmed++;
      else if (s === "failed") counts.failed++;
      else if (s === "waiting") counts.waiting++;
      else if (s === "cancelled" || s === "expired") counts.ended++;
      else counts.active++;
    });
    const shown = this.cards.size;
    this.empty.hidden = shown > 0;
    this.total.textContent = shown ? "· " + shown + " shown" : "";
    this.countNodes.forEach((node) => {
      node.textContent = String(counts[node.dataset.count]);
    });
  }

  /** Live durations of steps still running. */
  tick() {
    const now = this.serverNow();
    this.grid.querySelectorAll("[data-since]").forEach((node) => {
      const since = Number(node.dataset.since);
      if (node.tagName === "I") node.style.flexGrow = String(Math.max(1, now - since));
      else node.textContent = fmtMs(now - since);
    });
  }
}

/** ``nodes``: counter name (a key of the stats answer) -> its element. */
export function renderCounters(nodes, stats) {
  if (!stats) return;
  Object.keys(nodes).forEach((key) => {
    const node = nodes[key];
    const text = String(Math.max(0, stats[key] | 0));
    if (node.textContent === text) return;
    node.textContent = text;
    node.classList.add("bump");
    clearTimeout(node._bump);
    node._bump = setTimeout(() => node.classList.remove("bump"), 600);
  });
}

export function renderConnection(node, conn) {
  node.dataset.state = conn.state;
  node.textContent = conn.text();
  node.title = conn.title;
}

/** The note next to the badge: what the tab is fetching, or when it last synced. */
export function syncNoteText(backfill, pending) {
  if (backfill.running || pending) {
    return pending ? "syncing " + pending + " order" + (pending === 1 ? "" : "s") + "…" : "syncing…";
  }
  if (backfill.failed) return "sync failed, retrying";
  if (backfill.lastSync) return "synced " + fmtTime(backfill.lastSync).slice(0, 8);
  return "";
}
