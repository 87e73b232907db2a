// Header-style field blocks (README "Late outcomes", parsing): the fields of a
// message/delivery-status or message/feedback-report part, and the returned message's headers.
// RFC 3464 section 2.1 and RFC 5965 section 3.1 use the RFC 5322 header syntax: "Name: value",
// continuation lines start with white space, and a blank line ends a group. Pure.

export interface Field {
  /** Lower-cased field name. */
  name: string;
  /** Unfolded value, trimmed. */
  value: string;
}

const FIELD_LINE = /^([!-9;-~]{1,76}):[ \t]*(.*)$/;
/** Fields kept per block, so that a hostile part of a million lines stays cheap. */
const MAX_FIELDS = 2_000;
/** A value is cut here: real DSN fields are short, Diagnostic-Code a few hundred characters. */
const MAX_VALUE_LENGTH = 8_000;

/** Splits text into lines without keeping the line ends. */
export function linesOf(text: string): string[] {
  return text.split(/\r?\n|\r/);
}

/** Parses one block of fields; lines that are neither a field nor a continuation are skipped. */
export function parseFields(lines: readonly string[]): Field[] {
  const fields: Field[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      const last = fields[fields.length - 1];
      if (last.value.length < MAX_VALUE_LENGTH) last.value = `${last.value} ${line.trim()}`.trim();
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (!m) continue;
    if (fields.length >= MAX_FIELDS) break;
    fields.push({ name: m[1].toLowerCase(), value: m[2].trim() });
  }
  for (const f of fields) f.value = f.value.slice(0, MAX_VALUE_LENGTH);
  return fields;
}

/** Splits text into blank-line separated groups of fields (RFC 3464 section 2.1). */
export function parseFieldGroups(text: string): Field[][] {
  const groups: Field[][] = [];
  let current: string[] = [];
  const flush = (): void => {
    const fields = parseFields(current);
    if (fields.length > 0) groups.push(fields);
    current = [];
  };
  for (const line of linesOf(text)) {
    if (line.trim() === '') flush();
    else current.push(line);
  }
  flush();
  return groups;
}

/** The header block at the start of a message: the lines up to the first blank line. */
export function headerBlockOf(text: string): Field[] {
  const lines = linesOf(text);
  const end = lines.findIndex((l) => l.trim() === '');
  return parseFields(end < 0 ? lines : lines.slice(0, end));
}

/** The first field of that name, or null. */
export function fieldValue(fields: readonly Field[], name: string): string | null {
  const f = fields.find((x) => x.name === name);
  return f ? f.value : null;
}
