import type { AppConfig } from './config/app-config.js';
import { describeDatabase } from './config/describe-database.js';
import type { EmbeddedDemo } from './embedded/embedded-demo.js';
import { describeRedis } from './rate-limit/redis-target.js';

/** What a person needs to connect a client, printed once at start-up. */
export function printBanner(say: (line: string) => void, config: AppConfig, port: number, demo?: EmbeddedDemo): void {
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${port}/mcp`;
  say('');
  say(`analytics-mcp is listening: ${url}`);
  say(`  health: http://${host}:${port}/health/live  http://${host}:${port}/health/ready`);
  if (!demo) {
    say(`  database: ${describeDatabase(config.databaseUrl ?? '', process.env)}; callers: ${config.authTokens.map((t) => t.name).join(', ')}`);
    if (config.redisUrl) say(`  rate limits: shared by every replica through Redis at ${describeRedis(config.redisUrl)}`);
    return;
  }
  say(`  database: embedded demo PostgreSQL (${demo.positions} positions, data in ${demo.dataDir}/pg) as analytics_ro`);
  say('  reset the demo data: npm run demo:reset');
  const dev = config.authTokens.find((t) => t.name === 'dev');
  const token = dev && 'token' in dev ? dev.token : undefined;
  if (!token) {
    say(`  callers: ${config.authTokens.map((t) => t.name).join(', ')} (tokens from MCP_AUTH_TOKENS)`);
    return;
  }
  say(`  dev token (kept in ${demo.dataDir}/dev-token; set MCP_AUTH_TOKENS to use your own): ${token}`);
  say('');
  say('  Claude Code:');
  say(`    claude mcp add --transport http analytics ${url} --header "Authorization: Bearer ${token}"`);
  say('  Cursor / any client that takes a URL and headers (mcp.json):');
  say(`    ${JSON.stringify({ mcpServers: { analytics: { url, headers: { Authorization: `Bearer ${token}` } } } })}`);
  say('  Claude Desktop (claude_desktop_config.json, through the mcp-remote bridge):');
  say(
    `    ${JSON.stringify({ mcpServers: { analytics: { command: 'npx', args: ['-y', 'mcp-remote', url, '--header', `Authorization: Bearer ${token}`] } } })}`,
  );
  say('  MCP Inspector: npx @modelcontextprotocol/inspector  (transport "Streamable HTTP", the URL above, header Authorization)');
  say('');
}
