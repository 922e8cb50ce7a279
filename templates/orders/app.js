/* Order engine live page: plain JS, no dependencies. Inlined by orders/index.html.
 *
 * Data flow: GET /api/orders (latest 50) and GET /api/orders/<id> build the cards; the
 * WebSocket /api/orders/stream pushes every event of every order. Events are deduped
 * by (orderId, seq); a gap in an order's seq, or an event for an order we do not know,
 * fetches that order's detail. Every (re)connect backfills from the HTTP API, so what
 * happened while the socket was down shows up anyway.
 *
 * This file is rendered by Django's template engine: it must never contain a brace
 * followed by a percent sign, a hash or another brace.
 */
(function () {
  "use strict";

  var STATUSES = ["pending", "routing", "building", "submitted", "confirmed", "failed"];
  var TERMINAL = new Set(["confirmed", "failed"]);
  var IN_FLIGHT = new Set(["routing", "building", "submitted"]);
  var PAGE_SIZE = 50;
  var MAX_CARDS = 150;
  var STATS_EVERY_MS = 1500;
  var DETAIL_CONCURRENCY = 6;
  var BACKOFF_MIN_MS = 250;
  var BACKOFF_MAX_MS = 5000;
  var QUIET_MS = 4000;

  var DEXES = readJSON("engine-dexes", ["raydium", "meteora"]);

  var el = {
    form: byId("order-form"),
    tokenIn: byId("token-in"),
    tokenOut: byId("token-out"),
    amount: byId("amount"),
    slippage: byId("slippage"),
    amountUnit: byId("amount-unit"),
    slippagePct: byId("slippage-pct"),
    swap: byId("swap-tokens"),
    submitOne: byId("submit-one"),
    submitFive: byId("submit-five"),
    formErrors: byId("form-errors"),
    formStatus: byId("form-status"),
    connection: byId("connection"),
    syncNote: byId("sync-note"),
    grid: byId("orders"),
    empty: byId("orders-empty"),
    total: byId("orders-total"),
    counters: {
      executing: byId("count-executing"),
      retrying: byId("count-retrying"),
      queued: byId("count-queued"),
      confirmedLastMinute: byId("count-confirmed"),
      failedLastMinute: byId("count-failed"),
    },
  };

  /** orderId -> record */
  var orders = new Map();
  var conn = { ws: null, state: "connecting", attempt: 0, timer: null, retryAt: 0, hold: false, opened: false, lastError: null, resumeAfter: null, resumedAt: 0 };
  var stats = null;
  var clockSkewMs = null; // browser clock minus server clock (plus the smallest latency seen)
  var backfillRunning = false;
  var backfillAgain = false;
  var loadedOnce = false;
  var lastSync = 0;
  var droppedStatuses = new Set(); // engineDebug.dropEvents: stream messages to lose on purpose

  // ---------------------------------------------------------------- small helpers

  function byId(id) {
    return document.getElementById(id);
  }

  function readJSON(id, fallback) {
    var node = byId(id);
    try {
      return node ? JSON.parse(node.textContent) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  function parseTime(iso) {
    var t = iso ? Date.parse(iso) : NaN;
    return Number.isFinite(t) ? t : null;
  }

  /** Local wall-clock time with milliseconds: 10:47:01.979 */
  function fmtTime(ms) {
    if (ms === null || ms === undefined) return "—";
    var d = new Date(ms);
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
    return Math.max(0, Math.round(ms)).toLocaleString("en-US") + " ms";
  }

  function shortHash(hash) {
    if (!hash) return "";
    return hash.length > 16 ? hash.slice(0, 6) + "…" + hash.slice(-6) : hash;
  }

  function serverNow() {
    return Date.now() - (clockSkewMs || 0);
  }

  function noteSkew(iso) {
    var at = parseTime(iso);
    if (at === null) return;
    var skew = Date.now() - at;
    clockSkewMs = clockSkewMs === null ? skew : Math.min(clockSkewMs, skew);
  }

  // Exact decimal arithmetic on the API's decimal strings (BigInt); Number as a fallback.
  function decParts(text) {
    var s = String(text).trim();
    if (!/^-?\d+(\.\d+)?$/.test(s)) return null;
    var neg = s[0] === "-";
    if (neg) s = s.slice(1);
    var dot = s.indexOf(".");
    return { neg: neg, int: dot < 0 ? s : s.slice(0, dot), frac: dot < 0 ? "" : s.slice(dot + 1) };
  }

  function decSub(a, b) {
    var pa = decParts(a);
    var pb = decParts(b);
    if (!pa || !pb) {
      var diff = Number(a) - Number(b);
      return Number.isFinite(diff) ? String(Number(diff.toPrecision(12))) : null;
    }
    var scale = Math.max(pa.frac.length, pb.frac.length);
    var big = function (p) {
      var v = BigInt(p.int + p.frac.padEnd(scale, "0"));
      return p.neg ? -v : v;
    };
    var d = big(pa) - big(pb);
    var neg = d < BigInt(0);
    if (neg) d = -d;
    var digits = d.toString().padStart(scale + 1, "0");
    var out = scale ? digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale) : digits;
    if (scale) out = out.replace(/0+$/, "").replace(/\.$/, "");
    return (neg ? "-" : "") + out;
  }

  function fmtPct(ratio) {
    if (!Number.isFinite(ratio)) return "";
    var pct = ratio * 100;
    var abs = Math.abs(pct);
    var digits = abs >= 10 ? 2 : abs >= 1 ? 3 : abs >= 0.01 ? 3 : 4;
    return (pct > 0 ? "+" : pct < 0 ? "−" : "±") + abs.toFixed(digits) + "%";
  }

  function signed(text) {
    if (text === null) return "";
    if (text[0] === "-") return "−" + text.slice(1);
    return (Number(text) === 0 ? "±" : "+") + text;
  }

  /** Shorten a long decimal string for display (the exact value goes in a title). */
  function trimDec(text, maxFrac) {
    if (text === null || text === undefined) return "";
    var p = decParts(text);
    if (!p || p.frac.length <= maxFrac) return String(text);
    var keep = p.int === "0" ? Math.max(maxFrac, p.frac.search(/[1-9]/) + 4) : maxFrac;
    var frac = p.frac.slice(0, keep).replace(/0+$/, "");
    return (p.neg ? "-" : "") + p.int + (frac ? "." + frac : "");
  }

  async function api(path, options) {
    var init = Object.assign({ cache: "no-store", headers: { Accept: "application/json" } }, options || {});
    var response = await fetch(path, init);
    var body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    return { status: response.status, ok: response.ok, body: body };
  }

  // ---------------------------------------------------------------- order records

  function record(id) {
    var rec = orders.get(id);
    if (!rec) {
      rec = {
        id: id,
        summary: null,
        route: null,
        events: new Map(),
        maxSeq: 0,
        detail: false,
        queued: false,
        fetching: false,
        again: false,
        tries: 0,
        retryTimer: null,
        fetchedAt: 0,
        created: 0,
        mine: false,
        el: null,
      };
      orders.set(id, rec);
    }
    return rec;
  }

  function summarySeq(rec) {
    return rec.summary ? rec.summary.lastSeq || 0 : 0;
  }

  function statusOf(rec) {
    var last = rec.events.get(rec.maxSeq);
    if (rec.summary && (!last || summarySeq(rec) > rec.maxSeq)) return rec.summary.status;
    return last ? last.status : "pending";
  }

  function hasGap(rec) {
    var upto = Math.max(rec.maxSeq, summarySeq(rec));
    for (var seq = 1; seq <= upto; seq++) {
      if (!rec.events.has(seq)) return true;
    }
    return false;
  }

  function addEvent(rec, ev) {
    rec.events.set(ev.seq, ev);
    if (ev.seq > rec.maxSeq) rec.maxSeq = ev.seq;
    if (ev.seq === 1 && !rec.created) rec.created = parseTime(ev.at) || 0;
  }

  function applySummary(rec, summary) {
    if (!summary || summary.orderId !== rec.id) return;
    if (!rec.summary || (summary.lastSeq || 0) >= summarySeq(rec)) {
      rec.summary = summary;
    }
    if (summary.route) rec.route = summary.route;
    var created = parseTime(summary.createdAt);
    if (created) rec.created = created;
  }

  /** One event from the stream (live) or from a detail fetch. */
  function onEvent(ev) {
    if (!ev || typeof ev.orderId !== "string" || !Number.isInteger(ev.seq) || ev.seq < 1) return;
    noteSkew(ev.at);
    var known = orders.has(ev.orderId);
    var rec = record(ev.orderId);
    if (rec.events.has(ev.seq)) return; // already have it (dedupe by seq)
    var before = known && (rec.summary || rec.maxSeq) ? statusOf(rec) : null;
    var newest = ev.seq > rec.maxSeq && ev.seq > summarySeq(rec);
    addEvent(rec, ev);
    if (newest) bumpCounters(before, ev.status);
    if (!rec.detail || hasGap(rec)) requestDetail(rec, true);
    touch(rec);
  }

  // ---------------------------------------------------------------- detail fetches

  var detailQueue = [];
  var detailActive = 0;

  function requestDetail(rec, urgent) {
    if (rec.fetching) {
      rec.again = true;
      return;
    }
    if (rec.queued) {
      if (urgent) {
        var i = detailQueue.indexOf(rec);
        if (i > 0) {
          detailQueue.splice(i, 1);
          detailQueue.unshift(rec);
        }
      }
      return;
    }
    rec.queued = true;
    if (urgent) detailQueue.unshift(rec);
    else detailQueue.push(rec);
    pumpDetails();
  }

  function pumpDetails() {
    while (detailActive < DETAIL_CONCURRENCY && detailQueue.length) {
      var rec = detailQueue.shift();
      rec.queued = false;
      rec.fetching = true;
      detailActive++;
      loadDetail(rec).finally(finishDetail.bind(null, rec));
    }
  }

  function finishDetail(rec) {
    rec.fetching = false;
    detailActive--;
    if (rec.again) {
      rec.again = false;
      if (!rec.detail || hasGap(rec)) requestDetail(rec, true);
    }
    pumpDetails();
    updateSyncNote();
  }

  function retryDetailLater(rec) {
    rec.tries++;
    if (rec.tries > 6 || rec.retryTimer) return;
    rec.retryTimer = setTimeout(function () {
      rec.retryTimer = null;
      requestDetail(rec, false);
    }, Math.min(5000, 150 * Math.pow(2, rec.tries)));
  }

  async function loadDetail(rec) {
    var res;
    try {
      res = await api("/api/orders/" + encodeURIComponent(rec.id));
    } catch (e) {
      retryDetailLater(rec);
      return;
    }
    if (!res.ok || !res.body || !Array.isArray(res.body.events)) {
      retryDetailLater(rec); // 404 right after an event is a race; anything else is transient
      return;
    }
    applySummary(rec, res.body);
    res.body.events.forEach(function (ev) {
      if (!rec.events.has(ev.seq)) addEvent(rec, ev);
    });
    rec.detail = true;
    rec.fetchedAt = Date.now();
    if (hasGap(rec)) retryDetailLater(rec);
    else rec.tries = 0;
    touch(rec);
  }

  /**
   * The stream is at-most-once: a lost last event leaves no gap to notice. An order that
   * has been quiet in a non-final state for a while is asked for again (this also shows
   * a failed attempt waiting for its retry, which has no event of its own).
   */
  function checkQuiet() {
    var now = serverNow();
    orders.forEach(function (rec) {
      if (!rec.detail || rec.fetching || rec.queued || TERMINAL.has(statusOf(rec))) return;
      var last = rec.events.get(rec.maxSeq);
      var lastAt = last ? parseTime(last.at) || 0 : 0;
      if (now - lastAt > QUIET_MS && Date.now() - rec.fetchedAt > QUIET_MS) requestDetail(rec, false);
    });
  }

  // ---------------------------------------------------------------- backfill

  async function backfill() {
    if (backfillRunning) {
      backfillAgain = true;
      return;
    }
    backfillRunning = true;
    updateSyncNote("syncing…");
    try {
      var res = await api("/api/orders?pageSize=" + PAGE_SIZE);
      if (!res.ok || !res.body || !Array.isArray(res.body.results)) throw new Error("HTTP " + res.status);
      var listed = new Set();
      res.body.results.forEach(function (summary) {
        listed.add(summary.orderId);
        var rec = record(summary.orderId);
        var stale = !rec.detail || (summary.lastSeq || 0) > rec.maxSeq;
        applySummary(rec, summary);
        if (stale || hasGap(rec)) requestDetail(rec, !TERMINAL.has(summary.status));
        touch(rec);
      });
      // Orders we follow that fell off the first page but were still running.
      orders.forEach(function (rec) {
        if (!listed.has(rec.id) && !TERMINAL.has(statusOf(rec))) requestDetail(rec, true);
      });
      loadedOnce = true;
      lastSync = Date.now();
    } catch (e) {
      updateSyncNote("sync failed, retrying");
      setTimeout(function () {
        if (conn.state === "live" || !loadedOnce) backfill();
      }, 2000);
    } finally {
      backfillRunning = false;
      if (backfillAgain) {
        backfillAgain = false;
        backfill();
      }
      updateSyncNote();
    }
  }

  function updateSyncNote(text) {
    if (text) {
      el.syncNote.textContent = text;
      return;
    }
    var pending = detailActive + detailQueue.length;
    if (backfillRunning || pending) {
      el.syncNote.textContent = "syncing " + (pending ? pending + " order" + (pending === 1 ? "" : "s") : "") + "…";
    } else if (lastSync) {
      el.syncNote.textContent = "synced " + fmtTime(lastSync).slice(0, 8);
    }
  }

  // ---------------------------------------------------------------- WebSocket

  function setConnection(state) {
    conn.state = state;
    el.connection.dataset.state = state;
    el.connection.textContent = connectionText();
  }

  function connectionText() {
    switch (conn.state) {
      case "live":
        return "live";
      case "reconnecting": {
        if (conn.ws) return "reconnecting…";
        var left = Math.max(0, conn.retryAt - Date.now());
        return (conn.lastError ? "refused; " : "") + "reconnecting in " + (left / 1000).toFixed(1) + " s";
      }
      case "offline":
        return "offline";
      default:
        return "connecting…";
    }
  }

  function connect() {
    clearTimeout(conn.timer);
    conn.timer = null;
    if (conn.ws || conn.hold) return;
    setConnection(conn.opened ? "reconnecting" : "connecting");
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/orders/stream";
    // After a 4410 ("fell behind") the server replays what we missed from its cursor.
    if (conn.resumeAfter) url += "?after=" + encodeURIComponent(conn.resumeAfter);
    conn.resumeAfter = null;
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    conn.ws = ws;
    setConnection(conn.state);
    ws.onopen = function () {
      if (conn.ws !== ws) return;
      conn.attempt = 0;
      conn.opened = true;
      conn.lastError = null;
      el.connection.title = "WebSocket " + url;
      setConnection("live");
      backfill(); // whatever happened while we were away
    };
    ws.onmessage = function (message) {
      if (conn.ws !== ws) return;
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (data && typeof data.error === "string" && !data.orderId) {
        if ("resumeAfter" in data) conn.resumeAfter = data.resumeAfter; // close 4410 follows
        conn.lastError = data.error; // e.g. the server's socket quota refusing us
        el.connection.title = "server: " + data.error;
        return;
      }
      if (data && droppedStatuses.has(data.status)) return; // engineDebug: simulated loss
      onEvent(data);
    };
    ws.onclose = function (event) {
      if (conn.ws !== ws) return;
      conn.ws = null;
      if (conn.hold) setConnection("offline");
      else if (event.code === 4410 && conn.resumeAfter && Date.now() - conn.resumedAt > 5000) {
        conn.resumedAt = Date.now(); // at once, but not in a loop if the resume fails too
        connect();
      } else scheduleReconnect();
    };
    ws.onerror = function () {
      /* onclose follows and schedules the retry */
    };
  }

  function scheduleReconnect() {
    clearTimeout(conn.timer);
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, conn.attempt));
    var delay = Math.round(base * (0.8 + Math.random() * 0.2));
    conn.attempt++;
    conn.retryAt = Date.now() + delay;
    conn.timer = setTimeout(connect, delay);
    setConnection("reconnecting");
  }

  function dropConnection(options) {
    conn.hold = !!(options && options.hold);
    var ws = conn.ws;
    conn.ws = null;
    if (ws) {
      try {
        ws.close(4000, "dropped by the page");
      } catch (e) {
        /* already closing */
      }
    }
    if (conn.hold) {
      clearTimeout(conn.timer);
      setConnection("offline");
    } else {
      scheduleReconnect();
    }
  }

  // ---------------------------------------------------------------- counters

  function renderCounters() {
    if (!stats) return;
    Object.keys(el.counters).forEach(function (key) {
      var node = el.counters[key];
      var value = Math.max(0, stats[key] | 0);
      var text = String(value);
      if (node.textContent !== text) {
        node.textContent = text;
        node.classList.add("bump");
        clearTimeout(node._bump);
        node._bump = setTimeout(function () {
          node.classList.remove("bump");
        }, 600);
      }
    });
  }

  /** Move an order between counters as its events arrive; the next poll corrects. */
  function bumpCounters(before, after) {
    if (!stats) return;
    if (before === null && after !== "pending") return; // unknown history: leave it to the poll
    var bucket = function (status) {
      if (status === "pending") return "queued";
      if (IN_FLIGHT.has(status)) return "executing";
      return null;
    };
    var from = before === null ? null : bucket(before);
    var to = bucket(after);
    if (from !== to) {
      if (from) stats[from] = Math.max(0, (stats[from] | 0) - 1);
      if (to) stats[to] = (stats[to] | 0) + 1;
    }
    if (after === "confirmed") stats.confirmedLastMinute = (stats.confirmedLastMinute | 0) + 1;
    if (after === "failed") stats.failedLastMinute = (stats.failedLastMinute | 0) + 1;
    renderCounters();
  }

  async function pollStats() {
    try {
      var res = await api("/api/orders/stats");
      if (res.ok && res.body) {
        stats = res.body;
        renderCounters();
      }
    } catch (e) {
      /* the engine is unreachable; the connection badge says so */
    } finally {
      setTimeout(pollStats, STATS_EVERY_MS);
    }
  }

  // ---------------------------------------------------------------- rendering

  var dirty = new Set();
  var flushTimer = null;

  function touch(rec) {
    dirty.add(rec);
    if (!flushTimer) flushTimer = setTimeout(flush, 16);
  }

  function flush() {
    flushTimer = null;
    dirty.forEach(renderCard);
    dirty.clear();
    prune();
    updateChrome();
    tick();
  }

  function insertSorted(node, rec) {
    node._created = rec.created || Date.now();
    var cards = el.grid.querySelectorAll(".order");
    for (var i = 0; i < cards.length; i++) {
      if ((cards[i]._created || 0) < node._created) {
        el.grid.insertBefore(node, cards[i]);
        return;
      }
    }
    el.grid.appendChild(node);
  }

  function renderCard(rec) {
    if (!rec.summary) return; // the pair is known once the summary is; a fetch is under way
    var status = statusOf(rec);
    var node = rec.el;
    if (!node) {
      node = document.createElement("article");
      node.className = "order";
      node.dataset.orderId = rec.id;
      rec.el = node;
      insertSorted(node, rec);
    }
    node.dataset.status = status;
    node.classList.toggle("mine", rec.mine);
    node.innerHTML = cardHTML(rec, status);
  }

  function prune() {
    var cards = el.grid.querySelectorAll(".order");
    var excess = cards.length - MAX_CARDS;
    for (var i = cards.length - 1; i >= 0 && excess > 0; i--) {
      var card = cards[i];
      if (!TERMINAL.has(card.dataset.status)) continue;
      excess--;
      var rec = orders.get(card.dataset.orderId);
      if (rec) {
        orders.delete(rec.id);
        if (rec.retryTimer) clearTimeout(rec.retryTimer);
      }
      card.remove();
    }
  }

  function updateChrome() {
    var cards = el.grid.querySelectorAll(".order");
    el.empty.hidden = cards.length > 0;
    var counts = { active: 0, confirmed: 0, failed: 0 };
    cards.forEach(function (card) {
      var s = card.dataset.status;
      if (s === "confirmed") counts.confirmed++;
      else if (s === "failed") counts.failed++;
      else counts.active++;
    });
    el.total.textContent = cards.length ? "· " + cards.length + " shown" : "";
    document.querySelectorAll("[data-count]").forEach(function (node) {
      node.textContent = counts[node.dataset.count];
    });
  }

  function sortedEvents(rec) {
    return Array.from(rec.events.values()).sort(function (a, b) {
      return a.seq - b.seq;
    });
  }

  function cardHTML(rec, status) {
    var s = rec.summary;
    var events = sortedEvents(rec);
    var routings = events.filter(function (ev) {
      return ev.status === "routing";
    });
    var lastRouting = routings.length ? routings[routings.length - 1] : null;
    var done = events.filter(function (ev) {
      return TERMINAL.has(ev.status);
    })[0];
    var confirmed = done && done.status === "confirmed" ? done : null;
    var amountOut = (confirmed && confirmed.amountOut) || (status === "confirmed" ? s.amountOut : null);
    var attempts = Math.max(
      s.attempts || 0,
      events.reduce(function (m, ev) {
        return Math.max(m, ev.attempt || 0);
      }, 0)
    );
    var inflight = !TERMINAL.has(status);
    var retrying = inflight && s.nextAttemptAt && summarySeq(rec) >= rec.maxSeq;

    var html = "";
    html += '<header class="order-head"><div class="pair">';
    html += '<span class="amt mono">' + esc(s.amountIn) + "</span><span>" + esc(s.tokenIn) + "</span>";
    html += '<span class="arrow">→</span>';
    if (amountOut) html += '<span class="out" title="' + esc(amountOut) + '">' + esc(trimDec(amountOut, 6)) + "</span>";
    html += "<span>" + esc(s.tokenOut) + "</span></div>";
    html += '<span class="badge s-' + esc(status) + (inflight ? " inflight" : "") + '">' + esc(retrying ? "retrying" : status) + "</span>";
    html += "</header>";

    html += '<div class="order-meta">';
    html += '<span class="mono" title="' + esc(rec.id) + '">#' + esc(rec.id.slice(0, 8)) + "</span>";
    html += '<span title="' + esc(s.createdAt) + '">' + esc(fmtTime(rec.created || null)) + "</span>";
    html += "<span>slippage " + esc(s.slippageBps) + " bps</span>";
    if (attempts > 0) html += "<span>attempt " + attempts + "</span>";
    if (rec.mine) html += '<span class="tag you">you</span>';
    if (retrying) html += '<span class="tag retry">retry at ' + esc(fmtTime(parseTime(s.nextAttemptAt))) + "</span>";
    html += "</div>";

    html += timelineHTML(rec, events, status);
    html += quotesHTML(rec, lastRouting, s);
    html += routeHTML(rec, lastRouting, s);
    html += factsHTML(rec, events, s, status, confirmed, attempts);
    html += errorsHTML(events, s, status);
    return html;
  }

  function timelineHTML(rec, events, status) {
    if (!events.length) return '<div class="loading-line">loading timeline…</div>';
    var first = parseTime(events[0].at);
    var last = events[events.length - 1];
    var terminal = TERMINAL.has(last.status);
    var rail = "";
    var steps = "";
    var hasGapNow = hasGap(rec);
    events.forEach(function (ev, i) {
      var at = parseTime(ev.at);
      var next = events[i + 1];
      var dur = null;
      var live = false;
      if (next) dur = parseTime(next.at) - at;
      else if (!TERMINAL.has(ev.status)) live = true;
      var sc = "s-" + esc(ev.status);
      if (dur !== null || live) {
        rail +=
          '<i class="' + sc + (live ? " live" : "") + '" style="flex-grow:' + Math.max(1, dur || 1) + '"' +
          (live ? ' data-since="' + at + '"' : "") + ' title="' + esc(ev.status) + (dur !== null ? " " + fmtMs(dur) : "") + '"></i>';
      }
      var label = esc(ev.status);
      if (ev.status === "routing" && ev.attempt > 1) label += "<small>attempt " + esc(ev.attempt) + "</small>";
      var durCell = live
        ? '<span class="dur mono live" data-since="' + at + '">' + fmtMs(serverNow() - at) + "</span>"
        : TERMINAL.has(ev.status)
          ? '<span class="dur mono muted">' + (ev.status === "confirmed" ? "done" : "final") + "</span>"
          : '<span class="dur mono">' + fmtMs(dur) + "</span>";
      steps +=
        '<li class="step ' + sc + '" data-status="' + esc(ev.status) + '" data-seq="' + esc(ev.seq) + '">' +
        '<span class="dot"></span><span class="name">' + label + "</span>" +
        '<span class="at mono" title="' + esc(ev.at) + '">' + fmtTime(at) + "</span>" + durCell;
      if (ev.status === "routing" && ev.error) {
        steps += '<span class="step-error">attempt ' + esc((ev.attempt || 2) - 1) + " failed: " + esc(ev.error) + "</span>";
      }
      steps += "</li>";
    });
    if (hasGapNow) steps += '<li class="step s-pending future"><span class="dot"></span><span class="name">…</span><span class="at mono">fetching missed events</span><span></span></li>';
    if (!terminal && !TERMINAL.has(status)) {
      var current = STATUSES.indexOf(status);
      STATUSES.slice(current + 1, 5).forEach(function (future) {
        steps += '<li class="step s-' + future + ' future"><span class="dot"></span><span class="name">' + future + '</span><span class="at mono">—</span><span class="dur mono">—</span></li>';
      });
    }
    var total = terminal
      ? '<span class="mono">total ' + fmtMs(parseTime(last.at) - first) + "</span>"
      : '<span class="mono">running <span class="total-live" data-since="' + first + '">' + fmtMs(serverNow() - first) + "</span></span>";
    return (
      '<div class="timeline"><div class="section-title"><span>Timeline</span>' + total + "</div>" +
      '<div class="rail">' + rail + "</div>" +
      '<ol class="steps">' + steps + "</ol></div>"
    );
  }

  function quotesHTML(rec, lastRouting, s) {
    var quotes = (lastRouting && lastRouting.quotes) || (rec.route && rec.route.quotes) || null;
    var chosen = (lastRouting && lastRouting.dex) || (rec.route && rec.route.dex) || s.dex;
    var names = DEXES.slice();
    if (quotes) {
      Object.keys(quotes).forEach(function (name) {
        if (names.indexOf(name) < 0) names.push(name);
      });
    }
    var title = "Quotes";
    if (lastRouting && lastRouting.attempt > 1) title += " · attempt " + lastRouting.attempt;
    var html = '<div class="quotes-block"><div class="section-title"><span>' + esc(title) + "</span>";
    if (lastRouting && lastRouting.details && lastRouting.details.quoteMs) {
      html += '<span class="mono">both in ' + esc(Math.round(lastRouting.details.quoteMs)) + " ms</span>";
    }
    html += '</div><div class="quotes">';
    if (!quotes) {
      names.forEach(function (name) {
        html += '<div class="quote-placeholder"><b>' + esc(name) + "</b><span>awaiting quote…</span></div>";
      });
      return html + "</div></div>";
    }
    var valid = names.filter(function (name) {
      return quotes[name] && !quotes[name].error && quotes[name].outAmount !== undefined;
    });
    var winner = valid.indexOf(chosen) >= 0 ? chosen : null;
    var unit = s.tokenOut;
    names.forEach(function (name) {
      var q = quotes[name];
      if (!q) {
        html += '<div class="quote-placeholder"><b>' + esc(name) + "</b><span>not asked</span></div>";
        return;
      }
      if (q.error || q.outAmount === undefined) {
        html +=
          '<div class="quote quote-error" data-dex="' + esc(name) + '"><div class="q-head"><span class="dex">' + esc(name) + "</span></div>" +
          '<div class="q-error">' + esc(q.error || "no quote") + "</div></div>";
        return;
      }
      var isWinner = name === winner;
      var diffHTML = "";
      if (winner && valid.length > 1) {
        var other = isWinner
          ? valid.filter(function (n) {
              return n !== winner;
            }).sort(function (a, b) {
              return Number(quotes[b].outAmount) - Number(quotes[a].outAmount);
            })[0]
          : winner;
        var base = quotes[other].outAmount;
        var diff = decSub(q.outAmount, base);
        var ratio = Number(diff) / Number(base);
        diffHTML =
          '<div class="q-diff ' + (isWinner ? "up" : "down") + '" title="' + esc((isWinner ? "better than " : "worse than ") + other + " by " + diff.replace(/^-/, "") + " " + unit) + '">' +
          esc(signed(diff)) + " · " + esc(fmtPct(ratio)) + "</div>";
      }
      html +=
        '<div class="quote' + (isWinner ? " winner" : "") + '" data-dex="' + esc(name) + '">' +
        '<div class="q-head"><span class="dex">' + esc(name) + "</span>" + (isWinner ? '<span class="win-badge">best</span>' : "") + "</div>" +
        '<div class="q-out" title="' + esc(q.outAmount) + '">' + esc(trimDec(q.outAmount, 6)) + " <small>" + esc(unit) + "</small></div>" +
        diffHTML +
        "<dl>" +
        '<dt>price</dt><dd title="' + esc(q.price) + '">' + esc(trimDec(q.price, 6)) + "</dd>" +
        '<dt>fee</dt><dd title="' + esc(q.fee) + '">' + esc(trimDec(q.feeBps, 2)) + " bps</dd>" +
        "<dt>impact</dt><dd>" + esc(trimDec(q.priceImpactPct, 4)) + "%</dd>" +
        (q.minOutAmount ? '<dt>min out</dt><dd title="' + esc(q.minOutAmount) + '">' + esc(trimDec(q.minOutAmount, 6)) + "</dd>" : "") +
        '<dt>pool</dt><dd title="' + esc(q.pool) + '">' + esc(q.pool) + "</dd>" +
        "</dl></div>";
    });
    return html + "</div></div>";
  }

  function routeHTML(rec, lastRouting, s) {
    var details = (lastRouting && lastRouting.details) || rec.route || null;
    var reason = (details && details.reason) || s.routeReason;
    if (!details && !reason) return "";
    var path = details && details.path ? String(details.path).replace(/\s*->\s*/g, " → ") : null;
    var dex = (lastRouting && lastRouting.dex) || (rec.route && rec.route.dex) || s.dex;
    var html = '<div class="route"><div class="route-line">';
    if (path) html += '<span class="route-path" title="path">' + esc(path) + "</span>";
    if (dex) html += "<span>via <b>" + esc(dex) + "</b>" + (details && details.pool ? ' <span class="mono muted">' + esc(details.pool) + "</span>" : "") + "</span>";
    html += "</div>";
    if (details && details.wrappedSol) html += '<div class="route-note">◎ ' + esc(details.wrappedSol) + "</div>";
    if (reason) html += '<p class="route-reason">' + esc(reason) + "</p>";
    return html + "</div>";
  }

  function factsHTML(rec, events, s, status, confirmed, attempts) {
    var txHash = null;
    events.forEach(function (ev) {
      if (ev.txHash) txHash = ev.txHash;
    });
    txHash = txHash || s.txHash;
    var price = (confirmed && confirmed.executedPrice) || (status === "confirmed" ? s.executedPrice : null);
    var amountOut = (confirmed && confirmed.amountOut) || (status === "confirmed" ? s.amountOut : null);
    var lastRouting = null;
    events.forEach(function (ev) {
      if (ev.status === "routing") lastRouting = ev;
    });
    var minOut =
      (lastRouting && lastRouting.details && lastRouting.details.minAmountOut) ||
      (rec.route && rec.route.minAmountOut) ||
      s.minAmountOut;
    var unit = function (text) {
      return " <small>" + esc(text) + "</small>";
    };
    var facts = [
      ["filled", amountOut ? esc(trimDec(amountOut, 6)) + unit(s.tokenOut) : "—", amountOut],
      ["price", price ? esc(trimDec(price, 6)) + unit(s.tokenOut + "/" + s.tokenIn) : "—", price],
      ["min out", minOut ? esc(trimDec(minOut, 6)) + unit(s.tokenOut) : "—", minOut],
    ];
    var html = '<div class="facts">';
    facts.forEach(function (f) {
      html += '<div class="fact"><span>' + f[0] + '</span><span class="v"' + (f[2] ? ' title="' + esc(f[2]) + '"' : "") + ">" + f[1] + "</span></div>";
    });
    html += '<div class="fact"><span>attempts</span><span class="v">' + esc(attempts || 0) + "</span></div>";
    html += '<div class="fact fact-wide"><span>tx hash</span>';
    if (txHash) {
      html += '<span class="v"><span class="tx-hash" title="' + esc(txHash) + '" data-full="' + esc(txHash) + '">' + esc(shortHash(txHash)) + "</span></span>";
    } else {
      html += '<span class="v muted">—</span>';
    }
    return html + "</div></div>";
  }

  function errorsHTML(events, s, status) {
    var items = [];
    var seen = new Set();
    var add = function (label, text) {
      if (!text || seen.has(text)) return;
      seen.add(text);
      items.push('<li><b>' + esc(label) + "</b>" + esc(text) + "</li>");
    };
    events.forEach(function (ev) {
      if (ev.status === "routing" && ev.error) add("attempt " + ((ev.attempt || 2) - 1), ev.error);
      if (ev.status === "failed") add("failed", ev.error || s.error);
    });
    if (s.error && !TERMINAL.has(status)) add("attempt " + (s.attempts || 1) + " (will retry)", s.error);
    if (status === "failed") add("failed", s.error);
    return items.length ? '<ul class="errors">' + items.join("") + "</ul>" : "";
  }

  /** Live durations of steps still running, every quarter second. */
  function tick() {
    var now = serverNow();
    el.grid.querySelectorAll("[data-since]").forEach(function (node) {
      var since = Number(node.dataset.since);
      if (node.tagName === "I") node.style.flexGrow = String(Math.max(1, now - since));
      else node.textContent = fmtMs(now - since);
    });
    if (conn.state === "reconnecting") el.connection.textContent = connectionText();
  }

  // ---------------------------------------------------------------- the form

  function clearErrors() {
    el.formErrors.textContent = "";
    el.form.querySelectorAll(".field-error").forEach(function (node) {
      node.textContent = "";
      node.parentElement.classList.remove("has-error");
    });
  }

  function flatten(value) {
    if (Array.isArray(value)) return value.map(flatten).join(" ");
    if (value && typeof value === "object") {
      return Object.keys(value)
        .map(function (k) {
          return k + ": " + flatten(value[k]);
        })
        .join(" ");
    }
    return String(value);
  }

  function showErrors(res) {
    var body = res.body || {};
    var errors = body.errors;
    var general = [];
    if (errors && typeof errors === "object") {
      Object.keys(errors).forEach(function (field) {
        var text = flatten(errors[field]);
        var slot = el.form.querySelector('.field-error[data-error-for="' + CSS.escape(field) + '"]');
        if (slot) {
          slot.textContent = text;
          slot.parentElement.classList.add("has-error");
        } else {
          general.push((field === "non_field_errors" ? "" : field + ": ") + text);
        }
      });
    } else if (body.error) {
      general.push(String(body.error));
    } else {
      general.push(res.status ? "the engine answered HTTP " + res.status : "the engine is unreachable");
    }
    el.formErrors.textContent = general.join(" · ");
  }

  function orderBody() {
    var slippage = el.slippage.value.trim();
    return {
      tokenIn: el.tokenIn.value,
      tokenOut: el.tokenOut.value,
      amount: el.amount.value.trim(),
      slippageBps: /^-?\d+$/.test(slippage) ? parseInt(slippage, 10) : slippage,
    };
  }

  async function postOrder(body) {
    try {
      return await api("/api/orders/execute", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      return { status: 0, ok: false, body: null };
    }
  }

  async function submit(count) {
    clearErrors();
    el.submitOne.disabled = true;
    el.submitFive.disabled = true;
    el.formStatus.textContent = count > 1 ? "submitting " + count + " orders…" : "submitting…";
    var body = orderBody();
    var started = performance.now();
    var results = await Promise.all(
      Array.from({ length: count }, function () {
        return postOrder(body);
      })
    );
    var ms = Math.round(performance.now() - started);
    var accepted = 0;
    var firstError = null;
    results.forEach(function (res) {
      if (res.status === 201 && res.body && res.body.orderId) {
        accepted++;
        if (!orders.has(res.body.orderId)) bumpCounters(null, "pending"); // the stream may not have told us yet
        var rec = record(res.body.orderId);
        rec.mine = true;
        applySummary(rec, res.body);
        if (!rec.detail) requestDetail(rec, true);
        touch(rec);
      } else if (!firstError) {
        firstError = res;
      }
    });
    if (firstError) showErrors(firstError);
    el.formStatus.innerHTML = accepted
      ? '<span class="ok">✓ ' + accepted + " order" + (accepted === 1 ? "" : "s") + " accepted</span> in " + ms + " ms"
      : "";
    el.submitOne.disabled = false;
    el.submitFive.disabled = false;
  }

  function syncFormHints() {
    el.amountUnit.textContent = el.tokenIn.value;
    var bps = Number(el.slippage.value);
    el.slippagePct.textContent = Number.isFinite(bps) && el.slippage.value !== "" ? (bps / 100).toFixed(2) + " %" : "";
  }

  var previous = { in: el.tokenIn.value, out: el.tokenOut.value };
  function onTokenChange(changed) {
    if (el.tokenIn.value === el.tokenOut.value) {
      if (changed === "in") el.tokenOut.value = previous.in;
      else el.tokenIn.value = previous.out;
    }
    previous = { in: el.tokenIn.value, out: el.tokenOut.value };
    syncFormHints();
  }

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit(1);
  });
  el.submitFive.addEventListener("click", function () {
    submit(5);
  });
  el.swap.addEventListener("click", function () {
    var a = el.tokenIn.value;
    el.tokenIn.value = el.tokenOut.value;
    el.tokenOut.value = a;
    previous = { in: el.tokenIn.value, out: el.tokenOut.value };
    syncFormHints();
  });
  el.tokenIn.addEventListener("change", function () {
    onTokenChange("in");
  });
  el.tokenOut.addEventListener("change", function () {
    onTokenChange("out");
  });
  el.slippage.addEventListener("input", syncFormHints);
  el.form.addEventListener("input", function (event) {
    var field = event.target.closest(".field");
    if (field && field.classList.contains("has-error")) {
      field.classList.remove("has-error");
      var slot = field.querySelector(".field-error");
      if (slot) slot.textContent = "";
    }
  });

  document.querySelector(".filters").addEventListener("click", function (event) {
    var chip = event.target.closest(".chip");
    if (!chip) return;
    document.querySelectorAll(".filters .chip").forEach(function (c) {
      c.classList.toggle("active", c === chip);
    });
    el.grid.dataset.filter = chip.dataset.filter;
  });

  el.grid.addEventListener("click", function (event) {
    var hash = event.target.closest(".tx-hash");
    if (!hash || !navigator.clipboard) return;
    navigator.clipboard.writeText(hash.dataset.full).then(
      function () {
        hash.classList.add("copied");
        hash.textContent = "copied";
        setTimeout(function () {
          hash.classList.remove("copied");
          hash.textContent = shortHash(hash.dataset.full);
        }, 900);
      },
      function () {
        /* clipboard refused (insecure origin): the title still shows the hash */
      }
    );
  });

  // ---------------------------------------------------------------- start

  window.addEventListener("online", function () {
    if (!conn.ws && !conn.hold) connect();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !conn.ws && !conn.hold) connect();
  });

  /** Hooks for tests and for poking at the page from the console. */
  window.engineDebug = {
    dropConnection: dropConnection,
    /** Lose every stream message with one of these statuses (simulates a lossy stream). */
    dropEvents: function (statuses) {
      droppedStatuses = new Set(statuses || []);
    },
    reconnect: function () {
      conn.hold = false;
      conn.attempt = 0;
      connect();
    },
    state: function () {
      return {
        connection: conn.state,
        orders: orders.size,
        cards: el.grid.querySelectorAll(".order").length,
        stats: stats,
        pendingDetails: detailActive + detailQueue.length,
      };
    },
  };

  syncFormHints();
  connect();
  pollStats();
  setInterval(tick, 250);
  setInterval(checkQuiet, 1000);
  // Show history even when the stream cannot be reached.
  setTimeout(function () {
    if (!loadedOnce && !backfillRunning) backfill();
  }, 3000);
})();
