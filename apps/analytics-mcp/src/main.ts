// The entry point: V8's heap settings first, then the server. The server's modules are
// imported only afterwards, so they are parsed and loaded under those settings
// (runtime/node-flags.ts).
import './runtime/apply-runtime-flags.js';

await import('./start.js');
