import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../apps/analytics-mcp/src/config/app-config.js';
import { removeClusterData } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';

/** `npm run demo:reset`: removes the demo's data dir, and the PostgreSQL data a root-run demo keeps elsewhere. */
try {
  const dir = resolve(loadConfig().dataDir);
  await removeClusterData(join(dir, 'pg'));
  await rm(dir, { recursive: true, force: true });
  console.log(`removed ${dir}: the next npm start seeds a fresh demo database`);
} catch (err) {
  console.error(`demo:reset: ${err instanceof ConfigError || !(err instanceof Error) ? String(err) : err.message}`);
  process.exit(1);
}
