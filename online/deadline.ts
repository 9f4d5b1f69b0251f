/** Bounding a step by what is left of a request's deadline. */

export class Timeout extends Error {
  constructor(ms: number) {
    super(`timed out after ${Math.max(0, Math.round(ms))} ms`);
  }
}

/** `p`, or a Timeout rejection after `ms` (the work goes on; its result is ignored). */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) {
    p.catch(() => {});
    return Promise.reject(new Timeout(ms));
  }
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Timeout(ms)), ms);
    }),
  ]);
}
