/**
 * The subject of a per-IP limit for a client address: an IPv4 client is keyed by its address,
 * an IPv6 client by its /64 prefix (one subscriber is routinely handed a whole /64, so keying
 * single addresses would let a client mint fresh budgets at will). `::ffff:1.2.3.4` is the IPv4
 * client 1.2.3.4; compressed and expanded forms, brackets and zone ids all give one key. A
 * value that is no IP address at all is keyed as given, so that it is still limited.
 */
export function clientRateLimitKey(address: string): string {
  const value = address.trim().toLowerCase();
  const ipv4 = parseIpv4(value);
  if (ipv4) return ipv4.join('.');

  const groups = parseIpv6(value.replace(/^\[(.*)\](?::\d+)?$/, '$1').replace(/%.*$/, ''));
  if (!groups) return `raw:${value.slice(0, 100)}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function parseIpv4(value: string): number[] | null {
  const parts = value.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function parseIpv6(value: string): number[] | null {
  const halves = value.split('::');
  if (halves.length > 2) return null;
  const parse = (half: string): number[] | null => {
    if (half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      const ipv4 = i === parts.length - 1 ? parseIpv4(part) : null;
      if (ipv4) groups.push((ipv4[0]! << 8) | ipv4[1]!, (ipv4[2]! << 8) | ipv4[3]!);
      else if (/^[0-9a-f]{1,4}$/.test(part)) groups.push(parseInt(part, 16));
      else return null;
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && head.length > 0 && /\./.test(halves[0]!)) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : null;
}
