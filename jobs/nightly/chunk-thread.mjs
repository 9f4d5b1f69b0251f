// Entry of a chunk thread (chunk-thread-pool.ts): loads the TypeScript sources through tsx's
// loader in this thread too, then the thread's message loop.
import { register } from 'tsx/esm/api';
register();
await import('./chunk-thread.ts');
