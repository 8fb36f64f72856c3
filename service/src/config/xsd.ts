// Renders CONFIG_SCHEMA as an XML Schema (service/config.xsd) for editors.
// The original XSD is the subset ldapConfig/ldapServer/{uri,login,password,dnList/dn}.
import { CONFIG_SCHEMA, type ElementDef, type LeafType } from './schema.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function occurs(d: ElementDef): string {
  let a = '';
  if (d.minOccurs !== 1) a += ` minOccurs="${d.minOccurs}"`;
  if (d.maxOccurs !== 1) a += ` maxOccurs="${d.maxOccurs === Infinity ? 'unbounded' : d.maxOccurs}"`;
  return a;
}

function simpleType(t: LeafType, ind: string): string {
  const r = (base: string, facets: string[]): string =>
    facets.length === 0
      ? ''
      : `${ind}<xs:simpleType>\n${ind}  <xs:restriction base="${base}">\n${facets.map((f) => `${ind}    ${f}\n`).join('')}${ind}  </xs:restriction>\n${ind}</xs:simpleType>\n`;
  switch (t.kind) {
    case 'int':
      return r(t.min === 0 ? 'xs:nonNegativeInteger' : 'xs:positiveInteger', [
        ...(t.min !== undefined ? [`<xs:minInclusive value="${t.min}"/>`] : []),
        ...(t.max !== undefined ? [`<xs:maxInclusive value="${t.max}"/>`] : []),
      ]);
    case 'bool':
      return '';
    case 'enum':
      return r('xs:string', t.values!.map((v) => `<xs:enumeration value="${esc(v)}"/>`));
    case 'ldapUrl':
      return r('xs:string', ['<xs:pattern value="\\s*ldaps?://\\S+\\s*"/>']);
    case 'httpUrl':
    case 'issuerUrl':
      return r('xs:string', ['<xs:pattern value="\\s*https?://\\S+\\s*"/>']);
    case 'cookieName':
      return r('xs:string', ["<xs:pattern value=\"\\s*[!#$%&amp;'*+\\-.^_`|~0-9A-Za-z]{1,64}\\s*\"/>"]);
    case 'clientId':
      return r('xs:string', ['<xs:pattern value="\\s*[A-Za-z0-9._~\\-]{1,128}\\s*"/>']);
    case 'secret':
    case 'optionalDn':
      return '';
    default:
      return r('xs:string', ['<xs:minLength value="1"/>']);
  }
}

function typeAttr(t: LeafType): string {
  if (t.kind === 'bool') return ' type="xs:boolean"';
  return simpleType(t, '') === '' ? ' type="xs:string"' : '';
}

function element(d: ElementDef, ind: string): string {
  const doc = `${ind}  <xs:annotation><xs:documentation>${esc(d.doc)}${d.default !== undefined ? esc(` Default: ${d.default}.`) : ''}</xs:documentation></xs:annotation>\n`;
  if (d.type) {
    const st = simpleType(d.type, ind + '  ');
    return `${ind}<xs:element name="${d.name}"${typeAttr(d.type)}${occurs(d)}>\n${doc}${st}${ind}</xs:element>\n`;
  }
  const kids = d.children!.map((c) => element(c, ind + '      ')).join('');
  return `${ind}<xs:element name="${d.name}"${occurs(d)}>\n${doc}${ind}  <xs:complexType>\n${ind}    <xs:sequence>\n${kids}${ind}    </xs:sequence>\n${d.name === 'ldapConfig' ? `${ind}    <xs:anyAttribute namespace="http://www.w3.org/2001/XMLSchema-instance" processContents="lax"/>\n` : ''}${ind}  </xs:complexType>\n${ind}</xs:element>\n`;
}

export function renderXsd(): string {
  const root = { ...CONFIG_SCHEMA, minOccurs: 1, maxOccurs: 1 };
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!-- Generated from service/src/config/schema.ts (renderXsd); test/unit/service/config/xsd.test.ts keeps them equal.\n' +
    '     The original schema is the subset ldapConfig/ldapServer/(uri, login, password, dnList/dn);\n' +
    '     every other element is an optional extension placed after it. -->\n' +
    '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">\n' +
    element(root, '  ') +
    '</xs:schema>\n'
  );
}
