/** Flag parsers: each rejects a bad value with a message naming the flag and the rule. */
import { InvalidArgumentError } from 'commander';

export function intFlag(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

export function dateFlag(name: string) {
  return (v: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v) {
      throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got '${v}'`);
    }
    return v;
  };
}

export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}
