import type { JSONRPCMessage } from '@modelcontextprotocol/server';

const INVALID_PARAMS = -32602;
const MAX_MESSAGE = 300;

interface Issue {
  path?: (string | number)[];
  message?: string;
}

/**
 * The SDK reports malformed params (e.g. tools/call without `name`) as -32602 with the
 * schema library's issue list pretty-printed into the message. Clients show that message
 * to people and models, so it is rewritten as one short line per issue:
 * `Invalid tools/call request: name: Invalid input: expected string, received undefined`.
 */
export function shortenInvalidParams<T extends JSONRPCMessage>(message: T): T {
  const error = (message as { error?: { code?: number; message?: unknown } }).error;
  if (!error || error.code !== INVALID_PARAMS || typeof error.message !== 'string') return message;
  const short = shortMessage(error.message);
  return short === error.message ? message : ({ ...message, error: { ...error, message: short } } as T);
}

export function shortMessage(text: string): string {
  const at = text.indexOf(': [');
  if (at > 0) {
    let issues: unknown;
    try {
      issues = JSON.parse(text.slice(at + 2));
    } catch {
      issues = undefined;
    }
    if (Array.isArray(issues) && issues.length > 0) {
      const parts = (issues as Issue[]).map((i) => {
        const path = (i.path ?? []).filter((p, n) => !(n === 0 && p === 'params')).join('.');
        return `${path || 'params'}: ${i.message ?? 'invalid'}`;
      });
      text = `${text.slice(0, at)}: ${parts.join('; ')}`;
    }
  }
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}
