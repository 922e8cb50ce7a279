// The live page's wiring: the firehose feeds the store, the store feeds the cards.
//
// GET /api/orders (latest 50) on every (re)connect and GET /api/orders/<id> where history
// is missing fill the store; the WebSocket /api/orders/stream pushes every event of every
// order. Events are de-duplicated by (orderId, seq). What a tab keeps is bounded
// (MAX_CARDS orders) and so is what it fetches (sync.js, details.js).

import { apiClient, describeErrors } from "./api.js";
import { setupMarketControls } from "./controls.js";
import { byId, readJSON } from "./dom.js";
import { Clock, shortHash } from "./format.js";
import { setupOrderForm } from "./form.js";
import { OrdersGrid, renderConnection, renderCounters, syncNoteText } from "./render.js";
import { LivePrices } from "./resting.js";
import { StatsPoller } from "./stats.js";
import { OrderStore, statusOf } from "./store.js";
import { Backfill, StreamConnection } from "./stream.js";
import { OrderSync } from "./sync.js";

const MAX_CARDS = 150;
const STATS_EVERY_MS = 1500;
const TICK_MS = 250;
const QUIET_CHECK_MS = 1000;
const FIRST_LOAD_FALLBACK_MS = 3000;

const api = apiClient();
const clock = new Clock();
const store = new OrderStore({ maxOrders: MAX_CARDS });
const dexes = readJSON("engine-dexes", ["raydium", "meteora"]);
const connectionNode = byId("connection");
const syncNote = byId("sync-note");
let droppedStatuses = new Set(); // engineDebug.dropEvents: stream messages to lose on purpose

const counters = new StatsPoller({
  fetchStats: api.stats,
  everyMs: STATS_EVERY_MS,
  onChange: (stats) =>
    renderCounters(
      {
        executing: byId("count-executing"),
        retrying: byId("count-retrying"),
        queued: byId("count-queued"),
        waiting: byId("count-waiting"),
        confirmedLastMinute: byId("count-confirmed"),
        failedLastMinute: byId("count-failed"),
      },
      stats,
    ),
});

const form = setupOrderForm({
  submitOrder: api.submitOrder,
  quote: api.quote,
  onAccepted: (summary) => {
    if (!store.has(summary.orderId)) counters.bump(null, "pending"); // the stream may not have told us yet
    sync.onSubmitted(summary);
  },
});

const grid = new OrdersGrid({
  grid: byId("orders"),
  empty: byId("orders-empty"),
  total: byId("orders-total"),
  countNodes: document.querySelectorAll("[data-count]"),
  dexes,
  tokens: form.tokens,
  serverNow: () => clock.serverNow(),
  isCurrent: (rec) => store.get(rec.id) === rec,
  livePrice: (rec) => livePrices.get(rec.id),
  onFlushed: () => grid.remove(sync.prune()),
});

// What waiting orders would get now: a few quotes every couple of seconds, not one each.
const livePrices = new LivePrices({
  quote: api.quote,
  waiting: () => store.all().filter((rec) => statusOf(rec) === "waiting"),
  onPrice: (rec) => grid.touch(rec),
});
setupMarketControls({ api });

function updateSyncNote() {
  syncNote.textContent = syncNoteText(backfill, sync.details.pending);
}

const sync = new OrderSync({
  store,
  api,
  serverNow: () => clock.serverNow(),
  onTouch: (rec) => grid.touch(rec),
  onNewest: (before, after) => counters.bump(before, after),
  onPending: () => updateSyncNote(),
});

const backfill = new Backfill({
  run: () => sync.backfill(),
  shouldRetry: () => conn.state === "live" || !backfill.loadedOnce,
  onChange: updateSyncNote,
});

const conn = new StreamConnection({
  location: window.location,
  onEvent: (ev) => {
    if (ev && droppedStatuses.has(ev.status)) return; // engineDebug: simulated loss
    if (ev) clock.note(ev.at);
    sync.onEvent(ev);
  },
  onOpen: () => backfill.trigger(),
  onState: (c) => renderConnection(connectionNode, c),
});

document.querySelector(".filters").addEventListener("click", (event) => {
  const chip = event.target.closest(".chip");
  if (!chip) return;
  document.querySelectorAll(".filters .chip").forEach((c) => c.classList.toggle("active", c === chip));
  byId("orders").dataset.filter = chip.dataset.filter;
});

byId("orders").addEventListener("click", async (event) => {
  const cancel = event.target.closest(".btn-cancel");
  if (cancel) {
    cancel.disabled = true;
    cancel.textContent = "cancelling…";
    const res = await api.cancelOrder(cancel.dataset.cancel);
    if (res.ok) {
      sync.onSummary(res.body); // says cancelled; the event follows on the stream
    } else {
      const { fields, general } = describeErrors(res);
      cancel.textContent = "can't cancel";
      cancel.title = [...fields.map(([, text]) => text), ...general].join(" · ");
    }
    return;
  }
  const hash = event.target.closest(".tx-hash");
  if (!hash || !navigator.clipboard) return;
  navigator.clipboard.writeText(hash.dataset.full).then(
    () => {
      hash.classList.add("copied");
      hash.textContent = "copied";
      setTimeout(() => {
        hash.classList.remove("copied");
        hash.textContent = shortHash(hash.dataset.full);
      }, 900);
    },
    () => {
      /* clipboard refused (insecure origin): the title still shows the hash */
    },
  );
});

window.addEventListener("online", () => conn.wake());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) conn.wake();
});

/** Hooks for tests and for poking at the page from the console. */
window.engineDebug = {
  dropConnection: (options) => conn.drop({ hold: !!(options && options.hold) }),
  /** Lose every stream message with one of these statuses (simulates a lossy stream). */
  dropEvents: (statuses) => {
    droppedStatuses = new Set(statuses || []);
  },
  reconnect: () => conn.reconnect(),
  state: () => ({
    connection: conn.state,
    orders: store.size,
    cards: grid.size,
    stats: counters.stats,
    pendingDetails: sync.details.pending,
    droppedDetails: sync.details.dropped,
  }),
};

conn.connect();
counters.poll();
livePrices.start();
setInterval(() => {
  grid.tick();
  if (conn.state === "reconnecting") renderConnection(connectionNode, conn);
}, TICK_MS);
setInterval(() => sync.checkQuiet(), QUIET_CHECK_MS);
// Show history even when the stream cannot be reached.
setTimeout(() => {
  if (!backfill.loadedOnce && !backfill.running) backfill.trigger();
}, FIRST_LOAD_FALLBACK_MS);
