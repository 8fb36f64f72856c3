// One error type for every configuration problem. `where` names the XML
// element path (ldapConfig/ldapServer[2]/uri) or the environment variable
// (LJWT_ISSUER), and the message always starts with it.
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly where: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${where}: ${problem}`, options);
  }
}
