/**
 * A circuit breaker around Redis: after `failures` consecutive failures (errors or timeouts) it
 * opens, and requests take the fallback at once instead of waiting out a timeout each; after
 * `cooldownMs` one trial request goes through (half-open) and its result closes or re-opens it.
 * Pure state machine with an injectable clock.
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private st: CircuitState = 'closed';
  private trialInFlight = false;
  /** Times the breaker opened. */
  opens = 0;

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): CircuitState {
    if (this.st === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half_open';
    return this.st;
  }

  /** Whether a request may call Redis now (in half-open, only one trial at a time). */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Back to closed with no history (after the start-up warm-up). */
  reset(): void {
    this.consecutive = 0;
    this.trialInFlight = false;
    this.st = 'closed';
    this.opens = 0;
  }

  success(): void {
    this.consecutive = 0;
    this.trialInFlight = false;
    this.st = 'closed';
  }

  failure(): void {
    this.trialInFlight = false;
    this.consecutive++;
    if (this.st !== 'closed' || this.consecutive >= this.failures) {
      if (this.st === 'closed') this.opens++;
      this.st = 'open';
      this.openedAt = this.now();
    }
  }
}
