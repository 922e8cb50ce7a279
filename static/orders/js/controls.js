// The simulated market's operator controls on the page (POST /api/market/move and
// /launch, the same as `manage.py market`), so a demo can make triggers happen.

import { describeErrors } from "./api.js";
import { byId, h } from "./dom.js";

export function setupMarketControls({ api }) {
  const panel = byId("market-panel");
  if (!panel) return null; // ENGINE_MARKET_CONTROLS is off
  const result = byId("market-result");
  const launchSymbol = byId("launch-symbol");

  function say(res) {
    if (res.ok && res.body) {
      result.textContent = "✓ " + res.body.changed;
      return;
    }
    const { fields, general } = describeErrors(res);
    result.textContent = "✗ " + [...fields.map(([field, text]) => field + ": " + text), ...general].join(" · ");
  }

  /** Only tokens with no pool yet can be launched. */
  async function refreshLaunchable() {
    const res = await api.tokens();
    if (!res.ok || !Array.isArray(res.body)) return;
    const launchable = res.body.filter((token) => !token.trading).map((token) => token.symbol);
    launchSymbol.replaceChildren(...launchable.map((symbol) => h("option", { value: symbol }, symbol)));
    launchSymbol.disabled = byId("launch-pool").disabled = launchable.length === 0;
    if (!launchable.length) launchSymbol.append(h("option", null, "every token trades"));
  }

  panel.addEventListener("click", async (event) => {
    const move = event.target.closest("[data-move]");
    if (move) {
      say(await api.marketMove({ symbol: byId("move-symbol").value, percent: move.dataset.move }));
      return;
    }
    if (event.target.closest("#launch-pool")) {
      say(await api.marketLaunch({ symbol: launchSymbol.value, dex: byId("launch-dex").value }));
      refreshLaunchable();
    }
  });
  refreshLaunchable();
  return { refreshLaunchable };
}
