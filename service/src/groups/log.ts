// How the group sync logs: through the service's Logger (ops/logger.ts). Fields never carry
// passwords (bind passwords stay in config).
import { childLogger, jsonLogger, type Logger } from '../ops/logger.ts';

/** Default: warnings and errors as JSON lines on stderr. */
export const stderrLog: Logger = childLogger(jsonLogger((l) => process.stderr.write(l), 'warn'), { component: 'groups' });

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return code !== undefined ? `${e.name} (${String(code)}): ${e.message}` : `${e.name}: ${e.message}`;
  }
  return String(e);
}
