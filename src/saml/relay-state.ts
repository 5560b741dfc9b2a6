/**
 * RelayState (SAML bindings §3.4.3, §3.5.3): opaque state of the SP, returned with the response
 * exactly as received. The bindings limit it to 80 bytes; Gatehouse refuses longer values (the
 * limit is configurable for SPs that exceed it) and never interprets it, in particular never
 * redirects to it, so it cannot turn the IdP into an open redirector.
 */
export type RelayStateCheck = { ok: true; value: string | null } | { ok: false; message: string };

export function checkRelayState(value: string | undefined | null, maxBytes: number): RelayStateCheck {
  if (value === undefined || value === null || value === '') return { ok: true, value: null };
  if (typeof value !== 'string') return { ok: false, message: 'RelayState must be a single value' };
  if (Buffer.byteLength(value, 'utf8') > maxBytes) return { ok: false, message: `RelayState is longer than ${maxBytes} bytes` };
  // Control characters have no business in it and would only ever be used for header or log injection.
  if (/[\u0000-\u001F\u007F]/.test(value)) return { ok: false, message: 'RelayState contains control characters' };
  return { ok: true, value };
}
