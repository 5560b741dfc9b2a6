import { isIPv6 } from 'node:net';

/**
 * The key of a client address for per-client limits (LDAP's `maxConnectionsPerIp`, the audit
 * budgets of requests that prove nothing): the IPv4 address, or the
 * /64 prefix of an IPv6 one. A /64 is the smallest prefix assigned to one subnet (RFC 4291 §2.5.4),
 * and a host picks any of its 2^64 addresses freely (RFC 4941 temporary addresses, RFC 8981), so
 * keying by the whole address would let one client open any number of connections.
 */
export function clientKey(address: string): string {
  const ip = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!isIPv6(ip)) return ip;
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const [head = '', tail] = bare.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const rest = tail === '' ? [] : tail.split(':');
    // An embedded IPv4 tail (::a.b.c.d) takes two groups; only the first four groups matter here.
    const restGroups = rest.length > 0 && rest[rest.length - 1]!.includes('.') ? rest.length + 1 : rest.length;
    groups.push(...Array<string>(8 - groups.length - restGroups).fill('0'), ...rest);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}
