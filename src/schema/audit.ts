// Owns what the mutations' audit lines say of who asked and of which
// customer: the verified caller's identifying claims (oid, else sub; tid; a
// display name), never a token, and the customer id as canonical when it is one.

import { canonicalCustomerId } from '../domain/guid';
import type { Context } from '../request/context';

/** The caller as an audit line names it; null in forward mode, where the gateway verifies no caller. */
export async function auditedCaller(ctx: Context): Promise<Record<string, string> | null> {
  const caller = await ctx.access.caller();
  if (!caller) return null;
  return {
    ...(caller.oid ? { oid: caller.oid } : caller.sub ? { sub: caller.sub } : {}),
    ...(caller.tid ? { tid: caller.tid } : {}),
    ...(caller.name ? { [caller.name.claim]: caller.name.value } : {}),
  };
}

/** The customer id as sent, canonical when it is a GUID, cut to 100 characters when it is not. */
export const auditedCustomerId = (raw: string | number) =>
  canonicalCustomerId(String(raw)) ?? String(raw).slice(0, 100);
