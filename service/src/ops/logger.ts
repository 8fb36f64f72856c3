// Structured logs: one JSON object per line per event. Callers pass only
// fields that are safe to log; `redact` is a second line of defence that drops
// any field whose name suggests a secret, whatever the caller passed.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const SECRET_FIELD = /pass(word)?|secret|token|code|verifier|cookie|authorization|csrf|assertion|credential/i;
// Field names that contain a secret-looking word but carry safe values.
const SAFE_FIELDS = new Set(['error_code', 'status_code', 'code_challenge_method', 'token_type', 'grant_type', 'errorCode']);

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_FIELD.test(k) && !SAFE_FIELDS.has(k) ? '[redacted]' : v;
  }
  return out;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l), minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, event, fields = {}) {
      if (order[level] < order[minLevel]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, event, ...redact(fields) }) + '\n');
    },
  };
}
