export declare const LABEL_INPUTS: string;
export declare function debianMirror(): string;
export declare function ensureDebianBase(suite: string, dockerHost: string): Promise<string>;
export declare function ensureDerivedImage(o: { repo: string; dockerfile: string; base: string; alias?: string; files?: Record<string, string> }, dockerHost: string): Promise<string>;
export declare const SLAPD_DOCKERFILE: string;
export declare const COMPOSE_BASES: Record<"node" | "nginx" | "redis" | "debian", { suite: string; alias: string; dockerfile: string; hostCa?: boolean }>;
export declare function hostCaCertificates(): Record<string, string>;
export declare function ensureSlapdImage(dockerHost: string): Promise<string>;
export declare function ensureComposeBases(dockerHost: string): Promise<Record<string, string>>;
