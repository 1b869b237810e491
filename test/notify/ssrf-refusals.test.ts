import { describe, expect, it } from 'vitest';
import { AllowList, refusal } from '../../src/notify/address-policy.ts';
import { TargetRefused, vetWebhookUrl, type Resolver } from '../../src/notify/webhook-target.ts';

const none = new AllowList();

/** A resolver that answers every name with `addresses`, and counts its calls. */
function answering(...addresses: string[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const r = async (host: string) => {
    calls.push(host);
    return addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(r, { calls });
}

async function refusedWith(url: string, resolve: Resolver = answering('93.184.216.34'), allow = none): Promise<string> {
  try {
    await vetWebhookUrl(url, { allow, resolve });
  } catch (e) {
    if (e instanceof TargetRefused) return e.message;
    throw e;
  }
  throw new Error(`${url} was accepted`);
}

describe('webhook URLs whose host is an address literal', () => {
  it.each([
    // loopback
    ['http://127.0.0.1/hook', '127.0.0.1 is loopback'],
    ['http://127.255.255.254/', '127.255.255.254 is loopback'],
    ['http://[::1]/', '::1 is loopback'],
    // private
    ['http://10.0.0.1/', '10.0.0.1 is private'],
    ['http://172.16.0.1/', '172.16.0.1 is private'],
    ['http://172.31.255.255/', '172.31.255.255 is private'],
    ['http://192.168.1.1/', '192.168.1.1 is private'],
    ['http://[fc00::1]/', 'fc00::1 is private (unique local)'],
    ['http://[fd12:3456::1]/', 'fd12:3456::1 is private (unique local)'],
    // link-local
    ['http://169.254.1.1/', '169.254.1.1 is link-local'],
    ['http://[fe80::1]/', 'fe80::1 is link-local'],
    // carrier-grade NAT
    ['http://100.64.0.1/', '100.64.0.1 is carrier-grade NAT'],
    ['http://100.127.255.254/', '100.127.255.254 is carrier-grade NAT'],
    // unspecified, multicast, broadcast
    ['http://0.0.0.0/', '0.0.0.0 is unspecified'],
    ['http://0.1.2.3/', '0.1.2.3 is unspecified'],
    ['http://[::]/', ':: is unspecified'],
    ['http://224.0.0.1/', '224.0.0.1 is multicast'],
    ['http://239.255.255.250/', '239.255.255.250 is multicast'],
    ['http://[ff02::1]/', 'ff02::1 is multicast'],
    ['http://255.255.255.255/', '255.255.255.255 is broadcast'],
    // other special-purpose space
    ['http://198.18.0.1/', '198.18.0.1 is reserved'],
    ['http://240.0.0.1/', '240.0.0.1 is reserved'],
    ['http://[2001:db8::1]/', '2001:db8::1 is reserved'],
    ['http://192.0.2.1/', '192.0.2.1 is reserved'],
    ['http://203.0.113.7/', '203.0.113.7 is reserved'],
    ['http://192.0.0.8/', '192.0.0.8 is reserved'],
    ['http://[100::1]/', '100::1 is reserved (discard)'],
    ['http://[fec0::1]/', 'fec0::1 is site-local'],
    // cloud metadata
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a cloud metadata address'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254 is a cloud metadata address'],
    ['http://100.100.100.200/', '100.100.100.200 is a cloud metadata address'],
    // IPv4-mapped, SIIT and IPv4-compatible IPv6
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
    ['http://[0:0:0:0:0:ffff:7f00:0001]/', '::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
    ['http://[::ffff:10.0.0.1]/', '::ffff:a00:1 is private (IPv4-mapped 10.0.0.1)'],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe is a cloud metadata address (IPv4-mapped 169.254.169.254)'],
    ['http://[::ffff:0:127.0.0.1]/', '::ffff:0:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
    ['http://[::127.0.0.1]/', '::7f00:1 is an IPv4-compatible address (127.0.0.1)'],
    ['http://[::8.8.8.8]/', '::808:808 is an IPv4-compatible address (8.8.8.8)'],
    // NAT64 of refused addresses, and the tunnelling forms
    ['http://[64:ff9b::127.0.0.1]/', '64:ff9b::7f00:1 is loopback (NAT64 127.0.0.1)'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe is a cloud metadata address (NAT64 169.254.169.254)'],
    ['http://[64:ff9b::c0a8:101]/', '64:ff9b::c0a8:101 is private (NAT64 192.168.1.1)'],
    ['http://[64:ff9b:1::7f00:1]/', '64:ff9b:1::7f00:1 is a local-use NAT64 address'],
    ['http://[2002:7f00:1::]/', '2002:7f00:1:: is a 6to4 address'],
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', '2001:0:4136:e378:8000:63bf:3fff:fdd2 is a Teredo address'],
    // decimal, octal, hex and short IPv4 spellings (the URL parser turns them into the address)
    ['http://2130706433/', '127.0.0.1 is loopback'],
    ['http://0x7f.1/', '127.0.0.1 is loopback'],
    ['http://0177.0.0.1/', '127.0.0.1 is loopback'],
    ['http://0x7f000001/', '127.0.0.1 is loopback'],
    ['http://017700000001/', '127.0.0.1 is loopback'],
    ['http://127.1/', '127.0.0.1 is loopback'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254 is a cloud metadata address'],
    ['http://2852039166/', '169.254.169.254 is a cloud metadata address'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1 is loopback'],
    ['http://127.0.0.1.:8080/', '127.0.0.1 is loopback'],
  ])('%s is refused: %s', async (url, message) => {
    const resolve = answering('93.184.216.34');
    expect(await refusedWith(url, resolve)).toBe(message);
    expect(resolve.calls).toEqual([]);
  });
});

describe('webhook URLs refused by name or form', () => {
  it.each([
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal is a cloud metadata host'],
    ['http://METADATA.google.internal./', 'metadata.google.internal is a cloud metadata host'],
    ['http://metadata/', 'metadata is a cloud metadata host'],
    ['http://localhost:8080/', 'localhost is loopback'],
    ['http://LOCALHOST./', 'localhost is loopback'],
    ['http://api.localhost/', 'api.localhost is loopback'],
    ['ftp://example.com/', 'scheme must be https or http, not ftp'],
    ['file:///etc/passwd', 'scheme must be https or http, not file'],
    ['gopher://example.com/', 'scheme must be https or http, not gopher'],
    ['https://user:pass@example.com/', 'must not contain credentials'],
    ['/relative', 'not an absolute URL'],
    ['http://[fe80::1%25eth0]/', 'not an absolute URL'],
    [`https://example.com/${'a'.repeat(2048)}`, 'longer than 2048 characters'],
  ])('%s is refused: %s', async (url, message) => {
    expect(await refusedWith(url)).toBe(message);
  });
});

describe('webhook host names that resolve to refused addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.5', 'private'],
    ['192.168.0.10', 'private'],
    ['fd00::5', 'private (unique local)'],
    ['169.254.10.10', 'link-local'],
    ['fe80::abcd', 'link-local'],
    ['100.64.1.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['169.254.169.254', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped 127.0.0.1)'],
    ['::ffff:7f00:1', 'loopback (IPv4-mapped 127.0.0.1)'],
    ['::ffff:169.254.169.254', 'a cloud metadata address (IPv4-mapped 169.254.169.254)'],
    ['64:ff9b::7f00:1', 'loopback (NAT64 127.0.0.1)'],
    ['::7f00:1', 'an IPv4-compatible address (127.0.0.1)'],
    ['2002:a00:1::', 'a 6to4 address'],
    // A resolver must answer canonical addresses; other spellings are not addresses at all.
    ['2130706433', 'not an IP address'],
    ['0x7f.1', 'not an IP address'],
    ['0177.0.0.1', 'not an IP address'],
    ['127.1', 'not an IP address'],
    ['localhost', 'not an IP address'],
  ])('a name resolving to %s is refused (%s)', async (address, what) => {
    const resolve = answering(address);
    expect(await refusedWith('https://hooks.example.com/in', resolve)).toBe(`hooks.example.com resolves to ${address}, which is ${what}`);
    expect(resolve.calls).toEqual(['hooks.example.com']);
  });

  it('a name answering a public address first and a loopback one second is refused', async () => {
    const resolve = answering('93.184.216.34', '127.0.0.1');
    expect(await refusedWith('https://rebind.example.com/', resolve)).toBe('rebind.example.com resolves to 127.0.0.1, which is loopback');
  });

  it('a name with no address is an error that may pass (retried), not a refusal', async () => {
    await expect(vetWebhookUrl('https://gone.example.com/', { allow: none, resolve: answering() })).rejects.toThrow(/^gone.example.com has no address$/);
    await expect(vetWebhookUrl('https://gone.example.com/', { allow: none, resolve: answering() })).rejects.not.toBeInstanceOf(TargetRefused);
  });
});

describe('webhook URLs that pass', () => {
  it.each([
    ['https://93.184.216.34/hook', [['93.184.216.34', 4]]],
    ['https://[2606:4700:4700::1111]/hook', [['2606:4700:4700::1111', 6]]],
    ['https://[::ffff:8.8.8.8]/', [['::ffff:808:808', 6]]],
    ['https://[64:ff9b::8.8.8.8]/', [['64:ff9b::808:808', 6]]],
  ])('%s connects to exactly its address', async (url, addresses) => {
    const resolve = answering('127.0.0.1');
    const vetted = await vetWebhookUrl(url, { allow: none, resolve });
    expect(vetted.addresses.map((a) => [a.address, a.family])).toEqual(addresses);
    expect(resolve.calls).toEqual([]);
  });

  it('a name resolving to public addresses is pinned to their canonical forms', async () => {
    const resolve = answering('93.184.216.34', '2001:4860:4860:0:0:0:0:8888', '::ffff:8.8.4.4');
    const vetted = await vetWebhookUrl('https://hooks.example.com/in?token=t', { allow: none, resolve });
    expect(vetted.addresses).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2001:4860:4860::8888', family: 6 },
      { address: '::ffff:808:404', family: 6 },
    ]);
    expect(vetted.url.href).toBe('https://hooks.example.com/in?token=t');
  });
});

describe('the allow-list', () => {
  const loopback = new AllowList(['127.0.0.0/8', '::1/128']);

  it('lets listed ranges through, in every spelling of the address', async () => {
    for (const url of ['http://127.0.0.1:9/', 'http://[::1]:9/', 'http://[::ffff:127.0.0.1]:9/', 'http://2130706433:9/', 'http://localhost:9/']) {
      const vetted = await vetWebhookUrl(url, { allow: loopback, resolve: answering('127.0.0.1') });
      expect(vetted.url.port).toBe('9');
    }
  });

  it('still refuses what it does not list', async () => {
    expect(await refusedWith('http://10.0.0.1/', answering(), loopback)).toBe('10.0.0.1 is private');
    expect(await refusedWith('http://[64:ff9b::a00:1]/', answering(), loopback)).toBe('64:ff9b::a00:1 is private (NAT64 10.0.0.1)');
  });

  it('never lets a cloud metadata address through', async () => {
    const linkLocal = new AllowList(['169.254.0.0/16', 'fd00::/8', '100.64.0.0/10']);
    expect(await refusedWith('http://169.254.169.254/', answering(), linkLocal)).toBe('169.254.169.254 is a cloud metadata address');
    expect(await refusedWith('http://[fd00:ec2::254]/', answering(), linkLocal)).toBe('fd00:ec2::254 is a cloud metadata address');
    expect(await refusedWith('http://100.100.100.200/', answering(), linkLocal)).toBe('100.100.100.200 is a cloud metadata address');
    expect(refusal('169.254.1.1', linkLocal)).toBeUndefined();
  });

  it('rejects a malformed CIDR when built', () => {
    expect(() => new AllowList(['127.0.0.0/33'])).toThrow('"127.0.0.0/33": prefix length must be 0-32');
    expect(() => new AllowList(['0x7f.1/8'])).toThrow('"0x7f.1/8" is not an IP address or CIDR');
    expect(() => new AllowList(['localhost'])).toThrow('"localhost" is not an IP address or CIDR');
  });
});
