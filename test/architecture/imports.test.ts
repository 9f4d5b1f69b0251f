/**
 * The dependency direction of DESIGN.md / CONVENTIONS.md: cli → {jobs, online, audiences, models}
 * → policy → core. Reads every import of every TypeScript file and checks the folder table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const ALLOWED: Record<string, string[]> = {
  cli: ['cli', 'jobs', 'online', 'audiences', 'models', 'policy', 'core'],
  jobs: ['jobs', 'core', 'policy', 'models', 'audiences'],
  online: ['online', 'core', 'policy', 'models'],
  models: ['models', 'core'],
  policy: ['policy', 'core'],
  audiences: ['audiences', 'core', 'policy'],
  core: ['core'],
};
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram)$/;

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}
function imports(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

describe('architecture', () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only ${allowed.join(', ')}`, () => {
      const bad: string[] = [];
      for (const f of files(path.join(ROOT, folder))) {
        for (const spec of imports(f)) {
          if (!spec.startsWith('.')) continue;
          const target = path.relative(ROOT, path.resolve(path.dirname(f), spec)).split(path.sep)[0];
          if (!allowed.includes(target)) bad.push(`${path.relative(ROOT, f)} imports ${spec}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
  it('policy/ does no I/O', () => {
    const bad = files(path.join(ROOT, 'policy')).flatMap((f) => imports(f).filter((s) => IO_MODULES.test(s) || /ioredis|bullmq|duckdb|aws-sdk/.test(s)).map((s) => `${path.relative(ROOT, f)}: ${s}`));
    expect(bad).toEqual([]);
  });
  it('nothing imports cli/', () => {
    const bad: string[] = [];
    for (const folder of Object.keys(ALLOWED).filter((x) => x !== 'cli')) {
      for (const f of files(path.join(ROOT, folder))) for (const s of imports(f)) if (s.startsWith('.') && path.relative(ROOT, path.resolve(path.dirname(f), s)).startsWith('cli')) bad.push(f);
    }
    expect(bad).toEqual([]);
  });
});
