// Which webhook URLs Rebound will call (README "Webhooks", URLs): http or https, and never an
// address inside the network Rebound runs in — loopback, private, link-local (cloud metadata
// at 169.254.169.254 and fd00:ec2::254), unique-local, CGNAT, unspecified, multicast, reserved
// — unless REBOUND_WEBHOOKS_ALLOW_PRIVATE=1. A host name is checked on what it resolves to, at
// registration and again at every try (src/webhooks/resolve.ts), so it cannot be pointed inside
// later. Pure: parsing and range arithmetic only.

export const MAX_WEBHOOK_URL_LENGTH = 2000;

/** An IPv4 address as 4 bytes, or null when `s` is not a dotted quad. */
export function parseIpv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null;
}

/** An IPv6 address as 8 groups of 16 bits (an embedded IPv4 tail allowed), or null. */
export function parseIpv6(input: string): number[] | null {
  let s = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    // "::ffff:1.2.3.4" is "::ffff:102:304"
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (!v4) return null;
    s = `${s.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const split = (h: string) => (h === '' ? [] : h.split(':').map(group));
  let groups: number[];
  if (halves.length === 2) {
    const head = split(halves[0]);
    const rest = split(halves[1]);
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = split(halves[0]);
  }
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  return groups;
}

/** Why an IPv4 address is inside the network, or null when it is public. */
export function privateIpv4Range(b: number[]): string | null {
  const [a, c] = b;
  if (a === 0) return 'unspecified ("this network", 0.0.0.0/8)';
  if (a === 10) return 'private (10.0.0.0/8)';
  if (a === 127) return 'loopback (127.0.0.0/8)';
  if (a === 169 && c === 254) return 'link-local, cloud metadata (169.254.0.0/16)';
  if (a === 172 && c >= 16 && c <= 31) return 'private (172.16.0.0/12)';
  if (a === 192 && c === 168) return 'private (192.168.0.0/16)';
  if (a === 100 && c >= 64 && c <= 127) return 'shared CGNAT (100.64.0.0/10)';
  if (a === 192 && c === 0 && b[2] === 0) return 'IETF protocol assignments (192.0.0.0/24)';
  if (a === 198 && (c === 18 || c === 19)) return 'benchmarking (198.18.0.0/15)';
  if (a >= 224 && a <= 239) return 'multicast (224.0.0.0/4)';
  if (a >= 240) return 'reserved (240.0.0.0/4)';
  return null;
}

/** Why an IPv6 address is inside the network, or null when it is public. */
export function privateIpv6Range(g: number[]): string | null {
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(7) && g[7] === 0) return 'unspecified (::)';
  if (zeroTo(7) && g[7] === 1) return 'loopback (::1)';
  const v4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  // IPv4-mapped, IPv4-compatible and NAT64 addresses reach the IPv4 address they carry.
  if (zeroTo(5) && g[5] === 0xffff) return embedded(privateIpv4Range(v4(g[6], g[7])), '::ffff:0:0/96');
  if (zeroTo(6)) return embedded(privateIpv4Range(v4(g[6], g[7])), '::/96');
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded(privateIpv4Range(v4(g[6], g[7])), '64:ff9b::/96');
  // IPv4-translated (RFC 2765) carries an IPv4 address like the mapped form.
  if (zeroTo(4) && g[4] === 0xffff && g[5] === 0) return embedded(privateIpv4Range(v4(g[6], g[7])), '::ffff:0:0:0/96');
  // A NAT64 prefix of the local network's own (RFC 8215) translates to whatever it chooses.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'local-use NAT64 (64:ff9b:1::/48)';
  // 6to4 reaches the IPv4 address in its second and third groups.
  if (g[0] === 0x2002) return embedded(privateIpv4Range(v4(g[1], g[2])), '6to4 2002::/16');
  // Teredo tunnels through a relay to an obfuscated IPv4 address: no way to tell where it ends.
  if (g[0] === 0x2001 && g[1] === 0) return 'Teredo (2001::/32)';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local (fe80::/10)';
  if ((g[0] & 0xffc0) === 0xfec0) return 'site-local (fec0::/10)';
  if ((g[0] & 0xfe00) === 0xfc00) return 'unique-local (fc00::/7), including cloud metadata fd00:ec2::254';
  if ((g[0] & 0xff00) === 0xff00) return 'multicast (ff00::/8)';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'documentation (2001:db8::/32)';
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return 'discard (100::/64)';
  return null;
}

function embedded(v4: string | null, prefix: string): string | null {
  return v4 === null ? null : `${v4} inside ${prefix}`;
}

/** Why an IP address literal is refused, or null when it is public; undefined when `s` is no IP address. */
export function privateAddressRange(s: string): string | null | undefined {
  const v4 = parseIpv4(s);
  if (v4) return privateIpv4Range(v4);
  const v6 = parseIpv6(s);
  if (v6) return privateIpv6Range(v6);
  return undefined;
}

/** A URL that passed the checks that need no DNS: its parsed form, and the host name to resolve (null for an IP literal). */
export interface CheckedUrl {
  url: URL;
  /** The host to resolve, or null when the host is an IP literal (already checked). */
  hostName: string | null;
}

/**
 * Checks what can be checked without DNS; throws an Error whose message says what is wrong.
 * WHATWG parsing normalises numeric hosts (`http://2130706433/` is 127.0.0.1) before the check.
 */
export function checkWebhookUrl(raw: unknown, allowPrivate: boolean): CheckedUrl {
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('must be an http or https URL');
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw new Error(`must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${JSON.stringify(raw.slice(0, 80))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new Error('must not carry a user name or password; the signature authenticates Rebound to the receiver');
  const host = url.hostname;
  const range = privateAddressRange(host);
  if (range === undefined) {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (!allowPrivate && (name === 'localhost' || name.endsWith('.localhost'))) {
      throw new Error(`${host} is loopback; set REBOUND_WEBHOOKS_ALLOW_PRIVATE=1 to allow private addresses`);
    }
    return { url, hostName: host };
  }
  if (range !== null && !allowPrivate) throw new Error(`${host} is ${range}; set REBOUND_WEBHOOKS_ALLOW_PRIVATE=1 to allow private addresses`);
  return { url, hostName: null };
}
