import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
export interface Identity { user: string | null; groups: string[]; oids: string[] }
export interface UpstreamRequest { method: string; url: string; headers: IncomingHttpHeaders; identity: Identity }
export declare function identityOf(req: IncomingMessage): Identity;
export declare function startUpstream(o?: { host?: string; port?: number }): Promise<{ port: number; requests: UpstreamRequest[]; close(): Promise<void> }>;
