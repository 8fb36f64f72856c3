// AD-style directory on slapd with the msuser schema: objectClass user/group, member,
// and binary objectGUID rendered as the canonical GUID string.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { startGroupDirectory } from '../../../service/src/groups/directory.ts';
import { BASE, captureLog, ous, serverConfig, serviceAccount, serviceConfig } from './groups-fixtures.ts';

const guidBytes = (n: number): Buffer => Buffer.from(Array.from({ length: 16 }, (_, i) => (n * 16 + i + 1) & 0xff));
// Non-UTF-8 bytes (0xff..) and a pure-ASCII GUID (valid UTF-8) must both render right.
const GUIDS = [
  Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
  Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'),
  guidBytes(3),
];
const RENDERED = ['04030201-0605-0807-090a-0b0c0d0e0f10', 'ccddeeff-aabb-8899-7766-554433221100', '34333231-3635-3837-393a-3b3c3d3e3f40'];

const AD_TOP = 'instanceType: 4\nnTSecurityDescriptor: AA==\n';
const adUser = (cn: string, guid: Buffer): string =>
  `dn: CN=${cn},ou=people,${BASE}\nobjectClass: user\ncn: ${cn}\nsn: ${cn}\n${AD_TOP}objectCategory: CN=Person,CN=Schema,CN=Configuration,${BASE}\nobjectGUID:: ${guid.toString('base64')}\n`;
const adGroup = (cn: string, members: string[]): string =>
  `dn: CN=${cn},ou=groups,${BASE}\nobjectClass: group\ncn: ${cn}\ngroupType: -2147483646\n${AD_TOP}objectCategory: CN=Group,CN=Schema,CN=Configuration,${BASE}\nobjectGUID:: ${guidBytes(100 + cn.length).toString('base64')}\n` +
  members.map((m) => `member: ${m}\n`).join('');

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd({
    schemas: ['msuser'],
    ldif: [
      ...ous(),
      serviceAccount(),
      adUser('Alice', GUIDS[0]!),
      adUser('Bob', GUIDS[1]!),
      adUser('Carol', GUIDS[2]!),
      adGroup('Admins', [`CN=Alice,ou=people,${BASE}`, `CN=Ops,ou=groups,${BASE}`]),
      adGroup('Ops', [`cn=bob,OU=People,${BASE}`, `CN=Admins,ou=groups,${BASE}`, `CN=Carol,ou=people,${BASE}`]),
      adUser('Dave', guidBytes(4)),
    ],
  });
});
afterAll(async () => {
  await slapd?.destroy();
});

it('expands AD group/member nesting and renders objectGUID canonically', async () => {
  const config = serviceConfig([serverConfig(slapd.url, [`CN=Admins,ou=groups,${BASE}`], { objectIdAttribute: 'objectGUID' })]);
  const dir = await startGroupDirectory(config, captureLog(), { mode: 'in-thread' });
  try {
    expect(dir.status().memberCount).toBe(3);
    for (const id of RENDERED) expect(dir.groupsOf(id)).toEqual([`CN=Admins,ou=groups,${BASE}`]);
    // Dave is in no group; group GUIDs are never members.
    expect(dir.groupsOf('44434241-4645-4847-494a-4b4c4d4e4f50')).toEqual([]);
  } finally {
    await dir.close();
  }
});
