// Signing keys: generated at first start, persisted in the key directory (files
// 0600, directory 0700), rotated after a period, and kept published in the JWKS
// until every token they signed has expired.
import { constants, createHmac, createPrivateKey, createSecretKey, generateKeyPair, randomBytes, sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync, writeSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose';
import type { SigningAlgorithm } from '../config/types.ts';

const signInThreadPool = promisify(cryptoSign);

/** Signs the JWS signing input (RFC 7515 §5.1 step 5) with one key. */
type SignFn = (input: Buffer) => Buffer | Promise<Buffer>;

/**
 * The JWS signature function of a stored key (RFC 7518 §3). node:crypto directly: a token is
 * signed on every login and refresh, and the WebCrypto route (jose's SignJWT) costs about
 * three times the CPU of the signature itself for ES256. ECDSA, EdDSA and HMAC sign on the
 * event loop (tens of µs); RSA (about 1 ms at 2048 bits) in libuv's thread pool.
 */
function signerFor(alg: SigningAlgorithm, jwk: JWK): SignFn {
  if (alg === 'HS256') {
    if (jwk.kty !== 'oct' || typeof jwk.k !== 'string') throw new Error('HS256 needs an oct key');
    const secret: KeyObject = createSecretKey(Buffer.from(jwk.k, 'base64url'));
    return (input) => createHmac('sha256', secret).update(input).digest();
  }
  const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  switch (alg) {
    case 'ES256':
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('ES256 needs a P-256 key');
      // JWS ECDSA signatures are R || S, 32 bytes each (RFC 7518 §3.4), not DER.
      return (input) => cryptoSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('EdDSA needs an Ed25519 key');
      return (input) => cryptoSign(null, input, key);
    case 'RS256':
      if (key.asymmetricKeyType !== 'rsa') throw new Error('RS256 needs an RSA key');
      return (input) => signInThreadPool('sha256', input, key);
    case 'PS256':
      if (key.asymmetricKeyType !== 'rsa') throw new Error('PS256 needs an RSA key');
      // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
      return (input) => signInThreadPool('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    default:
      throw new Error(`unsupported signing algorithm ${String(alg)}`);
  }
}

const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

export const SUPPORTED_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256', 'PS256', 'EdDSA', 'HS256'];

interface StoredKey {
  kid: string;
  alg: SigningAlgorithm;
  /** Seconds since epoch. */
  createdAt: number;
  /** Orders keys created within the same second (explicit rotation). */
  serial: number;
  /** Private JWK (or the oct secret for HS256). */
  jwk: JWK;
}

export interface KeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  createdAt: number;
  /** When a newer key took over; null for the active key. */
  retiredAt: number | null;
}

export interface KeyManagerOptions {
  directory: string;
  /** The algorithm of access tokens: what sign() uses when no algorithm is named. */
  algorithm: SigningAlgorithm;
  /**
   * Further algorithms that each keep an active key of their own, rotated, retained and
   * published like the first (ID tokens: OIDC Discovery 1.0 §3 requires RS256).
   */
  extraAlgorithms?: readonly SigningAlgorithm[];
  /** A new key becomes active once the active one is this old. */
  rotationSeconds: number;
  /** How long a retired key stays published: the longest token lifetime plus leeway (RFC 7517 §5 key rollover). */
  retainSeconds: number;
  /**
   * How long a retired key that signed ID tokens stays published, when longer than
   * retainSeconds: an ID token is still a logout hint (RP-Initiated Logout 1.0 §2) after it
   * expired, for as long as its session lives.
   */
  extraRetainSeconds?: number;
  /** Public JWKS for the edge validator; written atomically after every change. */
  jwksFile?: string;
  /** RSA modulus length for RS256/PS256 (>= 2048). */
  modulusLength?: number;
  now?: () => number;
}

const KEY_FILE = /^signing-([A-Za-z0-9_-]{43})\.json$/;
const PUBLIC_MEMBERS: Record<string, string[]> = { EC: ['kty', 'crv', 'x', 'y'], RSA: ['kty', 'n', 'e'], OKP: ['kty', 'crv', 'x'], oct: ['kty', 'k'] };

/** Writes a file atomically (temp file in the same directory + rename) with the given mode. */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // the umask may have narrowed `mode` at creation
  renameSync(tmp, path);
}

function publicJwk(k: StoredKey): JWK {
  const members = PUBLIC_MEMBERS[k.jwk.kty ?? ''];
  if (members === undefined) throw new Error(`unsupported key type ${k.jwk.kty}`);
  const out: JWK = {};
  for (const m of members) (out as Record<string, unknown>)[m] = (k.jwk as Record<string, unknown>)[m];
  return { ...out, kid: k.kid, alg: k.alg, use: 'sig' };
}

const DER = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;

/**
 * A new private JWK for `alg`, generated in the thread pool. The job hands out DER bytes, never a
 * KeyObject sharing its key: on Node 20 a destroyed key generation job locks its key's mutex, and a
 * JWK export of that key holds the same mutex while it allocates, so a garbage collection that
 * destroys the job in the middle of the export deadlocks the process. The key re-imported from DER
 * has its own mutex, which no job ever takes.
 */
async function generate(alg: SigningAlgorithm, modulusLength: number): Promise<JWK> {
  if (alg === 'HS256') {
    // RFC 7518 §3.2: the HMAC key must be at least as long as the hash output (256 bits).
    return { kty: 'oct', k: randomBytes(32).toString('base64url') };
  }
  const pkcs8 = await new Promise<Buffer>((resolve, reject) => {
    const done = (err: Error | null, _spki: Buffer, privateKey: Buffer): void => (err ? reject(err) : resolve(privateKey));
    if (alg === 'RS256' || alg === 'PS256') generateKeyPair('rsa', { modulusLength, ...DER }, done);
    else if (alg === 'EdDSA') generateKeyPair('ed25519', DER, done);
    else generateKeyPair('ec', { namedCurve: 'P-256', ...DER }, done);
  });
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }) as JWK;
}

export class KeyManager {
  private keys: StoredKey[] = [];
  private readonly signers = new Map<string, SignFn>();
  private readonly now: () => number;
  private lastJwks = '';
  /** The algorithm of access tokens first, then the extra ones; each has an active key. */
  readonly algorithms: readonly SigningAlgorithm[];

  constructor(private readonly opts: KeyManagerOptions) {
    this.algorithms = [...new Set([opts.algorithm, ...(opts.extraAlgorithms ?? [])])];
    for (const alg of this.algorithms) if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new Error(`unsupported signing algorithm ${alg}`);
    if ((opts.modulusLength ?? 2048) < 2048) throw new Error('RSA keys must be at least 2048 bits');
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  get algorithm(): SigningAlgorithm {
    return this.opts.algorithm;
  }

  /** Loads the directory, generates a first or rotated key when due, prunes expired keys, writes the JWKS file. */
  async init(): Promise<void> {
    mkdirSync(this.opts.directory, { recursive: true, mode: 0o700 });
    chmodSync(this.opts.directory, 0o700);
    await this.maintain();
  }

  private load(): void {
    const loaded: StoredKey[] = [];
    for (const name of readdirSync(this.opts.directory)) {
      const m = KEY_FILE.exec(name);
      if (!m) continue;
      const path = join(this.opts.directory, name);
      const k = JSON.parse(readFileSync(path, 'utf8')) as StoredKey;
      if (k.kid !== m[1] || !SUPPORTED_ALGORITHMS.includes(k.alg) || typeof k.createdAt !== 'number') {
        throw new Error(`key file ${path} is inconsistent`);
      }
      // Refuse to use a private key others can read (like ssh does).
      if ((statSync(path).mode & 0o077) !== 0) throw new Error(`key file ${path} must have mode 0600`);
      loaded.push(k);
    }
    loaded.sort((a, b) => a.createdAt - b.createdAt || (a.serial ?? 0) - (b.serial ?? 0) || a.kid.localeCompare(b.kid));
    this.keys = loaded;
  }

  /** The key that signs with `alg`: the newest key of a configured algorithm (a changed algorithm forces a new key). */
  private active(alg: SigningAlgorithm = this.opts.algorithm): StoredKey | undefined {
    if (!this.algorithms.includes(alg)) return undefined;
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i]!.alg === alg) return this.keys[i];
    return undefined;
  }

  /**
   * A key retires when the next newer key of its algorithm is created. A key whose algorithm
   * is no longer configured retired when the keys that replaced it were created (the newest
   * of the keys after it), or, when there are none, at once.
   */
  private retiredAt(k: StoredKey): number | null {
    const newer = this.keys.slice(this.keys.indexOf(k) + 1);
    const successor = newer.find((n) => n.alg === k.alg);
    if (successor !== undefined) return successor.createdAt;
    if (this.active(k.alg) === k) return null;
    return newer.length > 0 ? newer[newer.length - 1]!.createdAt : k.createdAt;
  }

  async maintain(): Promise<void> {
    this.load();
    let added = false;
    for (const alg of this.algorithms) {
      const a = this.active(alg);
      if (a === undefined || this.now() - a.createdAt >= this.opts.rotationSeconds) {
        await this.addKey(alg);
        added = true;
      }
    }
    // Another instance sharing the directory may have added a key meanwhile: publish what is on disk.
    if (added) this.load();
    this.prune();
    this.writeJwks();
  }

  /**
   * Makes a new key active now for every configured algorithm (operator-triggered rotation);
   * returns the access-token key's kid. The previous keys stay published.
   */
  async rotate(): Promise<string> {
    this.load();
    let kid = '';
    for (const alg of this.algorithms) {
      const k = await this.addKey(alg);
      if (alg === this.opts.algorithm) kid = k;
    }
    this.load();
    this.prune();
    this.writeJwks();
    return kid;
  }

  private async addKey(alg: SigningAlgorithm): Promise<string> {
    const jwk = await generate(alg, this.opts.modulusLength ?? 2048);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    // A new key must sort after the current one even within the same second.
    const newest = this.keys[this.keys.length - 1];
    const k: StoredKey = {
      kid, alg, createdAt: Math.max(this.now(), newest?.createdAt ?? 0), serial: (newest?.serial ?? 0) + 1, jwk,
    };
    writeFileAtomic(join(this.opts.directory, `signing-${kid}.json`), JSON.stringify(k), 0o600);
    this.keys.push(k);
    return kid;
  }

  private prune(): void {
    const now = this.now();
    this.keys = this.keys.filter((k) => {
      const r = this.retiredAt(k);
      if (r !== null && now >= r + this.retention(k)) {
        rmSync(join(this.opts.directory, `signing-${k.kid}.json`), { force: true });
        this.signers.delete(k.kid);
        return false;
      }
      return true;
    });
  }

  /** A key used only for access tokens goes after retainSeconds; one that may have signed ID tokens is kept longer. */
  private retention(k: StoredKey): number {
    const accessOnly = k.alg === this.opts.algorithm && !(this.opts.extraAlgorithms ?? []).includes(k.alg);
    return accessOnly ? this.opts.retainSeconds : Math.max(this.opts.retainSeconds, this.opts.extraRetainSeconds ?? 0);
  }

  list(): KeyInfo[] {
    return this.keys.map((k) => ({ kid: k.kid, alg: k.alg, createdAt: k.createdAt, retiredAt: this.retiredAt(k) }));
  }

  activeKid(alg: SigningAlgorithm = this.opts.algorithm): string | undefined {
    return this.active(alg)?.kid;
  }

  /**
   * Keys that may have signed an access token: those of the access-token algorithm, and retired
   * keys of an algorithm no longer configured (a former access-token algorithm). Keys used only
   * for ID tokens stay out of what validates access tokens: nginx reads its key file on every
   * request (njs clones its VM per request), and each key there costs parsing time.
   */
  private accessKeys(): StoredKey[] {
    return this.keys.filter((k) => k.alg === this.opts.algorithm || !this.algorithms.includes(k.alg));
  }

  /** The access-token keys, including the oct secret for HS256: for the local validator and the jwksFile (nginx). */
  verificationJwks(): { keys: JWK[] } {
    return { keys: this.accessKeys().map(publicJwk) };
  }

  /** The access-token keys without secrets: what nginx fetches from the service ($ljwt_jwks_location). */
  accessPublicJwks(): { keys: JWK[] } {
    return { keys: this.accessKeys().filter((k) => k.jwk.kty !== 'oct').map(publicJwk) };
  }

  /** What /jwks publishes (jwks_uri: relying parties verify ID tokens with it): every key, never secret key material. */
  publicJwks(): { keys: JWK[] } {
    return { keys: this.keys.filter((k) => k.jwk.kty !== 'oct').map(publicJwk) };
  }

  private writeJwks(): void {
    if (this.opts.jwksFile === undefined) return;
    const symmetric = this.accessKeys().some((k) => k.jwk.kty === 'oct');
    const text = JSON.stringify(this.verificationJwks(), null, 2) + '\n';
    if (text === this.lastJwks) return;
    mkdirSync(dirname(this.opts.jwksFile), { recursive: true });
    // The HS256 file is a shared secret: only its owner may read it.
    writeFileAtomic(this.opts.jwksFile, text, symmetric ? 0o600 : 0o644);
    this.lastJwks = text;
  }

  /** A compact JWS (RFC 7515 §7.1) of the claims, signed with the active key of `alg`; header alg, kid, typ. */
  async sign(payload: JWTPayload, typ: string, alg: SigningAlgorithm = this.opts.algorithm): Promise<string> {
    const k = this.active(alg);
    if (k === undefined) throw new Error(`no ${alg} signing key loaded`);
    let sign = this.signers.get(k.kid);
    if (sign === undefined) {
      sign = signerFor(k.alg, k.jwk);
      this.signers.set(k.kid, sign);
    }
    const input = `${b64url(JSON.stringify({ alg: k.alg, kid: k.kid, typ }))}.${b64url(JSON.stringify(payload))}`;
    const signature = await sign(Buffer.from(input, 'ascii'));
    return `${input}.${signature.toString('base64url')}`;
  }

  loaded(): boolean {
    return this.algorithms.every((alg) => this.active(alg) !== undefined);
  }
}

/** A 256-bit HMAC key for CSRF tokens, created once in the key directory (0600). */
export function loadOrCreateSecret(directory: string, name: string): Buffer {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, name);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64url'));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
  if (secret.length < 32) throw new Error(`${path} holds a secret shorter than 256 bits`);
  return secret;
}
