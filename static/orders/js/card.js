// One order's card as DOM nodes, drawn from cardModel (view.js). No HTML strings: every
// value from the API goes in as text or as an attribute value.

import { trimDec } from "./decimal.js";
import { h } from "./dom.js";
import { fmtMs, fmtTime, shortHash } from "./format.js";
import { TERMINAL } from "./store.js";

const UNKNOWN = "…";

function header(m) {
  const p = m.pair;
  return h(
    "header",
    { className: "order-head" },
    h(
      "div",
      { className: "pair" },
      h("span", { className: "amt mono" }, p.amountIn || UNKNOWN),
      h("span", null, p.tokenIn || UNKNOWN),
      h("span", { className: "arrow" }, "→"),
      m.amountOut ? h("span", { className: "out", title: m.amountOut }, m.amountOutShort) : null,
      h("span", null, p.tokenOut || UNKNOWN),
    ),
    h("span", { className: "badge s-" + m.status + (m.inflight ? " inflight" : "") }, m.badge),
  );
}

function meta(m) {
  return h(
    "div",
    { className: "order-meta" },
    h("span", { className: "mono", title: m.id }, "#" + m.id.slice(0, 8)),
    h("span", { title: m.createdIso }, fmtTime(m.created)),
    m.slippageBps !== null ? h("span", null, "slippage " + m.slippageBps + " bps") : null,
    m.attempts > 0 ? h("span", null, "attempt " + m.attempts) : null,
    m.mine ? h("span", { className: "tag you" }, "you") : null,
    m.retrying ? h("span", { className: "tag retry" }, "retry at " + fmtTime(m.nextAttemptAt)) : null,
    m.cancellable ? h("button", { type: "button", className: "btn-cancel", dataset: { cancel: m.id } }, "Cancel") : null,
  );
}

/** A resting order's condition, and while it waits the price it would get now. */
function condition(m) {
  const c = m.condition;
  if (!c) return null;
  const waiting = m.status === "waiting" || m.status === "pending";
  const live = waiting ? c.live : null;
  return h(
    "div",
    { className: "condition" + (live && live.met ? " met" : ""), dataset: { type: c.type } },
    h("span", { className: "condition-type" }, c.type),
    h("span", { className: "condition-text" }, c.text),
    live ? h("span", { className: "condition-live mono", title: live.price || null }, live.text, live.gapText ? h("small", null, " · " + live.gapText) : null) : null,
    waiting && c.expiresAt ? h("span", { className: "condition-expiry muted", title: c.trigger.expiresAt }, "expires " + fmtTime(c.expiresAt)) : null,
  );
}

function railSegment(step) {
  if (step.dur === null && !step.live) return null;
  return h("i", {
    className: "s-" + step.status + (step.live ? " live" : ""),
    style: { flexGrow: String(Math.max(1, step.dur || 1)) },
    dataset: step.live ? { since: step.at } : null,
    title: step.status + (step.dur !== null ? " " + fmtMs(step.dur) : ""),
  });
}

function durationCell(step) {
  if (step.live) return h("span", { className: "dur mono live", dataset: { since: step.at } }, fmtMs(step.liveMs));
  if (TERMINAL.has(step.status)) {
    return h("span", { className: "dur mono muted" }, step.status === "confirmed" ? "done" : "final");
  }
  return h("span", { className: "dur mono" }, fmtMs(step.dur));
}

function stepItem(step) {
  const retry = step.status === "routing" && step.attempt > 1;
  return h(
    "li",
    { className: "step s-" + step.status, dataset: { status: step.status, seq: step.seq } },
    h("span", { className: "dot" }),
    h("span", { className: "name" }, step.status, retry ? h("small", null, "attempt " + step.attempt) : null),
    h("span", { className: "at mono", title: step.iso }, fmtTime(step.at)),
    durationCell(step),
    step.failedAttempt
      ? h("span", { className: "step-error" }, "attempt " + step.failedAttempt.attempt + " failed: " + step.failedAttempt.error)
      : null,
  );
}

function futureItem(status) {
  return h(
    "li",
    { className: "step s-" + status + " future" },
    h("span", { className: "dot" }),
    h("span", { className: "name" }, status),
    h("span", { className: "at mono" }, "—"),
    h("span", { className: "dur mono" }, "—"),
  );
}

function timeline(t) {
  if (!t) return h("div", { className: "loading-line" }, "loading timeline…");
  const total =
    t.totalMs !== null
      ? h("span", { className: "mono" }, "total " + fmtMs(t.totalMs))
      : h("span", { className: "mono" }, "running ", h("span", { className: "total-live", dataset: { since: t.first } }, fmtMs(t.runningMs)));
  const gap = t.fetching
    ? h(
        "li",
        { className: "step s-pending future" },
        h("span", { className: "dot" }),
        h("span", { className: "name" }, "…"),
        h("span", { className: "at mono" }, "fetching missed events"),
        h("span", null),
      )
    : null;
  return h(
    "div",
    { className: "timeline" },
    h("div", { className: "section-title" }, h("span", null, "Timeline"), total),
    h("div", { className: "rail" }, t.steps.map(railSegment)),
    h("ol", { className: "steps" }, t.steps.map(stepItem), gap, t.future.map(futureItem)),
  );
}

function quoteCard(item, unit) {
  if (item.kind === "placeholder") {
    return h("div", { className: "quote-placeholder" }, h("b", null, item.dex), h("span", null, item.text));
  }
  const head = h("div", { className: "q-head" }, h("span", { className: "dex" }, item.dex), item.winner ? h("span", { className: "win-badge" }, "best") : null);
  if (item.kind === "error") {
    return h("div", { className: "quote quote-error", dataset: { dex: item.dex } }, head, h("div", { className: "q-error" }, item.text));
  }
  const q = item.quote;
  const row = (label, title, text) => [h("dt", null, label), h("dd", { title }, text)];
  return h(
    "div",
    { className: "quote" + (item.winner ? " winner" : ""), dataset: { dex: item.dex } },
    head,
    h("div", { className: "q-out", title: q.outAmount }, trimDec(q.outAmount, 6) + " ", h("small", null, unit)),
    item.diff ? h("div", { className: "q-diff " + (item.diff.up ? "up" : "down"), title: item.diff.title }, item.diff.text) : null,
    h(
      "dl",
      null,
      row("price", q.price, trimDec(q.price, 6)),
      row("fee", q.fee, trimDec(q.feeBps, 2) + " bps"),
      row("impact", null, trimDec(q.priceImpactPct, 4) + "%"),
      q.minOutAmount ? row("min out", q.minOutAmount, trimDec(q.minOutAmount, 6)) : null,
      row("pool", q.pool, q.pool),
    ),
  );
}

function quotes(block) {
  return h(
    "div",
    { className: "quotes-block" },
    h("div", { className: "section-title" }, h("span", null, block.title), block.quoteMs ? h("span", { className: "mono" }, "both in " + block.quoteMs + " ms") : null),
    h("div", { className: "quotes" }, block.items.map((item) => quoteCard(item, block.unit))),
  );
}

function route(r) {
  if (!r) return null;
  return h(
    "div",
    { className: "route" },
    h(
      "div",
      { className: "route-line" },
      r.path ? h("span", { className: "route-path", title: "path" }, r.path) : null,
      r.dex ? h("span", null, "via ", h("b", null, r.dex), r.pool ? [" ", h("span", { className: "mono muted" }, r.pool)] : null) : null,
    ),
    r.legs ? h("div", { className: "route-legs" }, r.legs.map((leg) => h("span", { className: "route-leg mono", title: leg.pool + " → " + leg.out }, leg.text))) : null,
    r.wrappedSol ? h("div", { className: "route-note" }, "◎ " + r.wrappedSol) : null,
    r.reason ? h("p", { className: "route-reason" }, r.reason) : null,
  );
}

function facts(m) {
  const f = m.facts;
  const p = m.pair;
  const fact = (label, exact, unit) =>
    h(
      "div",
      { className: "fact" },
      h("span", null, label),
      h("span", { className: "v", title: exact }, exact ? [trimDec(exact, 6) + " ", h("small", null, unit)] : "—"),
    );
  const tx = f.txHash
    ? h("span", { className: "v" }, h("span", { className: "tx-hash", title: f.txHash, dataset: { full: f.txHash } }, shortHash(f.txHash)))
    : h("span", { className: "v muted" }, "—");
  return h(
    "div",
    { className: "facts" },
    fact("filled", f.amountOut, p.tokenOut || ""),
    fact("price", f.price, (p.tokenOut || UNKNOWN) + "/" + (p.tokenIn || UNKNOWN)),
    fact("min out", f.minOut, p.tokenOut || ""),
    h("div", { className: "fact" }, h("span", null, "attempts"), h("span", { className: "v" }, String(m.attempts || 0))),
    h("div", { className: "fact fact-wide" }, h("span", null, "tx hash"), tx),
  );
}

function errors(items) {
  if (!items.length) return null;
  return h("ul", { className: "errors" }, items.map((item) => h("li", null, h("b", null, item.label), item.text)));
}

/** The children of an order's <article>, in the page's order. */
export function cardChildren(m) {
  return [header(m), meta(m), condition(m), timeline(m.timeline), quotes(m.quotes), route(m.route), facts(m), errors(m.errors)].filter(Boolean);
}
