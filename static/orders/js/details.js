// Fetches of GET /api/orders/<id>, bounded so that no flood on the firehose turns into a
// flood of requests from every open tab: at most `concurrency` at once, one per order (a
// request for an order already waiting or loading is folded into it), at most
// `maxQueued` waiting. Beyond that the oldest waiting request is dropped: its card keeps
// what the stream gave, and a later gap or quiet check asks again. Urgent requests
// (orders still running) go first, the newest first. No DOM: tests drive it under Node.

export const RETRY_MAX_TRIES = 6;

/** Delay before retry number `tries` (1, 2, …) of a failed load. */
export function retryDelayMs(tries) {
  return Math.min(5000, 250 * 2 ** Math.max(0, tries - 1));
}

export class DetailFetcher {
  /**
   * load(id) resolves to "ok", "gone" (the page let the order go) or "retry" (a transient
   * failure, or a history that still has a gap); a rejection counts as "retry".
   * needed(id) says whether the order still lacks its history.
   */
  constructor({ load, needed = () => true, concurrency = 6, maxQueued = 64, timers = globalThis, onChange = () => {} }) {
    Object.assign(this, { load, needed, concurrency, maxQueued, timers, onChange });
    this.queued = new Map(); // id -> urgent, oldest first
    this.loading = new Map(); // id -> {again, cancelled}
    this.retries = new Map(); // id -> {tries, timer}: failed loads waiting to try again
    this.dropped = 0;
  }

  /** Loads running plus waiting: what the sync note counts. */
  get pending() {
    return this.loading.size + this.queued.size;
  }

  busy(id) {
    return this.queued.has(id) || this.loading.has(id) || this.retries.has(id);
  }

  request(id, urgent = false) {
    const loading = this.loading.get(id);
    if (loading) {
      loading.again = true;
      loading.cancelled = false;
      return;
    }
    const retry = this.retries.get(id);
    if (retry && retry.timer !== null) return; // its retry is already scheduled
    if (this.queued.has(id)) {
      if (!urgent || this.queued.get(id)) return;
      this.queued.delete(id); // promoted: now the newest urgent one
    }
    this.queued.set(id, urgent);
    while (this.queued.size > this.maxQueued) this.dropOldest();
    this.pump();
  }

  /** The page let the order go: forget every request for it. */
  cancel(id) {
    this.queued.delete(id);
    const loading = this.loading.get(id);
    if (loading) loading.cancelled = true;
    const retry = this.retries.get(id);
    if (retry && retry.timer !== null) this.timers.clearTimeout(retry.timer);
    this.retries.delete(id);
    this.onChange();
  }

  dropOldest() {
    let victim = null;
    for (const [id, urgent] of this.queued) {
      if (!urgent) {
        victim = id;
        break;
      }
      if (victim === null) victim = id;
    }
    this.queued.delete(victim);
    this.retries.delete(victim);
    this.dropped++;
  }

  next() {
    let newestUrgent = null;
    let oldestNormal = null;
    for (const [id, urgent] of this.queued) {
      if (urgent) newestUrgent = id;
      else if (oldestNormal === null) oldestNormal = id;
    }
    return newestUrgent !== null ? newestUrgent : oldestNormal;
  }

  pump() {
    while (this.loading.size < this.concurrency && this.queued.size) {
      const id = this.next();
      this.queued.delete(id);
      const state = { again: false, cancelled: false };
      this.loading.set(id, state);
      // Deferred: whoever asked finishes first (a prune right after must win).
      Promise.resolve()
        .then(() => (state.cancelled ? "gone" : this.load(id)))
        .catch(() => "retry")
        .then((outcome) => this.finish(id, state, outcome));
    }
    this.onChange();
  }

  finish(id, state, outcome) {
    this.loading.delete(id);
    if (!state.cancelled) {
      if (outcome === "retry") this.retryLater(id);
      else this.retries.delete(id);
      if (outcome !== "gone" && state.again && !this.retries.has(id) && this.needed(id)) this.request(id, true);
    }
    this.pump();
  }

  retryLater(id) {
    const retry = this.retries.get(id) || { tries: 0, timer: null };
    retry.tries++;
    if (retry.tries > RETRY_MAX_TRIES) {
      this.retries.delete(id);
      return;
    }
    retry.timer = this.timers.setTimeout(() => {
      retry.timer = null;
      if (this.retries.get(id) !== retry) return;
      if (this.needed(id)) this.request(id, false);
      else this.retries.delete(id);
    }, retryDelayMs(retry.tries));
    this.retries.set(id, retry);
  }
}
