// Types for scripts/test-watchdog.mjs (used by vitest.config.ts and tests).
export const DEFAULT_FILE_TIMEOUT_S: number;
export function fileTimeoutSeconds(env?: Record<string, string | undefined>): number;
export function workerExecArgv(outputDir: string): string[];
export function descendants(pid: number): number[];
export function nodeChildren(pid: number): number[];
export function dumpStacks(pids: number[], outputDir: string, options?: { reports?: boolean }): Promise<string[]>;
export function killAll(pids: number[]): void;
export function readWatchdogVerdict(outputDir: string): { passed: number; failed: number; skipped: number; stuck: string[]; limitSeconds: number } | null;
export default class FileWatchdog {
  constructor(options?: { limitSeconds?: number; outputDir?: string });
}
