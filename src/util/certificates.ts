import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 is typed against the DOM's Crypto; Node's webcrypto is that implementation.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);

export interface KeyAndCertificate {
  keyPem: string;
  certPem: string;
}

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * A self-signed RSA-2048 / SHA-256 certificate. Used for the TLS listeners on first start (the
 * admin replaces it with their own) and for SAML signing keys.
 */
export async function createSelfSignedCertificate(o: {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  days: number;
}): Promise<KeyAndCertificate> {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const san = [
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${o.commonName.replace(/[,+="\\<>;]/g, '')}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + o.days * 86_400_000),
    signingAlgorithm: RSA,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      ...(san.length > 0 ? [new x509.SubjectAlternativeNameExtension(san)] : []),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem(pkcs8, 'PRIVATE KEY'), certPem: cert.toString('pem') + '\n' };
}

/**
 * The TLS key and certificate in `dir` (tls.key, tls.crt), generated on first start, when neither
 * file is there. An admin replaces them with their own files (read at start, and again when they
 * change: see the appliance's reloadTls). A pair that does not
 * parse or match is an error naming the file, and a pair with one file missing is an error too:
 * generating then overwrote the file that was there, an admin's own certificate or key, with half
 * of a new self-signed pair (found by a black-box probe), where slapd refuses to start.
 */
export async function ensureTlsCertificate(dir: string, hostname: string): Promise<KeyAndCertificate & { generated: boolean }> {
  const { keyFile, certFile } = tlsFiles(dir);
  const hasKey = existsSync(keyFile);
  const hasCert = existsSync(certFile);
  if (hasKey && hasCert) return { ...readTlsPair(dir), generated: false };
  if (hasKey !== hasCert) {
    const [present, missing] = hasKey ? [keyFile, certFile] : [certFile, keyFile];
    throw new Error(`${missing} is missing while ${present} is there: put both files of the pair in place, or remove both to have a self-signed pair generated`);
  }
  mkdirSync(dir, { recursive: true });
  const pair = await createSelfSignedCertificate({
    commonName: hostname,
    dnsNames: [...new Set([hostname, 'localhost'])],
    ipAddresses: ['127.0.0.1', '::1'],
    days: 825,
  });
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  writeFileSync(certFile, pair.certPem, { mode: 0o644 });
  return { ...pair, generated: true };
}

/** The two files of the pair in the certs dir. */
function tlsFiles(dir: string): { keyFile: string; certFile: string } {
  return { keyFile: join(dir, 'tls.key'), certFile: join(dir, 'tls.crt') };
}

/**
 * Reads and checks the pair in `dir` (tls.key, tls.crt): both parse and the key is the
 * certificate's, or an error naming the file.
 */
export function readTlsPair(dir: string): KeyAndCertificate {
  const { keyFile, certFile } = tlsFiles(dir);
  let pair: KeyAndCertificate;
  try {
    pair = { keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8') };
  } catch (err) {
    throw new Error(`TLS key and certificate cannot be read from ${dir}: ${(err as Error).message}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certPem);
  } catch (err) {
    throw new Error(`TLS certificate ${certFile} cannot be read: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.keyPem);
  } catch (err) {
    throw new Error(`TLS key ${keyFile} cannot be read: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`TLS key ${keyFile} is not the key of the certificate ${certFile}`);
  return pair;
}

/** What identifies the files' current content cheaply (size, modification time and inode of both), to notice a replacement. */
export function tlsFilesStamp(dir: string): string {
  const { keyFile, certFile } = tlsFiles(dir);
  return [keyFile, certFile]
    .map((f) => {
      try {
        const st = statSync(f);
        return `${st.size}:${st.mtimeMs}:${st.ino}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** The subject and end of validity of a PEM certificate, for log lines. */
export function describeCertificate(certPem: string): { subject: string; validTo: string } {
  const c = new X509Certificate(certPem);
  return { subject: c.subject.replace(/\n/g, ', '), validTo: new Date(c.validTo).toISOString() };
}
