/**
 * Currencies the product accepts and their fixed conversion rates (units per USD). The synthetic
 * world's generator (sql/gen/setup.sql) uses the same rates, so an online request's amount is
 * converted exactly as the decision log's `ctx_amount_usd` was. A production deployment would
 * load daily rates; the contract (amount / units-per-USD) stays.
 */
export const FX_PER_USD: Readonly<Record<string, number>> = Object.freeze({ USD: 1, EUR: 0.92, GBP: 0.79, CAD: 1.36, MXN: 17.1, BRL: 5 });
export const CURRENCIES: readonly string[] = Object.freeze(Object.keys(FX_PER_USD));

/** Amount in `currency` → USD; undefined for an unknown currency. */
export function toUsd(amount: number, currency: string): number | undefined {
  const r = FX_PER_USD[currency];
  return r === undefined ? undefined : amount / r;
}
