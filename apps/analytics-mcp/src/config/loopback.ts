import { isIP } from 'node:net';

/**
 * Whether a bind address or host name is loopback, judged by address rather than by
 * spelling: 127.0.0.0/8, ::1 in any notation, IPv4-mapped loopback (::ffff:127.0.0.1,
 * ::ffff:7f00:1) and `localhost`. Brackets around IPv6 literals are accepted.
 */
export function isLoopback(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const kind = isIP(h);
  if (kind === 4) return h.split('.')[0] === '127';
  if (kind !== 6) return false;
  const groups = expandIpv6(h);
  if (!groups) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
  // IPv4-mapped (::ffff:a.b.c.d): loopback when the IPv4 part is 127/8.
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff && groups[6]! >> 8 === 127;
}

function expandIpv6(addr: string): number[] | null {
  let text = addr.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  return [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right].map((g) => parseInt(g || '0', 16));
}
