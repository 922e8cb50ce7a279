// Display helpers: times and durations, short hashes, the server's clock.

function pad(n, width) {
  return String(n).padStart(width, "0");
}

export function parseTime(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : null;
}

/** Local wall-clock time with milliseconds: 10:47:01.979 */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return Math.max(0, Math.round(ms)).toLocaleString("en-US") + " ms";
}

export function shortHash(hash) {
  if (!hash) return "";
  return hash.length > 16 ? hash.slice(0, 6) + "…" + hash.slice(-6) : hash;
}

/** The server's clock as seen from here: the smallest (browser − event time) seen so far. */
export class Clock {
  constructor(now = () => Date.now()) {
    this.now = now;
    this.skewMs = null;
  }

  note(iso) {
    const at = parseTime(iso);
    if (at === null) return;
    const skew = this.now() - at;
    this.skewMs = this.skewMs === null ? skew : Math.min(this.skewMs, skew);
  }

  serverNow() {
    return this.now() - (this.skewMs || 0);
  }
}
