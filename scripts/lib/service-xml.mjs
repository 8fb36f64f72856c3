// The service's XML configuration written from plain values, for the tests and benchmarks
// that start the built service (dist/service/main.js) the way an operator does. Elements
// appear in the order given, which must be the schema's (service/src/config/schema.ts:
// every sequence is strict); values are escaped.

const escape = (v) => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `<name>value</name>` per entry (an array value repeats the element), each on its own line. */
function elements(indent, fields) {
  return Object.entries(fields).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => `${indent}<${name}>${escape(v)}</${name}>`));
}

/**
 * @param {object} c
 * @param {{ uris: string[], login: string, password: string, groupDns: string[], userSearchBase: string, userFilter: string }} c.server
 * @param {Record<string, string | number>} c.service  children of <service>, in schema order
 * @param {Record<string, number>} [c.throttle]
 * @param {Record<string, number>} [c.groupSync]
 * @param {Array<{ id: string, redirectUri: string, grantTypes: string[], scopes: string[] }>} c.clients
 * @returns {string}
 */
export function serviceConfigXml(c) {
  const s = c.server;
  const section = (name, fields) => (fields === undefined ? [] : [`  <${name}>`, ...elements('    ', fields), `  </${name}>`]);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ldapConfig>',
    '  <ldapServer>',
    ...elements('    ', { uri: s.uris, login: s.login, password: s.password }),
    `    <dnList>${s.groupDns.map((dn) => `<dn>${escape(dn)}</dn>`).join('')}</dnList>`,
    ...elements('    ', { userSearchBase: s.userSearchBase, userFilter: s.userFilter }),
    '  </ldapServer>',
    ...section('service', c.service),
    ...section('throttle', c.throttle),
    ...section('groupSync', c.groupSync),
    '  <clients>',
    ...c.clients.flatMap((client) => [
      '    <client>',
      ...elements('      ', { id: client.id, redirectUri: client.redirectUri, grantType: client.grantTypes, scope: client.scopes }),
      '    </client>',
    ]),
    '  </clients>',
    '</ldapConfig>',
    '',
  ].join('\n');
}
