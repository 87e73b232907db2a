// A DNS server for the direct-delivery tests (dns2 over UDP on 127.0.0.1, a free port): it
// answers from a zone the test fills in. A name not in the zone is NXDOMAIN; a name in it
// without records of the asked type gets an empty answer (NODATA); `servfail` answers SERVFAIL
// and `silent` never answers (a resolver timeout).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dns2 = require('dns2');

export interface ZoneEntry {
  /** [preference, exchange]; exchange "" is the RFC 7505 null MX. */
  mx?: [number, string][];
  a?: string[];
  /** TXT records, each one string (e.g. "v=STSv1; id=20260101"). */
  txt?: string[];
  servfail?: boolean;
  silent?: boolean;
}

export interface TestDnsServer {
  /** host:port, for REBOUND_DNS_SERVERS. */
  server: string;
  /** Names (lower case, no trailing dot) to their records; change it at will. */
  zone: Map<string, ZoneEntry>;
  /** Questions asked, "TYPE name", for assertions. */
  questions: string[];
  close(): Promise<void>;
}

const RCODE = { noError: 0, serverFailure: 2, nameError: 3 } as const;

export async function startDnsServer(zone: Record<string, ZoneEntry> = {}): Promise<TestDnsServer> {
  const { Packet } = dns2;
  const entries = new Map<string, ZoneEntry>(Object.entries(zone));
  const questions: string[] = [];
  const udp = dns2.createUDPServer((request: any, send: (response: unknown) => void) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const name = String(question.name).toLowerCase().replace(/\.$/, '');
    const type = Object.keys(Packet.TYPE).find((k) => Packet.TYPE[k] === question.type) ?? String(question.type);
    questions.push(`${type} ${name}`);
    const entry = entries.get(name);
    if (entry?.silent) return;
    if (!entry) response.header.rcode = RCODE.nameError;
    else if (entry.servfail) response.header.rcode = RCODE.serverFailure;
    else if (question.type === Packet.TYPE.MX) {
      for (const [priority, exchange] of entry.mx ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl: 60, priority, exchange });
    } else if (question.type === Packet.TYPE.TXT) {
      for (const data of entry.txt ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 60, data });
    } else if (question.type === Packet.TYPE.A) {
      for (const address of entry.a ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address });
    }
    send(response);
  });
  await udp.listen(0, '127.0.0.1');
  const { port } = udp.address();
  return {
    server: `127.0.0.1:${port}`,
    zone: entries,
    questions,
    close: () => new Promise<void>((resolve) => udp.close(() => resolve())),
  };
}
