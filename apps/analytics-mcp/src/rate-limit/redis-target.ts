/** Where a REDIS_URL leads, as `host:port/db`, with no user name or password. */
export function describeRedis(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '') || '0';
    return `${u.protocol === 'rediss:' ? 'rediss' : 'redis'}://${u.hostname}:${u.port || '6379'}/${db}`;
  } catch {
    return '<unparsable REDIS_URL>';
  }
}
