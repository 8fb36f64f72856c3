// service/config.xsd and the TypeScript schema (service/src/config/schema.ts)
// describe the same elements; documents valid for one are valid for the other.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { walkSchema } from '../../../../service/src/config/schema.ts';
import { renderXsd } from '../../../../service/src/config/xsd.ts';
import { loadConfigFromString } from '../../../../service/src/config/load.ts';
import { ConfigError } from '../../../../service/src/config/errors.ts';

const XSD_PATH = fileURLToPath(new URL('../../../../service/config.xsd', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../../fixtures/config/${name}`, import.meta.url));

type XsdNode = Record<string, unknown>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Element paths with occurrence bounds, read from the XSD file itself. */
function xsdElements(): Map<string, { min: number; max: number }> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => name === 'xs:element' });
  const doc = parser.parse(readFileSync(XSD_PATH, 'utf8')) as XsdNode;
  const out = new Map<string, { min: number; max: number }>();
  const visit = (el: XsdNode, prefix: string): void => {
    const name = el['@name'] as string;
    const p = prefix ? `${prefix}/${name}` : name;
    const max = el['@maxOccurs'] === 'unbounded' ? Infinity : Number(el['@maxOccurs'] ?? 1);
    out.set(p, { min: Number(el['@minOccurs'] ?? 1), max });
    const seq = (el['xs:complexType'] as XsdNode | undefined)?.['xs:sequence'] as XsdNode | undefined;
    for (const child of asArray(seq?.['xs:element'] as XsdNode[] | undefined)) visit(child, p);
  };
  for (const root of asArray((doc['xs:schema'] as XsdNode)['xs:element'] as XsdNode[])) visit(root, '');
  return out;
}

describe('config.xsd', () => {
  it('is exactly what renderXsd() produces from the TypeScript schema', () => {
    // After changing schema.ts: UPDATE_CONFIG_XSD=1 npx vitest run --project unit test/unit/service/config/xsd
    if (process.env.UPDATE_CONFIG_XSD === '1') writeFileSync(XSD_PATH, renderXsd());
    expect(readFileSync(XSD_PATH, 'utf8')).toBe(renderXsd());
  });

  it('every XSD element is in the TS schema with the same bounds, and vice versa', () => {
    const fromXsd = xsdElements();
    const fromTs = new Map(walkSchema().map(({ path: p, def }) => [p, { min: p === 'ldapConfig' ? 1 : def.minOccurs, max: p === 'ldapConfig' ? 1 : def.maxOccurs }]));
    expect(fromXsd.size).toBeGreaterThan(40);
    for (const [p, occ] of fromXsd) expect(fromTs.get(p), p).toEqual(occ);
    expect([...fromTs.keys()].sort()).toEqual([...fromXsd.keys()].sort());
  });

  it('keeps the original schema as its core: uri, login, password, dnList/dn required in that order', () => {
    const paths = [...xsdElements().keys()];
    const server = paths.filter((p) => /^ldapConfig\/ldapServer\/[^/]+$/.test(p)).map((p) => p.split('/')[2]);
    expect(server.slice(0, 4)).toEqual(['uri', 'login', 'password', 'dnList']);
    const xsd = xsdElements();
    // Several <uri> are replicas of one directory; one <uri> is the original form.
    expect(xsd.get('ldapConfig/ldapServer/uri')).toEqual({ min: 1, max: Infinity });
    for (const p of ['ldapConfig/ldapServer/login', 'ldapConfig/ldapServer/password', 'ldapConfig/ldapServer/dnList']) {
      expect(xsd.get(p)).toEqual({ min: 1, max: 1 });
    }
    expect(xsd.get('ldapConfig/ldapServer')).toEqual({ min: 1, max: Infinity });
    expect(xsd.get('ldapConfig/ldapServer/dnList/dn')).toEqual({ min: 1, max: Infinity });
    // Everything beyond the original elements is optional.
    for (const [p, occ] of xsd) {
      if (!/^ldapConfig(\/ldapServer(\/(uri|login|password|dnList(\/dn)?))?)?$/.test(p) && !p.startsWith('ldapConfig/clients/client/')) {
        expect(occ.min, p).toBe(0);
      }
    }
  });
});

describe('xmllint agrees with loadConfig (libxml2-utils)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ljwt-xsd-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const xmllintOk = (file: string, xsd = XSD_PATH): boolean =>
    spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' }).status === 0;

  it('the example files are valid for config.xsd, and original-format.xml for the original XSD verbatim', () => {
    expect(xmllintOk(fixture('original-format.xml'))).toBe(true);
    expect(xmllintOk(fixture('full.xml'))).toBe(true);
    expect(xmllintOk(fixture('original-format.xml'), fixture('original-format.xsd'))).toBe(true);
    // The original XSD rejects the extensions: full.xml really uses them.
    expect(xmllintOk(fixture('full.xml'), fixture('original-format.xsd'))).toBe(false);
    expect(execFileSync('xmllint', ['--noout', XSD_PATH]).toString()).toBe('');
  });

  const S = '<uri>ldap://h</uri><login>cn=r,dc=x</login><password>p</password><dnList><dn>cn=g,dc=x</dn></dnList>';
  const cases: Array<[string, string]> = [
    ['missing uri', `<ldapConfig><ldapServer><login>cn=r,dc=x</login><password>p</password><dnList><dn>cn=g,dc=x</dn></dnList></ldapServer></ldapConfig>`],
    ['wrong order', `<ldapConfig><ldapServer><login>cn=r,dc=x</login><uri>ldap://h</uri><password>p</password><dnList><dn>cn=g,dc=x</dn></dnList></ldapServer></ldapConfig>`],
    ['unknown element', `<ldapConfig><ldapServer>${S}<foo/></ldapServer></ldapConfig>`],
    ['extension before the original elements end', `<ldapConfig><ldapServer><uri>ldap://h</uri><login>cn=r,dc=x</login><password>p</password><startTls>true</startTls><dnList><dn>cn=g,dc=x</dn></dnList></ldapServer></ldapConfig>`],
    ['optional elements swapped', `<ldapConfig><ldapServer>${S}<timeoutMs>5</timeoutMs><connectTimeoutMs>5</connectTimeoutMs></ldapServer></ldapConfig>`],
    ['service before server', `<ldapConfig><service><issuer>https://x</issuer></service><ldapServer>${S}</ldapServer></ldapConfig>`],
    ['repeated login', `<ldapConfig><ldapServer><uri>ldap://h</uri><login>cn=r,dc=x</login><login>cn=r,dc=x</login><password>p</password><dnList><dn>cn=g,dc=x</dn></dnList></ldapServer></ldapConfig>`],
    ['bad boolean', `<ldapConfig><ldapServer>${S}<startTls>yes</startTls></ldapServer></ldapConfig>`],
    ['bad number', `<ldapConfig><ldapServer>${S}<timeoutMs>5s</timeoutMs></ldapServer></ldapConfig>`],
    ['bad enum', `<ldapConfig><ldapServer>${S}</ldapServer><service><signingAlgorithm>none</signingAlgorithm></service></ldapConfig>`],
    ['client without redirectUri', `<ldapConfig><ldapServer>${S}</ldapServer><clients><client><id>a</id></client></clients></ldapConfig>`],
    ['attribute', `<ldapConfig><ldapServer>${S.replace('<uri>', '<uri x="1">')}</ldapServer></ldapConfig>`],
  ];
  for (const [name, xml] of cases) {
    it(`both reject: ${name}`, () => {
      const f = path.join(tmp, `${name.replace(/\W+/g, '-')}.xml`);
      writeFileSync(f, xml);
      expect(xmllintOk(f)).toBe(false);
      expect(() => loadConfigFromString(xml, { LJWT_ISSUER: 'https://x' })).toThrow(ConfigError);
    });
  }
});
