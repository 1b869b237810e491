import { BlockList, isIP } from 'node:net';

/** 127.0.0.0/8 and ::1 (an IPv4-mapped `::ffff:127.x.y.z` matches the IPv4 subnet). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * A host as written in a config or `HOST`, without the brackets of an IPv6 literal: `[::1]`
 * is how a URL writes `::1`, but `listen()` takes the bare address (with the brackets it
 * looks the name up and fails).
 * @example bareHost('[::1]') // '::1'
 */
export function bareHost(host: string): string {
  return host.length > 2 && host.charCodeAt(0) === 91 /* [ */ && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * True when `host` can only be reached from this machine: an IP literal in 127.0.0.0/8 or
 * ::1 (bracketed or not), or the name `localhost`. Any other name is refused without being
 * looked up: `127.evil.com` is a DNS name like any other, and what it resolves to can change.
 * @example isLoopbackHost('127.1.2.3') // true
 * @example isLoopbackHost('127.evil.com') // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host);
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, 'ipv4');
  if (family === 6) return LOOPBACK.check(h, 'ipv6');
  return h.toLowerCase() === 'localhost';
}

/** `host:port` as a URL writes it (IPv6 literals in brackets). */
export function hostPort(host: string, port: number): string {
  const h = bareHost(host);
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}
