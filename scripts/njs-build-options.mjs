// esbuild settings shared by every bundle that must run on njs (the nginx module and test bundles).

// Syntax the njs engine lacks up to 1.0.x and esbuild cannot lower: marking it
// unsupported makes any use a build error instead of a runtime SyntaxError in nginx.
// Optional chaining, logical assignment, object spread and optional catch
// binding are lowered by esbuild (njs < 0.9.6 lacks them).
export const NJS_SUPPORTED = {
  arrow: true, 'const-and-let': true, 'template-literal': true, 'async-await': true,
  'exponent-operator': true, 'rest-argument': true, 'nullish-coalescing': true,
  destructuring: false, 'for-of': false, 'array-spread': false, class: false, generator: false,
  'default-argument': false, 'optional-chain': false, 'object-rest-spread': false,
  'optional-catch-binding': false, 'logical-assignment': false, 'async-generator': false,
  'for-await': false, 'class-field': false, 'class-static-field': false,
  'class-private-field': false, 'class-private-method': false, 'class-static-blocks': false,
  bigint: false, 'new-target': false, 'top-level-await': false, 'regexp-named-capture-groups': false,
  'regexp-lookbehind-assertions': false, 'regexp-unicode-property-escapes': false,
  'regexp-sticky-and-unicode-flags': false, 'regexp-dot-all-flag': false,
  'regexp-match-indices': false, 'import-meta': false, 'dynamic-import': false,
};

// njs built-in modules stay imports.
export const NJS_EXTERNALS = ['fs', 'crypto', 'querystring', 'xml', 'zlib'];

// njs < 0.7.12 rejects `export { x as default }` ("Non-default export is not supported").
export function rewriteDefaultExport(code) {
  const re = /export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?/;
  if (!re.test(code)) throw new Error('njs bundle: expected `export { x as default }` from esbuild');
  return code.replace(re, 'export default $1;');
}

