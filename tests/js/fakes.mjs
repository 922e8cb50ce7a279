// Test doubles shared by the page-module tests: a manual clock with timers, a socket.

export class FakeTimers {
  constructor(start = 1_000_000) {
    this.time = start;
    this.queue = new Map(); // id -> {at, fn}
    this.nextId = 1;
  }

  now = () => this.time;

  setTimeout = (fn, ms = 0) => {
    const id = this.nextId++;
    this.queue.set(id, { at: this.time + ms, fn });
    return id;
  };

  clearTimeout = (id) => {
    this.queue.delete(id);
  };

  /** Delays of the timers still due, soonest first. */
  pending() {
    return Array.from(this.queue.values(), (t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Move the clock forward by ``ms``, firing what falls due in order. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      this.queue.forEach((t, id) => {
        if (t.at <= end && (next === null || t.at < this.queue.get(next).at)) next = id;
      });
      if (next === null) break;
      const { at, fn } = this.queue.get(next);
      this.queue.delete(next);
      this.time = at;
      fn();
    }
    this.time = end;
  }
}

/** Lets promise callbacks queued so far run. */
export async function settle(rounds = 10) {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export class FakeSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.closed = null;
    FakeSocket.instances.push(this);
  }

  static reset() {
    FakeSocket.instances = [];
  }

  static last() {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  open() {
    this.onopen && this.onopen({});
  }

  receive(data) {
    this.onmessage && this.onmessage({ data: typeof data === "string" ? data : JSON.stringify(data) });
  }

  /** The server closed it. */
  serverClose(code) {
    this.onclose && this.onclose({ code });
  }

  close(code, reason) {
    this.closed = { code, reason };
  }
}

export function event(orderId, seq, status, extra = {}) {
  const at = new Date(Date.UTC(2026, 0, 1, 10, 0, 0, seq * 100)).toISOString();
  return { orderId, seq, status, at, attempt: 1, dex: null, quotes: null, amountOut: null, executedPrice: null, txHash: null, error: null, details: {}, ...extra };
}
