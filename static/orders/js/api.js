// The engine's HTTP API as the page uses it. Every call resolves to {status, ok, body}:
// status 0 when the engine could not be reached, body null when the answer was not JSON.
// `fetchImpl` is a parameter so tests run it under Node with a fake.

export function apiClient(fetchImpl = (...args) => globalThis.fetch(...args)) {
  async function request(path, init = {}) {
    const options = { cache: "no-store", ...init, headers: { Accept: "application/json", ...(init.headers || {}) } };
    let response;
    try {
      response = await fetchImpl(path, options);
    } catch {
      return { status: 0, ok: false, body: null };
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, ok: !!response.ok, body };
  }

  return {
    /** GET /api/orders: the newest orders' summaries, newest first. */
    listOrders: (pageSize) => request("/api/orders?pageSize=" + encodeURIComponent(pageSize)),
    /** GET /api/orders/<id>: the summary with the whole timeline in `events`. */
    orderDetail: (orderId) => request("/api/orders/" + encodeURIComponent(orderId)),
    stats: () => request("/api/orders/stats"),
    tokens: () => request("/api/tokens"),
    /** GET /api/quote: what the order would get now (its executable price). */
    quote: ({ tokenIn, tokenOut, amount }) =>
      request("/api/quote?" + new URLSearchParams({ tokenIn, tokenOut, amount }).toString()),
    cancelOrder: (orderId) => request("/api/orders/" + encodeURIComponent(orderId) + "/cancel", { method: "POST" }),
    marketMove: (body) => postJSON("/api/market/move", body),
    marketLaunch: (body) => postJSON("/api/market/launch", body),
    submitOrder: (body) => postJSON("/api/orders/execute", body),
  };

  function postJSON(path, body) {
    return request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }
}

function flatten(value) {
  if (Array.isArray(value)) return value.map(flatten).join(" ");
  if (value && typeof value === "object") {
    return Object.keys(value)
      .map((key) => key + ": " + flatten(value[key]))
      .join(" ");
  }
  return String(value);
}

/**
 * An error answer in the API's two shapes ({"errors": {field: [...]}} and
 * {"error": "..."}): `fields` as [field, text] pairs, `general` for what names no field.
 */
export function describeErrors(res) {
  const body = (res && res.body) || {};
  const fields = [];
  const general = [];
  if (body.errors && typeof body.errors === "object") {
    for (const field of Object.keys(body.errors)) fields.push([field, flatten(body.errors[field])]);
  } else if (body.error) {
    general.push(String(body.error));
  } else {
    general.push(res && res.status ? "the engine answered HTTP " + res.status : "the engine is unreachable");
  }
  return { fields, general };
}
