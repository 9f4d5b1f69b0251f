/**
 * Refuses anything that looks like a raw card number (PAN): a run of 13-19 digits, optionally
 * grouped by single spaces or dashes, bounded by non-digits, that passes the Luhn check, in any
 * string or number anywhere in a request body (field names included). The design allows only
 * tokens of payment instruments into the system; a request carrying a PAN is refused with its
 * own error code, and neither the value nor the body is ever logged. Pure.
 */

const CANDIDATE = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;

/** True when the digits pass the Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** True when `s` contains a Luhn-valid 13-19 digit run. */
export function containsPan(s: string): boolean {
  if (s.length < 13) return false;
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(s); m !== null; m = CANDIDATE.exec(s)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) return true;
  }
  return false;
}

/**
 * The JSON-pointer path of the first field whose value (or name) holds a PAN, or null. Walks
 * at most `maxNodes` values so a hostile body cannot make the scan expensive.
 */
export function findPan(body: unknown, maxNodes = 10_000): string | null {
  let budget = maxNodes;
  const walk = (v: unknown, at: string): string | null => {
    if (--budget < 0) return null;
    if (typeof v === 'string') return containsPan(v) ? at || '/' : null;
    if (typeof v === 'number') return Number.isFinite(v) && containsPan(String(Math.trunc(Math.abs(v)))) ? at || '/' : null;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const r = walk(v[i], `${at}/${i}`);
        if (r) return r;
      }
      return null;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const here = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (containsPan(k)) return here;
        const r = walk(x, here);
        if (r) return r;
      }
    }
    return null;
  };
  return walk(body, '');
}
