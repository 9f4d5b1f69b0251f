/**
 * Remapping a payment state to a new row order (users matched by id between nights) keeps each
 * user's state and the merchant pairs sorted, whatever the permutation (a changed slot count
 * reorders every row); users gone are dropped, new ones start empty.
 */
import { describe, expect, it } from 'vitest';
import { emptyPairs, PaymentState } from '../../core/payment-state';

function stateWithPairs(n: number): PaymentState {
  const st = new PaymentState(n, 20_000);
  const p = emptyPairs(n * 2);
  for (let u = 0; u < n; u++) {
    for (let k = 0; k < 2; k++) {
      const i = u * 2 + k;
      p.ri[i] = u;
      p.mh[i] = 7;
      p.ml[i] = k * 100 + u;
      p.day[i] = 19_990 + u;
    }
    st.maxV[u * 4] = u * 10;
  }
  p.length = n * 2;
  st.setPairs(p, false);
  return st;
}

describe('PaymentState.remap', () => {
  it('follows users through a shuffled row order and re-sorts the pairs', () => {
    const n = 50;
    const st = stateWithPairs(n);
    // reversed order, user 3 gone, one new row at the end
    const newRow = Int32Array.from({ length: n }, (_, u) => (u === 3 ? -1 : n - 1 - u));
    const r = st.remap(n + 1, newRow);
    for (let u = 0; u < n; u++) if (u !== 3) expect(r.maxV[newRow[u] * 4]).toBe(u * 10);
    expect(Number.isNaN(r.maxV[n * 4])).toBe(true);
    expect(r.pairs.length).toBe((n - 1) * 2);
    for (let i = 1; i < r.pairs.length; i++) {
      const a = r.pairs.ri[i - 1];
      const b = r.pairs.ri[i];
      expect(a < b || (a === b && r.pairs.ml[i - 1] < r.pairs.ml[i])).toBe(true);
    }
    // each pair still carries its user's day
    for (let i = 0; i < r.pairs.length; i++) {
      const oldUser = newRow.indexOf(r.pairs.ri[i]);
      expect(r.pairs.day[i]).toBe(19_990 + oldUser);
    }
  });
});
