// XML parsing (fast-xml-parser) and structural validation against
// CONFIG_SCHEMA: strict element order, occurrence bounds, no unknown
// elements, no attributes, no mixed content, no DTD.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigError } from './errors.ts';
import { CONFIG_SCHEMA, type ElementDef } from './schema.ts';

export interface XNode {
  name: string;
  /** ldapConfig/ldapServer[2]/uri — one-based index on repeatable elements. */
  path: string;
  def: ElementDef;
  children: XNode[];
  /** Text content of a leaf element, entities decoded. */
  text: string;
}

type Ordered = Record<string, unknown>;

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0 §4.6 predefined entities and §4.1 character references; anything else is an error. */
function decodeEntities(s: string, where: string): string {
  return s.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new ConfigError(where, 'unescaped "&" (write &amp;)');
    if (ref in XML_ENTITIES) return XML_ENTITIES[ref]!;
    const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (m) {
      const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new ConfigError(where, `invalid character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    throw new ConfigError(where, `undefined entity ${whole}`);
  });
}

const ROOT_ATTRIBUTES = /^(xmlns:xsi|xsi:noNamespaceSchemaLocation|xsi:schemaLocation)$/;

function elementName(node: Ordered): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

function validateElement(raw: Ordered, def: ElementDef, path: string, isRoot: boolean): XNode {
  const attrs = (raw[':@'] ?? {}) as Record<string, string>;
  for (const a of Object.keys(attrs)) {
    if (a === 'xmlns') throw new ConfigError(path, `default namespace xmlns="${attrs[a]}" is not supported; elements are in no namespace`);
    if (!(isRoot && ROOT_ATTRIBUTES.test(a))) throw new ConfigError(path, `attribute "${a}" is not allowed`);
  }
  const content = (raw[def.name] ?? []) as Ordered[];
  const node: XNode = { name: def.name, path, def, children: [], text: '' };

  if (def.type) {
    let text = '';
    for (const part of content) {
      if ('#text' in part) text += decodeEntities(String(part['#text']), path);
      else if ('#cdata' in part) {
        const cd = part['#cdata'] as Ordered[];
        text += cd.map((c) => String(c['#text'] ?? '')).join('');
      } else {
        throw new ConfigError(`${path}/${elementName(part)}`, `unexpected element inside <${def.name}>, which holds text only`);
      }
    }
    node.text = text;
    return node;
  }

  const kids = def.children!;
  const order = kids.map((k) => k.name).join(', ');
  let pos = 0;
  let count = 0;
  const seen = new Map<string, number>();
  for (const part of content) {
    if ('#text' in part) {
      if (String(part['#text']).trim() !== '') throw new ConfigError(path, `unexpected text ${JSON.stringify(String(part['#text']).trim().slice(0, 40))} (only elements allowed here)`);
      continue;
    }
    if ('#cdata' in part) throw new ConfigError(path, 'unexpected CDATA (only elements allowed here)');
    const name = elementName(part)!;
    const idx = (seen.get(name) ?? 0) + 1;
    seen.set(name, idx);
    // Advance through the sequence (XSD xs:sequence): the element must be the
    // current particle (if it has room) or a later one after every skipped
    // particle has reached its minOccurs.
    while (pos < kids.length && kids[pos]!.name !== name) {
      if (count < kids[pos]!.minOccurs) {
        const known = kids.findIndex((k) => k.name === name);
        if (known === -1) throw new ConfigError(`${path}/${name}`, `unknown element; allowed in <${def.name}>: ${order}`);
        throw new ConfigError(path, `missing required element <${kids[pos]!.name}> before <${name}> (order: ${order})`);
      }
      pos++;
      count = 0;
    }
    if (pos >= kids.length) {
      const known = kids.findIndex((k) => k.name === name);
      if (known === -1) throw new ConfigError(`${path}/${name}`, `unknown element; allowed in <${def.name}>: ${order}`);
      throw new ConfigError(`${path}/${name}`, `element out of order or repeated; order in <${def.name}>: ${order}`);
    }
    const kd = kids[pos]!;
    if (count >= kd.maxOccurs) {
      throw new ConfigError(`${path}/${name}`, `<${name}> may appear at most ${kd.maxOccurs === 1 ? 'once' : `${kd.maxOccurs} times`}`);
    }
    count++;
    const childPath = kd.maxOccurs > 1 ? `${path}/${name}[${idx}]` : `${path}/${name}`;
    node.children.push(validateElement(part, kd, childPath, false));
  }
  for (; pos < kids.length; pos++, count = 0) {
    if (count < kids[pos]!.minOccurs) {
      throw new ConfigError(path, `missing required element <${kids[pos]!.name}>`);
    }
  }
  return node;
}

/** Parses and validates the configuration document. `source` prefixes well-formedness errors. */
export function parseConfigXml(xml: string, source = 'config'): XNode {
  if (/<!DOCTYPE/i.test(xml)) {
    // No DTDs: entity expansion (billion laughs, XXE) has no use in this file.
    throw new ConfigError(source, 'DOCTYPE declarations are not allowed');
  }
  const wf = XMLValidator.validate(xml);
  if (wf !== true) {
    throw new ConfigError(source, `not well-formed XML at line ${wf.err.line}, column ${wf.err.col}: ${wf.err.msg}`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: '#cdata',
  });
  const doc = parser.parse(xml) as Ordered[];
  const roots = doc.filter((n) => !('#text' in n && String(n['#text']).trim() === ''));
  if (roots.length !== 1) throw new ConfigError(source, `expected exactly one root element <ldapConfig>, found ${roots.length}`);
  const rootName = elementName(roots[0]!);
  if (rootName !== CONFIG_SCHEMA.name) throw new ConfigError(source, `root element must be <ldapConfig>, got <${rootName}>`);
  return validateElement(roots[0]!, CONFIG_SCHEMA, CONFIG_SCHEMA.name, true);
}

/** Child elements named `name`. */
export function childrenNamed(node: XNode | undefined, name: string): XNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

export function childNamed(node: XNode | undefined, name: string): XNode | undefined {
  return node?.children.find((c) => c.name === name);
}
