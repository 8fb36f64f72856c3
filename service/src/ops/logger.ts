// The one logger of the service: structured logs, one JSON object per line per event.
// Callers pass only fields that are safe to log; `redact` is a second line of defence
// that drops any field whose name suggests a secret, whatever the caller passed.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** What every layer logs through (HTTP, LDAP, group sync): an event name and safe fields. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A Logger whose four methods all go to `write(level, event, fields)`. */
export function levelLogger(write: (level: LogLevel, event: string, fields?: LogFields) => void): Logger {
  const [debug, info, warn, error] = LEVELS.map((level) => (event: string, fields?: LogFields) => write(level, event, fields));
  return { debug: debug!, info: info!, warn: warn!, error: error! };
}

/** A Logger that adds `base` (e.g. { component: 'ldap' }) before each event's own fields. */
export function childLogger(parent: Logger, base: LogFields): Logger {
  return levelLogger((level, event, fields) => parent[level](event, { ...base, ...fields }));
}

export const silentLogger: Logger = levelLogger(() => undefined);

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

/** JSON lines ({time, level, event, ...fields}) of minLevel and above, to `write` (stdout by default). */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l), minLevel: LogLevel = 'info'): Logger {
  const min = LEVELS.indexOf(minLevel);
  return levelLogger((level, event, fields = {}) => {
    if (LEVELS.indexOf(level) < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...redact(fields) }) + '\n');
  });
}
