// The logger shape the group sync uses; any pino/console-like object with these
// methods fits. Fields never carry passwords (bind passwords stay in config).
export interface GroupLog {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function line(level: string, msg: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), level, component: 'groups', msg, ...fields }) + '\n';
}

/** Default: warnings and errors as JSON lines on stderr. */
export const stderrLog: GroupLog = {
  info() {},
  warn(msg, fields) {
    process.stderr.write(line('warn', msg, fields));
  },
  error(msg, fields) {
    process.stderr.write(line('error', msg, fields));
  },
};

export const silentLog: GroupLog = { info() {}, warn() {}, error() {} };

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return code !== undefined ? `${e.name} (${String(code)}): ${e.message}` : `${e.name}: ${e.message}`;
  }
  return String(e);
}
