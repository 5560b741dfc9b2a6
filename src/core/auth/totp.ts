import { generateSecret, generateURI, verifySync } from 'otplib';

/**
 * TOTP per RFC 6238 as authenticator apps and `oathtool --totp -b` compute it: HMAC-SHA-1,
 * 6 digits, 30-second steps, accepted one step either side for clock drift (RFC 6238 §5.2).
 * Replay protection is not here: the caller records the returned step atomically in the store.
 */
export const TOTP_PERIOD_SECONDS = 30;
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

/** A new random 160-bit seed, base32 (RFC 4226 §4 recommends 160 bits). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** Normalises an admin- or migration-supplied seed; null when it is not usable base32 of ≥ 128 bits. */
export function normaliseTotpSecret(secret: string): string | null {
  const s = secret.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  if (!/^[A-Z2-7]+$/.test(s)) return null;
  if (Math.floor((s.length * 5) / 8) < 16) return null;
  if (s.length > 128) return null;
  return s;
}

/** The otpauth:// URI that authenticator apps scan (Key Uri Format). */
export function totpUri(issuer: string, account: string, secret: string): string {
  return generateURI({ issuer, label: account, secret });
}

/** Strips spaces; null unless exactly six digits (otplib throws on anything else). */
export function normaliseTotpCode(code: string): string | null {
  const c = code.replace(/\s+/g, '');
  return /^\d{6}$/.test(c) ? c : null;
}

/**
 * Verifies a code at `now`; returns the time step the code belongs to (for the replay guard), or
 * null when it matches none of the accepted steps.
 */
export function verifyTotp(secret: string, code: string, now: Date): number | null {
  const token = normaliseTotpCode(code);
  if (!token) return null;
  try {
    const r = verifySync({
      secret,
      token,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: TOLERANCE_SECONDS,
    });
    return r.valid && 'timeStep' in r ? r.timeStep : null;
  } catch {
    return null;
  }
}
