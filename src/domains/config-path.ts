// Key paths of the configuration file's problems (README "Retry policy per domain"), such as
// `domains["*.example.com"].delays[1]`, `dkim["example.com"].selector` or
// `sites.limits["mx.example.net"].connections`: keys that name a domain or a site are always
// quoted, they contain dots. Pure.
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether the segment at `i` is a domain or site key (quoted whatever it looks like). */
function isNameKey(segments: readonly PropertyKey[], i: number): boolean {
  if (i === 1) return segments[0] === 'domains' || segments[0] === 'dkim';
  return i === 2 && segments[0] === 'sites' && segments[1] === 'limits';
}

export function keyPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const name = String(segment);
      if (IDENTIFIER.test(name) && !isNameKey(segments, i)) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}
