import type { Subject } from '../tokens/access-token.ts';

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
