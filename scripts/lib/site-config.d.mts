export declare const SITE_EXAMPLE: string;
export declare const EXAMPLE_SITE_ORIGIN: string;
export declare function siteConfig(o: {
  dir: string; module: string; qjs?: boolean; listen: string | number;
  upstreamPort: number; servicePort: number; origin: string; text?: string;
  stateDir?: string; listenHost?: string; user?: string; errorLog?: string;
}): string;
export declare const COMPOSE_SITE: {
  dir: string; stateDir: string; module: string; listen: number; listenHost: string; user: string; errorLog: string;
  upstreamPort: number; servicePort: number; origin: string;
};
