// The sink's `reportTo` (`--report-to`): host:port of Rebound's inbound listener, where the late
// reports go (README "The bounce simulator"). Apart from the mailer so that the command line can
// check it without loading nodemailer.

/** Parses `host:port` (`[::1]:2527` for IPv6); throws naming the option when it is not one. */
export function parseReportTo(value: string): { host: string; port: number } {
  const m = value.trim().match(/^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`reportTo: expected host:port of the inbound listener (e.g. 127.0.0.1:2527), got ${JSON.stringify(value)}`);
  }
  return { host: (m[1] ?? m[2])!, port };
}
