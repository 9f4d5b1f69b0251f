#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader: no build step, so `npx paydecide` works right after `npm ci`.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
