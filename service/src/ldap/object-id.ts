// Stable object identifiers read from directory entries (the `oids` claim).

/** Attributes whose values are binary GUIDs in Active Directory byte order. */
const GUID_ATTRIBUTES = new Set(['objectguid', 'msds-azobjectguid']);

export function isBinaryGuidAttribute(attr: string): boolean {
  return GUID_ATTRIBUTES.has(attr.toLowerCase());
}

/**
 * Renders a 16-byte AD GUID in its canonical string form. AD stores the GUID
 * structure (MS-DTYP §2.3.4.1: Data1 uint32, Data2 uint16, Data3 uint16,
 * Data4 8 bytes) little-endian, so the first three groups are byte-reversed
 * (MS-DTYP §2.3.4.2): bytes 01..10 -> 04030201-0605-0807-090a-0b0c0d0e0f10.
 */
export function formatAdGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const h = Buffer.from(bytes).toString('hex');
  const le = (start: number, len: number): string =>
    h
      .slice(start * 2, (start + len) * 2)
      .match(/../g)!
      .reverse()
      .join('');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The object id of an entry as a string: binary GUID attributes formatted
 * canonically, everything else (entryUUID, nsUniqueId, ipaUniqueID, ...) as
 * returned. Undefined when the entry has no single value for the attribute.
 */
export function objectIdFromEntry(entry: Record<string, unknown>, attr: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (key === undefined) return undefined;
  let v = entry[key];
  if (Array.isArray(v)) {
    if (v.length !== 1) return undefined;
    v = v[0];
  }
  if (isBinaryGuidAttribute(attr)) {
    if (!Buffer.isBuffer(v) || v.length !== 16) return undefined;
    return formatAdGuid(v);
  }
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'string' && v !== '' ? v : undefined;
}
