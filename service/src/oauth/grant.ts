import type { LdapUser } from '../ldap/login.ts';
import type { Subject } from '../tokens/access-token.ts';

/** The subject of a login's grant: what the tokens name, and the directory whose groups they need. */
export function subjectOf(u: LdapUser): Subject {
  return {
    username: u.username,
    objectId: u.objectId,
    dn: u.dn,
    directory: u.directory,
    ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
    ...(u.email !== undefined ? { email: u.email } : {}),
  };
}

/** What a login grants; carried by a code and by every refresh token of its family. */
export interface Grant {
  clientId: string;
  subject: Subject;
  /** Granted scopes. */
  scope: string[];
  authTime: number;
  familyId: string;
  nonce?: string;
}
