// The benchmark directory: `users` people with known passwords, a service account, and
// groups so that every token carries group DNs (the group sync runs as in production).
// Passwords are stored as {SSHA} (RFC 3112 style salted SHA-1, what slappasswd writes by
// default), so slapd does the same work per bind as in a real directory.
import { createHash, randomBytes } from 'node:crypto';

export const BASE_DN = 'dc=bench,dc=example';
export const PEOPLE = `ou=people,${BASE_DN}`;
export const READER_DN = `cn=ljwt-reader,ou=service-accounts,${BASE_DN}`;
export const READER_PASSWORD = 'reader-bench-secret';
export const GROUPS = 50;

/** The password of user i (the wrk script derives the same string). */
export function passwordOf(i) {
  return `pw-${i}-bench`;
}

function ssha(password) {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

export function groupDn(g) {
  return `cn=g${g},ou=groups,${BASE_DN}`;
}

/** LDIF (without the base entry, which the slapd harness adds). Each user is in two groups. */
export function benchLdif(users) {
  const parts = [
    `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ou=service-accounts,${BASE_DN}\nobjectClass: organizationalUnit\nou: service-accounts\n`,
    `dn: ${READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ljwt-reader\nuserPassword: ${ssha(READER_PASSWORD)}\n`,
  ];
  const members = Array.from({ length: GROUPS }, () => []);
  for (let i = 0; i < users; i++) {
    const dn = `uid=u${i},${PEOPLE}`;
    members[i % GROUPS].push(dn);
    members[(i * 7 + 3) % GROUPS].push(dn);
    parts.push(
      `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: ${i}\ndisplayName: Bench User ${i}\n` +
        `mail: u${i}@bench.example\nuserPassword: ${ssha(passwordOf(i))}\n`,
    );
  }
  for (let g = 0; g < GROUPS; g++) {
    // groupOfNames needs at least one member.
    const m = members[g].length > 0 ? members[g] : [READER_DN];
    parts.push(`dn: ${groupDn(g)}\nobjectClass: groupOfNames\ncn: g${g}\n${m.map((d) => `member: ${d}\n`).join('')}`);
  }
  return parts.join('\n');
}
