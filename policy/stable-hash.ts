/**
 * A small, portable, deterministic string hash (MurmurHash3 x86 32-bit over the UTF-8 bytes)
 * used where the policy needs a stable pseudo-random
 * number per user: holdouts (the same user stays in or out across days and runs) and
 * exploration draws (a rerun of a night draws the same). Pure; the online service and the
 * nightly get the same value for the same input.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const encoder = new TextEncoder();

/** MurmurHash3 (x86, 32-bit) of the UTF-8 bytes of `s` with `seed`; an unsigned 32-bit integer. */
export function murmur3(s: string, seed = 0): number {
  const bytes = encoder.encode(s);
  const n = bytes.length;
  let h = seed >>> 0;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2] << 16;
    if (tail >= 2) k ^= bytes[blocks + 1] << 8;
    k ^= bytes[blocks];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) determined by `parts` (joined with a separator that ids do not contain). */
export function unitHash(...parts: (string | number)[]): number {
  return murmur3(parts.join('\u001f')) / 4294967296;
}
