/**
 * Load shedding: when the event loop lags (the process is saturated) or too many decisions are
 * in flight, new requests get the fail-open answer at once instead of queueing behind work that
 * would miss its deadline anyway. Lag is sampled by a timer that should fire every `intervalMs`:
 * how late it last fired is the lag; while the timer is overdue, how overdue it is counts too,
 * so a loop blocked right now sheds at once. One slow tick (a GC pause, a first-call compile)
 * sheds only the requests that arrive behind it.
 */
export class LoadShedder {
  private last = performance.now();
  private lastLag = 0;
  private timer: NodeJS.Timeout | undefined;
  inflight = 0;

  constructor(
    private readonly maxLagMs: number,
    private readonly maxInflight: number,
    private readonly intervalMs = 5,
  ) {}

  start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - this.last - this.intervalMs);
      this.last = now;
      this.lastLag = lag;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Current lag estimate, ms: the last sample, or how overdue the sampler is now if more. */
  get lagMs(): number {
    return Math.max(performance.now() - this.last - this.intervalMs, this.lastLag);
  }

  /** The reason to shed this request, or null to serve it. */
  shouldShed(): 'overload' | null {
    if (this.inflight >= this.maxInflight) return 'overload';
    if (this.timer && this.lagMs > this.maxLagMs) return 'overload';
    return null;
  }
}
