/**
 * Which IP addresses a webhook may connect to. Only global unicast passes; everything the
 * IANA special-purpose registries set aside (loopback, private, link-local, CGNAT,
 * unspecified, multicast, broadcast, documentation, benchmarking...) is refused unless the
 * operator's allow-list names it. IPv6 forms that carry an IPv4 address (IPv4-mapped,
 * SIIT-translated, NAT64 64:ff9b::/96) are judged by the IPv4 address inside; forms that
 * tunnel to an address the gateway cannot judge (IPv4-compatible, 6to4, Teredo, local-use
 * NAT64) are refused outright. Cloud metadata endpoints are refused even when allowed.
 */
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Instance-metadata services: never a webhook receiver, whatever the allow-list says. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OCI, DigitalOcean...
  '169.254.170.2', // AWS ECS task metadata
  '169.254.170.23', // AWS EKS pod identity
  '100.100.100.200', // Alibaba Cloud
  'fd00:ec2::254', // AWS over IPv6
  'fd00:ec2::23', // AWS EKS pod identity over IPv6
]);

/** Host names of metadata services (lower-case, no trailing dot). */
export const METADATA_HOSTNAMES: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/** ipaddr.js range names in words for the refusal message. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private (unique local)',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  deprecatedSiteLocal: 'site-local',
  reserved: 'reserved',
};

/** The operator's exceptions, parsed once from CIDR strings (`127.0.0.0/8`, `::1/128`, `10.1.2.3`). */
export class AllowList {
  readonly #list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[] = []) {
    for (const c of cidrs) {
      const [net, bits] = parseCidr(c);
      this.#list.addSubnet(net.toString(), bits, net.kind());
    }
    this.size = cidrs.length;
  }

  has(address: Address): boolean {
    return this.size > 0 && this.#list.check(address.toString(), address.kind());
  }
}

/**
 * `address/bits` or a bare address (a /32 or /128), strict dotted-decimal IPv4.
 * Throws a RangeError naming what is wrong.
 */
export function parseCidr(cidr: string): [Address, number] {
  const slash = cidr.indexOf('/');
  const host = slash < 0 ? cidr : cidr.slice(0, slash);
  if (isIP(host) === 0) throw new RangeError(`"${cidr}" is not an IP address or CIDR`);
  const address = ipaddr.parse(host);
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (slash < 0) return [address, max];
  const bitsText = cidr.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new RangeError(`"${cidr}": prefix length must be 0-${max}`);
  return [address, bits];
}

/**
 * What `address` is when it may not be connected to (`loopback`, `a cloud metadata address`,
 * `loopback (IPv4-mapped 127.0.0.1)`...), or undefined when it may. `address` must be an IP
 * literal as `net.isIP` accepts it; anything else is refused.
 *
 * @example
 * refusal('8.8.8.8', new AllowList())                  // undefined
 * refusal('::ffff:7f00:1', new AllowList())            // 'loopback (IPv4-mapped 127.0.0.1)'
 * refusal('127.0.0.1', new AllowList(['127.0.0.0/8'])) // undefined
 */
export function refusal(address: string, allow: AllowList): string | undefined {
  if (isIP(address) === 0) return 'not an IP address';
  const parsed = ipaddr.parse(address);
  const inner = embeddedIPv4(parsed);
  if (typeof inner === 'string') return inner;
  const effective = inner ?? parsed;
  const via = inner ? ` (${parsed.range() === 'rfc6052' ? 'NAT64' : 'IPv4-mapped'} ${inner.toString()})` : '';
  if (METADATA_ADDRESSES.has(effective.toString()) || METADATA_ADDRESSES.has(parsed.toString())) return `a cloud metadata address${via}`;
  if (allow.has(effective) || allow.has(parsed)) return undefined;
  const range: string = effective.range();
  if (range === 'unicast') return undefined;
  return `${RANGE_WORDS[range] ?? `reserved (${range})`}${via}`;
}

/**
 * The IPv4 address an IPv6 address stands for, undefined for a plain address, or the reason
 * for refusing a tunnelling form outright.
 */
function embeddedIPv4(a: Address): ipaddr.IPv4 | string | undefined {
  if (a.kind() === 'ipv4') return undefined;
  const v6 = a as ipaddr.IPv6;
  const p = v6.parts;
  const low32 = (): ipaddr.IPv4 => new ipaddr.IPv4([p[6] >> 8, p[6] & 0xff, p[7] >> 8, p[7] & 0xff]);
  switch (v6.range() as string) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return low32();
    case 'rfc6052':
      // The well-known NAT64 prefix 64:ff9b::/96 reaches the IPv4 address inside it (DNS64
      // networks answer every name this way); local-use 64:ff9b:1::/48 embeds it anywhere.
      if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) return low32();
      return 'a local-use NAT64 address';
    case '6to4':
      return 'a 6to4 address';
    case 'teredo':
      return 'a Teredo address';
    default:
      // ::a.b.c.d, IPv4-compatible (deprecated); :: and ::1 are classified as themselves.
      if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && (p[6] !== 0 || p[7] > 1)) {
        return `an IPv4-compatible address (${low32().toString()})`;
      }
      return undefined;
  }
}
