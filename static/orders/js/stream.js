// The firehose (ws /api/orders/stream) and the HTTP backfill that covers what it missed.
//
// The socket reconnects by itself with jittered exponential back-off. A close 4410 ("fell
// behind", or events may have been lost) comes after a message naming `resumeAfter`: the
// next connection asks for ?after=<cursor> and the server replays what was missed; a
// null cursor means plain reconnect and reload over HTTP. Every open backfills from
// GET /api/orders. The WebSocket class, timers, clock and randomness are parameters so
// tests drive it with a fake socket and a manual clock.

export const BACKOFF_MIN_MS = 250;
export const BACKOFF_MAX_MS = 5000;
/** A second 4410 this soon after resuming waits its back-off: no tight resume loop. */
export const RESUME_GUARD_MS = 5000;

export function backoffDelay(attempt, random = Math.random, min = BACKOFF_MIN_MS, max = BACKOFF_MAX_MS) {
  const base = Math.min(max, min * 2 ** attempt);
  return Math.round(base * (0.8 + random() * 0.2));
}

export function streamUrl(location, resumeAfter) {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/orders/stream";
  return resumeAfter ? url + "?after=" + encodeURIComponent(resumeAfter) : url;
}

export class StreamConnection {
  constructor({
    location,
    WebSocketImpl = globalThis.WebSocket,
    onEvent,
    onOpen = () => {},
    onState = () => {},
    timers = globalThis,
    now = () => Date.now(),
    random = Math.random,
  }) {
    Object.assign(this, { location, WebSocketImpl, onEvent, onOpen, onState, timers, now, random });
    this.ws = null;
    this.state = "connecting"; // connecting | live | reconnecting | offline
    this.attempt = 0;
    this.timer = null;
    this.retryAt = 0;
    this.hold = false; // dropped on purpose: stay offline until reconnect()
    this.opened = false;
    this.lastError = null;
    this.resumeAfter = null;
    this.resumedAt = -Infinity;
    this.title = "WebSocket /api/orders/stream";
  }

  setState(state) {
    this.state = state;
    this.onState(this);
  }

  /** What the connection badge says. */
  text() {
    switch (this.state) {
      case "live":
        return "live";
      case "reconnecting": {
        if (this.ws) return "reconnecting…";
        const left = Math.max(0, this.retryAt - this.now());
        return (this.lastError ? "refused; " : "") + "reconnecting in " + (left / 1000).toFixed(1) + " s";
      }
      case "offline":
        return "offline";
      default:
        return "connecting…";
    }
  }

  connect() {
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.ws || this.hold) return;
    this.state = this.opened ? "reconnecting" : "connecting";
    const url = streamUrl(this.location, this.resumeAfter);
    this.resumeAfter = null;
    let ws;
    try {
      ws = new this.WebSocketImpl(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.setState(this.state);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.opened = true;
      this.lastError = null;
      this.title = "WebSocket " + url;
      this.setState("live");
      this.onOpen(); // whatever happened while we were away
    };
    ws.onmessage = (message) => {
      if (this.ws !== ws) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data && typeof data.error === "string" && !data.orderId) {
        if ("resumeAfter" in data) this.resumeAfter = data.resumeAfter; // close 4410 follows
        this.lastError = data.error; // e.g. the server's socket quota refusing us
        this.title = "server: " + data.error;
        this.onState(this);
        return;
      }
      this.onEvent(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.hold) this.setState("offline");
      else if (event.code === 4410 && this.resumeAfter && this.now() - this.resumedAt > RESUME_GUARD_MS) {
        this.resumedAt = this.now(); // at once, but not in a loop if the resume fails too
        this.connect();
      } else this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  scheduleReconnect() {
    this.timers.clearTimeout(this.timer);
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt++;
    this.retryAt = this.now() + delay;
    this.timer = this.timers.setTimeout(() => this.connect(), delay);
    this.setState("reconnecting");
  }

  /** Close the socket; with {hold: true} stay offline until reconnect(). */
  drop({ hold = false } = {}) {
    this.hold = hold;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(4000, "dropped by the page");
      } catch {
        /* already closing */
      }
    }
    if (hold) {
      this.timers.clearTimeout(this.timer);
      this.setState("offline");
    } else {
      this.scheduleReconnect();
    }
  }

  /** Connect now, forgetting any hold and back-off. */
  reconnect() {
    this.hold = false;
    this.attempt = 0;
    this.connect();
  }

  /** The browser is back online or visible: connect if nothing is under way. */
  wake() {
    if (!this.ws && !this.hold) this.connect();
  }
}

/**
 * The HTTP backfill, one run at a time: a run asked for while one is under way runs once
 * more after it. A failed run retries after `retryMs` while `shouldRetry()` holds.
 */
export class Backfill {
  constructor({ run, shouldRetry = () => true, onChange = () => {}, retryMs = 2000, timers = globalThis, now = () => Date.now() }) {
    Object.assign(this, { run, shouldRetry, onChange, retryMs, timers, now });
    this.running = false;
    this.again = false;
    this.failed = false;
    this.loadedOnce = false;
    this.lastSync = 0;
  }

  async trigger() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.onChange(this);
    try {
      await this.run();
      this.failed = false;
      this.loadedOnce = true;
      this.lastSync = this.now();
    } catch {
      this.failed = true;
      this.timers.setTimeout(() => {
        if (this.shouldRetry(this)) this.trigger();
      }, this.retryMs);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
      this.onChange(this);
    }
  }
}
