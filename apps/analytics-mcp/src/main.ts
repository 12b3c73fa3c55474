// The entry point: V8's heap settings first, then the server. The server's modules are
// imported only afterwards, so they are parsed and loaded under those settings
// (runtime/node-flags.ts), and date formatters they build on import are built on first
// use instead (runtime/deferred-date-time-format.ts).
import './runtime/apply-runtime-flags.js';
import { withDeferredDateTimeFormats } from './runtime/deferred-date-time-format.js';

await withDeferredDateTimeFormats(() => import('./start.js'));
