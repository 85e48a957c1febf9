// Owns the response cache of the customer base (RESPONSE_CACHE_TTL_SECONDS):
// whole answers of operations that read nothing but customerBase's summary
// and customers, shared by every caller allowed to read the snapshot (they
// are the partner's data, not a caller's), kept in memory or, with REDIS_URL,
// in Redis for every replica, and dropped by entity from the snapshot's
// writes. yoga's response-cache plugin serves and stores them; this file
// decides what may be cached, checks the caller's role before a cached answer
// is served, tags answers and holds the store.

import { createHash } from 'node:crypto';
import { type Cache, createInMemoryCache, useResponseCache } from '@graphql-yoga/plugin-response-cache';
import {
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  getOperationAST,
  Kind,
  parse,
  type SelectionSetNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { MovedFact, SnapshotWrite } from '../customer-base/snapshot-writes';
import type { SharedRedis } from '../quota/redis';
import type { Access } from '../request/access';
import { redisStore } from './response-cache-redis';

export interface ResponseCacheDeps {
  /** How long an answer is kept at most, in seconds (> 0). */
  readonly ttlSeconds: number;
  /** The request's access, the same object its context gets (so the caller is verified once). */
  readonly accessFor: (request: Request) => Access;
  /** With REDIS_URL: answers and their invalidation are shared by every replica. */
  readonly redis: SharedRedis | undefined;
  /** Keeps one partner's answers apart from another's in a shared Redis. */
  readonly partnerDigest: string;
}

export interface ResponseCache {
  /** Placed after the persisted documents (which fill the document a documentId names) and the limits. */
  readonly plugins: readonly Plugin[];
  /** Drops the answers that hold what a write of the snapshot changed. */
  invalidate(write: SnapshotWrite): void;
}

/** Answers kept in memory per replica, without Redis: the least recently used goes first. */
const MEMORY_ENTRIES = 1_000;
/** Documents whose cacheability is remembered. */
const KNOWN_DOCUMENTS = 1_000;

/**
 * Tags carried in the cache key, so the store can index an answer under what it holds beyond its customers (a
 * summary and a page have no id to be found by): S a summary, C a page of customers, and q, m, a a page filtered
 * by qualifications, the MCA status or the MCA acceptance. Every answer is under the whole customer base.
 */
const TAGS = {
  S: 'CustomerBaseSummary',
  C: 'CustomerConnection',
  q: 'CustomerConnection/qualifications',
  m: 'CustomerConnection/mca',
  a: 'CustomerConnection/acceptance',
} as const;
type Tag = keyof typeof TAGS;
const WHOLE = 'CustomerBase';
/** The filter fields of a page that a change of each fact can move it in or out of (the list's facts move all). */
const FILTER_TAGS: Readonly<Record<string, Tag>> = {
  qualification: 'q',
  vettingStatus: 'q',
  mcaDirectlySigned: 'm',
  mcaAccepted: 'a',
};
/** Which pages a moved fact may change beyond those that hold the customer. */
const MOVED_TAGS: Readonly<Record<MovedFact, readonly Tag[]>> = {
  list: ['C'],
  qualifications: ['q'],
  mca: ['m', 'a'],
  agreements: ['a'],
};

export function createResponseCache(deps: ResponseCacheDeps): ResponseCache {
  const ttlMs = deps.ttlSeconds * 1000;
  /** Requests allowed to use the cache, with the tags of what their operation selects. */
  const allowed = new WeakMap<Request, string>();
  const known = new LRUCache<string, { readonly tags: Tags | undefined }>({ max: KNOWN_DOCUMENTS });
  const store = guarded(
    deps.redis
      ? redisStore(deps.redis, deps.partnerDigest, ttlMs, MEMORY_ENTRIES)
      : createInMemoryCache({ max: MEMORY_ENTRIES }),
  );

  /** The document's verdict is kept; a filter passed as a variable is looked up in each request's variables. */
  const tagsOf = (query: string, operationName: string | undefined, variables: unknown): string | undefined => {
    const id = `${operationName ?? ''}\n${query}`;
    const verdict = known.get(id) ?? { tags: cacheableTags(query, operationName) };
    known.set(id, verdict);
    if (typeof verdict.tags === 'string') return verdict.tags;
    return verdict.tags?.(variables);
  };

  const admission: Plugin = {
    // Before the cache is looked up (in the response cache's own onParams): a caller is checked as a resolver of
    // customerBase would check it, and one that may not read never reaches the cache. Its request goes on
    // uncached, so the resolver refuses it with the error it gets today.
    async onParams({ request, params }) {
      if (typeof params.query !== 'string') return;
      const tags = tagsOf(params.query, params.operationName ?? undefined, params.variables);
      if (tags === undefined) return;
      try {
        await deps.accessFor(request).readSnapshot();
        allowed.set(request, tags);
      } catch {
        // Refused: answered uncached, by the resolver.
      }
    },
  };

  const cache = useResponseCache({
    // One answer for every allowed caller: the role is checked above, and the snapshot is the partner's.
    session: () => null,
    enabled: (request) => allowed.has(request),
    cache: store,
    ttl: ttlMs,
    includeExtensionMetadata: true,
    // Mutations invalidate through the snapshot's writes, on every replica; their results hold nothing cached.
    invalidateViaMutation: false,
    buildResponseCacheKey: ({ documentString, variableValues, operationName, request }) => {
      const tags = allowed.get(request);
      if (tags === undefined) return '';
      const hash = createHash('sha256')
        .update(JSON.stringify([documentString, operationName ?? null, variableValues ?? {}]))
        .digest('base64url');
      return `${tags}.${hash}`;
    },
  });

  return {
    plugins: [admission, cache],
    invalidate(write) {
      const entities: Array<{ typename: string; id?: string }> = write.customers.map((id) => ({
        typename: 'Customer',
        id,
      }));
      const tags = new Set<Tag>();
      if (write.moved.size > 0) tags.add('S');
      for (const fact of write.moved) for (const tag of MOVED_TAGS[fact]) tags.add(tag);
      for (const tag of tags) entities.push({ typename: TAGS[tag] });
      if (write.all) entities.push({ typename: WHOLE });
      store.invalidate(entities);
    },
  };
}

/** An operation's tags, or how to tell them from its variables when a page's filter is one. */
type Tags = string | ((variables: unknown) => string);

/**
 * The tags of an operation whose answer may be shared, or undefined: a query whose every root field is
 * customerBase (`__typename` aside), selecting only its summary and customers (sync moves with every read, changes
 * with every change, so neither is cached), without @defer or @stream.
 */
export function cacheableTags(query: string, operationName: string | undefined): Tags | undefined {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return undefined;
  }
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return undefined;
  let incremental = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === 'defer' || node.name.value === 'stream') incremental = true;
    },
  });
  if (incremental) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const roots = fieldsOf(operation.selectionSet, fragments);
  if (roots === undefined) return undefined;
  const bases = roots.filter((field) => field.name !== '__typename');
  if (bases.length === 0 || bases.some((field) => field.name !== 'customerBase')) return undefined;
  const tags = new Set<Tag>();
  /** Filters given as variables: their tags are those of the fields each request's value holds. */
  const fromVariables = new Set<string>();
  for (const base of bases) {
    if (!base.node.selectionSet) return undefined;
    const fields = fieldsOf(base.node.selectionSet, fragments);
    if (fields === undefined) return undefined;
    for (const { name, node } of fields) {
      if (name === 'summary') tags.add('S');
      else if (name === 'customers') {
        tags.add('C');
        const where = node.arguments?.find((argument) => argument.name.value === 'where')?.value;
        if (where?.kind === Kind.VARIABLE) fromVariables.add(where.name.value);
        else if (where?.kind === Kind.OBJECT) {
          for (const field of where.fields) {
            const tag = FILTER_TAGS[field.name.value];
            if (tag) tags.add(tag);
          }
        }
      } else if (name !== '__typename') return undefined;
    }
  }
  const joined = (more: Iterable<Tag>) => [...new Set([...tags, ...more])].sort().join('');
  if (fromVariables.size === 0) return joined([]);
  return (variables) => {
    const more: Tag[] = [];
    for (const name of fromVariables) {
      const value = (variables as Record<string, unknown> | null | undefined)?.[name];
      if (value === null || value === undefined) continue;
      // A value that is not an object is refused by validation; until then it counts as every filter.
      if (typeof value !== 'object') more.push('q', 'm', 'a');
      else for (const key of Object.keys(value)) if (FILTER_TAGS[key]) more.push(FILTER_TAGS[key]);
    }
    return joined(more);
  };
}

/** The fields a selection set selects, through its fragments; undefined when a fragment is missing. */
function fieldsOf(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  seen = new Set<string>(),
): Array<{ name: string; node: FieldNode }> | undefined {
  const fields: Array<{ name: string; node: FieldNode }> = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      fields.push({ name: selection.name.value, node: selection });
      continue;
    }
    let inner: SelectionSetNode;
    // The fragments on the path to this one: a fragment spread again beside itself is no cycle.
    let path = seen;
    if (selection.kind === Kind.INLINE_FRAGMENT) inner = selection.selectionSet;
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (fragment === undefined || seen.has(name)) return undefined;
      inner = fragment.selectionSet;
      path = new Set([...seen, name]);
    }
    const more = fieldsOf(inner, fragments, path);
    if (more === undefined) return undefined;
    fields.push(...more);
  }
  return fields;
}

/**
 * The store as the plugin sees it: an answer is also indexed under the tags its key carries, an answer whose
 * operation began before an invalidation is not stored (it may have read what the invalidation was about), and a
 * hit carries the bytes it is answered with, made once per stored answer.
 */
function guarded(inner: Cache): Cache {
  let generation = 0;
  /** The generation at which each key was looked up and missed, until it is stored. */
  const missedAt = new Map<string, number>();
  /** Each stored answer's body as a hit: stringifying 20 KiB again on every hit was a third of a hit's CPU. */
  const bodies = new WeakMap<ExecutionResult, string>();
  return {
    async get(key) {
      const found = await inner.get(key);
      if (found == null) {
        if (!missedAt.has(key)) {
          if (missedAt.size >= MEMORY_ENTRIES * 10) missedAt.clear();
          missedAt.set(key, generation);
        }
        return found;
      }
      let body = bodies.get(found);
      if (body === undefined) {
        body = hitBody(found);
        bodies.set(found, body);
      }
      const served = body;
      return { ...found, stringify: () => served };
    },
    set(key, result, entities, ttl) {
      const began = missedAt.get(key);
      missedAt.delete(key);
      if (began !== generation) return;
      const tags = (key.split('.')[0] ?? '').split('') as Tag[];
      const extra = [WHOLE, ...tags.map((tag) => TAGS[tag]).filter((name) => name !== undefined)];
      return inner.set(key, result, [...entities, ...extra.map((typename) => ({ typename }))], ttl);
    },
    invalidate(entities) {
      generation++;
      missedAt.clear();
      return inner.invalidate(entities);
    },
  };
}

/**
 * What yoga writes for a hit on this answer (its response-cache plugin adds `responseCache.hit`, its result
 * processor leaves `extensions.http` out), made once: yoga's result processor calls a result's own `stringify`
 * when it has one (graphql-jit's results do). No plugin changes a hit's result after the lookup, so these bytes
 * are its answer.
 */
function hitBody(found: ExecutionResult): string {
  const { stringify: _jit, ...result } = found as ExecutionResult & { stringify?: unknown };
  const { http: _http, ...extensions } = (result.extensions ?? {}) as Record<string, unknown>;
  const responseCache = { ...(extensions.responseCache as object | undefined), hit: true };
  return JSON.stringify({ ...result, extensions: { ...extensions, responseCache } });
}
