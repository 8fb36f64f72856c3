// Throwaway PKI for tests: a self-signed CA and a server certificate for
// 127.0.0.1 / localhost / ::1 signed by it, made with the openssl CLI.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TestPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  destroy(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileP('openssl', args, { cwd }).catch((e: { stderr?: string }) => {
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? String(e)}`);
  });
}

/** `commonName` only labels the CA, so two PKIs made in one test are distinguishable. */
export async function makeTestPki(commonName = 'ljwt test CA'): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ljwt-pki-'));
  const caKeyFile = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const certFile = path.join(dir, 'server.pem');
  const ext = path.join(dir, 'server.ext');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKeyFile], dir);
  await openssl(
    ['req', '-x509', '-new', '-key', caKeyFile, '-sha256', '-days', '2', '-subj', `/CN=${commonName}`, '-out', caFile,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  // PKCS#8 so both GnuTLS (slapd) and OpenSSL (nginx, Node) read it.
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], dir);
  await openssl(['req', '-new', '-key', keyFile, '-subj', '/CN=localhost', '-out', csr], dir);
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-CAcreateserial', '-days', '2', '-sha256',
      '-extfile', ext, '-out', certFile],
    dir,
  );
  return {
    dir,
    caFile,
    caKeyFile,
    certFile,
    keyFile,
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}
