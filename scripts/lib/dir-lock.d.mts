export declare function pidAlive(pid: number): boolean;
export declare function withDirLock<T>(lock: string, o: { timeoutMs: number; pollMs?: number; done?: () => boolean }, fn: () => Promise<T>): Promise<T | undefined>;
