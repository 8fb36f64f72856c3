// The parts of the test harness the edge benchmark reuses, bundled by bench/edge/run.mjs
// with esbuild into node_modules/.cache/bench-edge/harness.mjs (plain Node cannot import .ts).
export { startNginx, runtimeTempDir, freePort, type NginxInstance } from '../../test/harness/nginx.ts';
export { getRuntime, runtimeArgv, RUNTIME_IDS, type Runtime, type RuntimeId } from '../../test/harness/runtimes.ts';
export { generateTestKeys, signJwt, jwksText, publicJwk, b64u, nowSeconds, type TestKeys, type Alg } from '../../test/harness/tokens.ts';
export { rawRequest } from '../../test/harness/raw-http.ts';
export { startSlapd } from '../../test/harness/slapd.ts';
