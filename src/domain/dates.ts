// Owns reading Partner Center's dates: ISO 8601 with up to 7 fractional
// digits (cut to milliseconds, never rounded up a second), an offset with or
// without its colon, or no zone at all (read as UTC, as Partner Center writes
// them). A date without a time is not one Partner Center writes: it is refused.

const WIRE_DATE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2}))?(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** The date Partner Center wrote, or null when it is not one. */
export function parseWireDate(raw: string): Date | null {
  const match = WIRE_DATE.exec(raw.trim());
  if (!match) return null;
  // Seconds are optional in ISO 8601 but not in what Date parses once milliseconds follow: they are written out.
  const [, day, time, seconds = '00', fraction = '', rawZone = 'Z'] = match;
  const zone = rawZone.length === 5 ? `${rawZone.slice(0, 3)}:${rawZone.slice(3)}` : rawZone.toUpperCase();
  const date = new Date(`${day}T${time}:${seconds}.${fraction.padEnd(3, '0').slice(0, 3)}${zone}`);
  return Number.isNaN(date.getTime()) ? null : date;
}
