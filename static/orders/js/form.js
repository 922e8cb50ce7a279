// The order form: token pickers that never show the same token twice, the order type
// with its price and expiry, the slippage hint, one or five submissions at once, and
// the engine's errors next to their fields.

import { describeErrors } from "./api.js";
import { trimDec } from "./decimal.js";
import { byId, h } from "./dom.js";

function typed(text) {
  const value = String(text).trim();
  return /^-?\d+$/.test(value) ? parseInt(value, 10) : value;
}

/** The body POST /api/orders/execute takes, from the form's fields. */
export function orderBody({ tokenIn, tokenOut, amount, slippage, orderType = "market", price = "", expiresInS = "" }) {
  const body = { tokenIn, tokenOut, amount: String(amount).trim(), slippageBps: typed(slippage) };
  if (orderType === "market") return body;
  body.orderType = orderType;
  if (orderType === "limit") {
    delete body.slippageBps; // the limit price is the bound
    body.limitPrice = String(price).trim();
  }
  if (orderType === "stop") body.stopPrice = String(price).trim();
  if (String(expiresInS).trim()) body.expiresInS = typed(expiresInS);
  return body;
}

/**
 * Wire the form. ``submitOrder(body)`` answers {status, ok, body}; ``onAccepted(summary)``
 * is called for every order the engine took.
 */
export function setupOrderForm({ submitOrder, onAccepted, quote = null }) {
  const el = {
    form: byId("order-form"),
    tokenIn: byId("token-in"),
    tokenOut: byId("token-out"),
    amount: byId("amount"),
    slippage: byId("slippage"),
    amountUnit: byId("amount-unit"),
    slippagePct: byId("slippage-pct"),
    swap: byId("swap-tokens"),
    orderType: byId("order-type"),
    price: byId("trigger-price"),
    priceField: byId("field-price"),
    priceLabel: byId("price-label"),
    priceUnit: byId("price-unit"),
    expiryField: byId("field-expiry"),
    expiresIn: byId("expires-in"),
    slippageField: byId("slippage").closest(".field"),
    submitOne: byId("submit-one"),
    submitFive: byId("submit-five"),
    errors: byId("form-errors"),
    status: byId("form-status"),
  };

  function clearErrors() {
    el.errors.textContent = "";
    el.form.querySelectorAll(".field-error").forEach((node) => {
      node.textContent = "";
      node.parentElement.classList.remove("has-error");
    });
  }

  function showErrors(res) {
    const { fields, general } = describeErrors(res);
    fields.forEach(([field, text]) => {
      const slot = el.form.querySelector('.field-error[data-error-for="' + CSS.escape(field) + '"]');
      if (slot) {
        slot.textContent = text;
        slot.parentElement.classList.add("has-error");
      } else {
        general.push((field === "non_field_errors" ? "" : field + ": ") + text);
      }
    });
    el.errors.textContent = general.join(" · ");
  }

  async function submit(count) {
    clearErrors();
    el.submitOne.disabled = true;
    el.submitFive.disabled = true;
    el.status.textContent = count > 1 ? "submitting " + count + " orders…" : "submitting…";
    const body = orderBody({
      tokenIn: el.tokenIn.value,
      tokenOut: el.tokenOut.value,
      amount: el.amount.value,
      slippage: el.slippage.value,
      orderType: el.orderType.value,
      price: el.price.value,
      expiresInS: el.expiresIn.value,
    });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: count }, () => submitOrder(body)));
    const ms = Math.round(performance.now() - started);
    let accepted = 0;
    let firstError = null;
    results.forEach((res) => {
      if (res.status === 201 && res.body && res.body.orderId) {
        accepted++;
        onAccepted(res.body);
      } else if (!firstError) {
        firstError = res;
      }
    });
    if (firstError) showErrors(firstError);
    el.status.replaceChildren();
    if (accepted) {
      el.status.append(h("span", { className: "ok" }, "✓ " + accepted + " order" + (accepted === 1 ? "" : "s") + " accepted"), " in " + ms + " ms");
    }
    el.submitOne.disabled = false;
    el.submitFive.disabled = false;
  }

  /** Show the fields the type takes; prefill a price with what the order would get now. */
  async function syncType() {
    const type = el.orderType.value;
    el.priceField.classList.toggle("field-hidden", type !== "limit" && type !== "stop");
    el.expiryField.classList.toggle("field-hidden", type === "market");
    el.slippageField.classList.toggle("field-hidden", type === "limit");
    el.priceLabel.textContent = type === "stop" ? "Stop price" : "Limit price";
    el.priceUnit.textContent = el.tokenOut.value + " per " + el.tokenIn.value;
    if ((type === "limit" || type === "stop") && !el.price.value.trim() && quote) {
      const res = await quote({ tokenIn: el.tokenIn.value, tokenOut: el.tokenOut.value, amount: el.amount.value.trim() });
      if (res.ok && res.body && res.body.price && !el.price.value.trim()) el.price.value = trimDec(res.body.price, 6);
    }
  }

  function syncHints() {
    el.amountUnit.textContent = el.tokenIn.value;
    el.priceUnit.textContent = el.tokenOut.value + " per " + el.tokenIn.value;
    const bps = Number(el.slippage.value);
    el.slippagePct.textContent = Number.isFinite(bps) && el.slippage.value !== "" ? (bps / 100).toFixed(2) + " %" : "";
  }

  let previous = { in: el.tokenIn.value, out: el.tokenOut.value };
  function onTokenChange(changed) {
    if (el.tokenIn.value === el.tokenOut.value) {
      if (changed === "in") el.tokenOut.value = previous.in;
      else el.tokenIn.value = previous.out;
    }
    previous = { in: el.tokenIn.value, out: el.tokenOut.value };
    syncHints();
    repriceTrigger();
  }

  /** Another pair: the prefilled price no longer means anything. */
  function repriceTrigger() {
    if (el.orderType.value !== "limit" && el.orderType.value !== "stop") return;
    el.price.value = "";
    syncType();
  }

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(1);
  });
  el.submitFive.addEventListener("click", () => submit(5));
  el.swap.addEventListener("click", () => {
    const a = el.tokenIn.value;
    el.tokenIn.value = el.tokenOut.value;
    el.tokenOut.value = a;
    previous = { in: el.tokenIn.value, out: el.tokenOut.value };
    syncHints();
    repriceTrigger();
  });
  el.tokenIn.addEventListener("change", () => onTokenChange("in"));
  el.tokenOut.addEventListener("change", () => onTokenChange("out"));
  el.slippage.addEventListener("input", syncHints);
  el.orderType.addEventListener("change", () => {
    el.price.value = "";
    syncType();
  });
  el.form.addEventListener("input", (event) => {
    const field = event.target.closest(".field");
    if (field && field.classList.contains("has-error")) {
      field.classList.remove("has-error");
      const slot = field.querySelector(".field-error");
      if (slot) slot.textContent = "";
    }
  });
  syncHints();
  syncType();

  /** The symbols the engine trades, as the page lists them. */
  return { tokens: Array.from(el.tokenIn.options, (option) => option.value) };
}
