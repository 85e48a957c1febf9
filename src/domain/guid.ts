// Owns what counts as a GUID, for every floor: customer tenant ids and correlation ids alike.

const GUID = /^(\{?)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\}?)$/i;

/** The GUID without braces and surrounding space, in the caller's case; undefined when it is not one. */
export function matchGuid(raw: string): string | undefined {
  const match = GUID.exec(raw.trim());
  // Braces come in pairs or not at all: "{guid" and "guid}" are malformed.
  return match && (match[1] === '') === (match[3] === '') ? match[2] : undefined;
}

/** The canonical form of a customer tenant id (lower case, no braces), or undefined when it is not a GUID. */
export function canonicalCustomerId(raw: string): string | undefined {
  return matchGuid(raw)?.toLowerCase();
}
