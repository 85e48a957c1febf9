// Owns reading the persisted-documents manifest (PERSISTED_DOCUMENTS) at start,
// for config.ts, so a bad one stops the start; serving its documents is
// src/server/persisted-documents.ts's.

import { readFileSync } from 'node:fs';
import { parse } from 'graphql';

/**
 * Reads a persisted-documents manifest as GraphQL Code Generator's client
 * preset writes it: one JSON object of `{"<hash>": "<document>"}`. Throws,
 * saying what is wrong, when the file is missing, is not JSON, is not such an
 * object, or holds a document that does not parse.
 */
export function readPersistedDocuments(path: string): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new Error(`cannot read the manifest "${path}" (${reason})`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new Error(`the manifest "${path}" is not JSON; expected {"<hash>": "<document>", ...}`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new Error(`the manifest "${path}" must be one JSON object of {"<hash>": "<document>", ...}`);
  }
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(manifest)) {
    if (typeof document !== 'string') {
      throw new Error(`the manifest "${path}" maps "${id}" to ${typeof document}, expected a GraphQL document string`);
    }
    try {
      parse(document);
    } catch (error) {
      throw new Error(`the manifest "${path}" has a document "${id}" that is not GraphQL: ${(error as Error).message}`);
    }
    documents.set(id, document);
  }
  return documents;
}
