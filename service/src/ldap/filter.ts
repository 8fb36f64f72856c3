// RFC 4515 filter value escaping and {placeholder} substitution.

/**
 * Escapes an assertion value for a string filter (RFC 4515 §3): `*`, `(`,
 * `)`, `\` and NUL become \2a \28 \29 \5c \00. Other UTF-8 characters are
 * "normal" (UTF1SUBSET / UTFMB) and stay as they are. We deliberately do not
 * hex-escape non-ASCII bytes: ldapts' filter parser turns each `\xx` into one
 * UTF-16 code unit and re-encodes it as UTF-8, which would corrupt multi-byte
 * characters (\c3\bc would go on the wire as c3 83 c2 bc).
 * Lone surrogates cannot be encoded as UTF-8 and are refused.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function escapeFilterValue(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new TypeError('filter value is not well-formed Unicode');
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\0':
        out += '\\00';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/**
 * Fills `{name}` placeholders of a filter template with escaped values. The
 * template comes from the operator's configuration; values never do.
 */
export function fillFilter(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
    const v = values[name];
    return v === undefined ? whole : escapeFilterValue(v);
  });
}
