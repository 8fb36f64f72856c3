export declare function targetLines(rt: unknown, rows: unknown[], missed?: Set<string>): string;
