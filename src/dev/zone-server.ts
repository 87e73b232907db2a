// A small authoritative DNS server for the direct demo (README "Direct demo"): dns2 over UDP,
// answering MX and A questions from a fixed zone, NXDOMAIN for any other name and an empty
// answer (NODATA) for any other type, such as the _mta-sts TXT lookups. Direct delivery is
// pointed at it with REBOUND_DNS_SERVERS, so a Google-named MX can live on 127.0.0.x without
// touching the machine's resolver.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dns2 = require('dns2');

export interface ZoneRecords {
  /** [preference, exchange] pairs. */
  mx?: [number, string][];
  /** IPv4 addresses. */
  a?: string[];
}

export interface ZoneServer {
  /** host:port, as REBOUND_DNS_SERVERS takes it. */
  server: string;
  close(): Promise<void>;
}

const NXDOMAIN = 3;

/** Serves `zone` (names in lower case, without the trailing dot) on host:port (0: a free port). */
export async function startZoneServer(zone: Record<string, ZoneRecords>, host = '127.0.0.1', port = 0): Promise<ZoneServer> {
  const { Packet } = dns2;
  const udp = dns2.createUDPServer((request: any, send: (response: unknown) => void) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const entry = zone[String(question.name).toLowerCase().replace(/\.$/, '')];
    if (!entry) response.header.rcode = NXDOMAIN;
    else if (question.type === Packet.TYPE.MX) {
      for (const [priority, exchange] of entry.mx ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl: 60, priority, exchange });
    } else if (question.type === Packet.TYPE.A) {
      for (const address of entry.a ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address });
    }
    send(response);
  });
  udp.on('requestError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.listen(port, host).then(() => {
      udp.off('error', reject);
      resolve();
    });
  });
  const bound = udp.address() as { port: number };
  return {
    server: `${host}:${bound.port}`,
    close: () => new Promise<void>((resolve) => udp.close(() => resolve())),
  };
}
