export declare const WHY_MISSED: { kinds: string[]; title: string; why: string[] }[];
export declare function whyMissedSection(kinds: Set<string> | null): string;
