import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import pino from 'pino';
import type { AppConfig } from '../config/app-config.js';

/** Whether logs written to `fd` are for a person (pino-pretty) or for a collector (JSON lines). */
export function isPretty(format: AppConfig['logFormat'], fd: number): boolean {
  return format === 'pretty' || (format === 'auto' && isatty(fd));
}

/**
 * Where pino writes. Synchronous, so that start-up lines are out before the banner that
 * follows them and nothing is lost when the process exits; a log line per tool call
 * costs one write either way.
 */
export function createLogStream(format: AppConfig['logFormat'], fd: 1 | 2): pino.DestinationStream {
  const dest = pino.destination({ dest: fd, sync: true });
  if (!isPretty(format, fd)) return dest;
  // Loaded only for a person's terminal: a JSON-logging production boot never needs it.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const prettify = prettyFactory({
    colorize: isatty(fd),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
  return { write: (line: string) => void dest.write(prettify(line)) };
}
