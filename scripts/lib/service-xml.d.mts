export declare function serviceConfigXml(c: {
  server: { uris: string[]; login: string; password: string; groupDns: string[]; userSearchBase: string; userFilter: string };
  service: Record<string, string | number>;
  throttle?: Record<string, number>;
  groupSync?: Record<string, number>;
  clients: Array<{ id: string; redirectUri: string; grantTypes: string[]; scopes: string[] }>;
}): string;
