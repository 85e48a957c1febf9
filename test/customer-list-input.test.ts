// customerList refuses what it cannot page with BAD_USER_INPUT before any
// upstream call: first outside 1..100, cursors that cannot be read or were
// altered, and a cursor used with another filter.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useGateway } from './support/fixtures';

const PAGE = /* GraphQL */ `
  query ($first: Int, $after: String, $prefix: String) {
    customerList(first: $first, after: $after, companyNameStartsWith: $prefix) {
      nodes { id }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

/**
 * A cursor as customerList makes it (base64url of the JSON, a dot, 16 characters of its sha256 check), around any
 * text: what a caller who read the source could send. The check is not a secret, so what the JSON says is checked too.
 */
function forged(json: string): string {
  const check = createHash('sha256').update(`customerList cursor:${json}`).digest('base64url').slice(0, 16);
  return `${Buffer.from(json, 'utf8').toString('base64url')}.${check}`;
}

interface Page {
  customerList: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

describe('customerList arguments', () => {
  const { upstream, gw } = useGateway();

  async function refused(variables: Record<string, unknown>): Promise<string> {
    const response = await gw.query<Page>(PAGE, variables);
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['BAD_USER_INPUT', ['customerList']],
    ]);
    expect(upstream.calls).toHaveLength(0);
    return response.body.errors?.[0]?.message ?? '';
  }

  async function endCursor(variables: Record<string, unknown>): Promise<string> {
    const response = await gw.query<Page>(PAGE, variables);
    const cursor = response.body.data?.customerList.pageInfo.endCursor;
    if (!cursor) throw new Error(`no endCursor: ${JSON.stringify(response.body)}`);
    upstream.calls.length = 0;
    return cursor;
  }

  for (const first of [0, -1, 101, 1000]) {
    it(`refuses first: ${first} with BAD_USER_INPUT and no upstream call`, async () => {
      expect(await refused({ first })).toBe(`first: expected 1 to 100 customers per page, got ${first}.`);
    });
  }

  it('says the bounds of first in the error extensions', async () => {
    const response = await gw.query<Page>(PAGE, { first: 0 });
    expect(response.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', min: 1, max: 100 });
  });

  it('accepts first: 1 and first: 100, the bounds', async () => {
    for (const first of [1, 100]) {
      const response = await gw.query<Page>(PAGE, { first });
      expect(response.body.data?.customerList.nodes).toHaveLength(first);
    }
    expect(upstream.calls.map((call) => call.query.get('size'))).toEqual(['1', '100']);
  });

  for (const [what, cursor] of [
    ['an empty string', ''],
    ['a made-up word', 'not-a-cursor'],
    ['base64 of JSON without a check', Buffer.from('{"v":1,"f":null,"t":"x","o":0,"n":10}').toString('base64url')],
    [
      'a check over other content',
      `${Buffer.from('{"v":1,"f":null,"end":true}').toString('base64url')}.AAAAAAAAAAAAAAAA`,
    ],
    ['a very long string', 'A'.repeat(20_000)],
  ] as const) {
    it(`refuses ${what} as a cursor with BAD_USER_INPUT and no upstream call`, async () => {
      expect(await refused({ after: cursor })).toMatch(/^after: not a cursor from customerList/);
    });
  }

  it('refuses a real cursor with one character changed', async () => {
    const cursor = await endCursor({ first: 3 });
    const at = Math.floor(cursor.length / 3);
    const altered = `${cursor.slice(0, at)}${cursor[at] === 'A' ? 'B' : 'A'}${cursor.slice(at + 1)}`;
    expect(await refused({ after: altered })).toBe(
      'after: not a cursor from customerList (it was altered or made up); pass a cursor this field returned.',
    );
  });

  it('refuses a real cursor with anything before or after it as unreadable', async () => {
    const cursor = await endCursor({ first: 3 });
    for (const around of [`!${cursor}`, `${cursor}!`, `x.${cursor}`]) {
      expect(await refused({ after: around })).toBe(
        'after: not a cursor from customerList (unreadable); pass a cursor this field returned.',
      );
    }
  });

  it('refuses a real cursor cut short', async () => {
    const cursor = await endCursor({ first: 3 });
    expect(await refused({ after: cursor.slice(0, -2) })).toMatch(/^after: not a cursor from customerList/);
  });

  it('refuses a cursor of a filtered list used without the filter, or with another one', async () => {
    const cursor = await endCursor({ first: 3, prefix: 'Company' });
    expect(await refused({ after: cursor })).toMatch(/companyNameStartsWith "Company", not null/);
    expect(await refused({ after: cursor, prefix: 'Comp' })).toMatch(/companyNameStartsWith "Company", not "Comp"/);
  });

  for (const [why, jsons] of [
    ['unreadable', ['not json', '{"v":1,']],
    ['unknown version', ['null', '7', '"v1"', '[1]', '{"f":null,"end":true}', '{"v":2,"f":null,"end":true}']],
    ['bad filter', ['{"v":1,"end":true}', '{"v":1,"f":7,"end":true}', '{"v":1,"f":["Company"],"end":true}']],
    [
      'bad position',
      [
        '{"v":1,"f":null,"end":1}',
        '{"v":1,"f":null,"t":"","o":0,"n":10}',
        '{"v":1,"f":null,"t":7,"o":0,"n":10}',
        '{"v":1,"f":null,"t":"line\\nbreak","o":0,"n":10}',
        '{"v":1,"f":null,"o":0,"n":10}',
        '{"v":1,"f":null,"t":null,"o":0,"n":0}',
        '{"v":1,"f":null,"t":null,"o":0,"n":101}',
        '{"v":1,"f":null,"t":null,"o":0,"n":1.5}',
        '{"v":1,"f":null,"t":null,"o":0,"n":"10"}',
        '{"v":1,"f":null,"t":null,"o":-1,"n":10}',
        '{"v":1,"f":null,"t":null,"o":10,"n":10}',
        '{"v":1,"f":null,"t":null,"o":0.5,"n":10}',
        '{"v":1,"f":null,"t":null,"n":10}',
      ],
    ],
  ] as const) {
    it(`refuses a cursor with a valid check whose content is wrong (${why})`, async () => {
      for (const json of jsons) {
        expect(await refused({ after: forged(json) }), json).toBe(
          `after: not a cursor from customerList (${why}); pass a cursor this field returned.`,
        );
      }
    });
  }

  it('refuses a cursor longer than 12000 characters as too long, and reads one of 12000', async () => {
    // base64url of 8987 bytes is 11983 characters; with the dot and the check, 12000.
    const ofLength = (bytes: number) => forged(`{"v":1,"f":"${'x'.repeat(bytes - 25)}","end":true}`);
    expect(ofLength(8987)).toHaveLength(12_000);
    expect(ofLength(8988)).toHaveLength(12_001);
    expect(await refused({ after: ofLength(8988) })).toBe(
      'after: not a cursor from customerList (too long); pass a cursor this field returned.',
    );
    // Read: what refuses it is the filter it carries, checked after the cursor is decoded.
    expect(await refused({ after: ofLength(8987) })).toMatch(/^after: this cursor continues the list with/);
  });

  it('reads a forged cursor whose content is right: the bounds of size and skip, no token, the end', async () => {
    const asked = async (json: string) => {
      upstream.calls.length = 0;
      const response = await gw.query<Page>(PAGE, { first: 2, after: forged(json) });
      expect(response.body.errors, json).toBeUndefined();
      return [upstream.calls.map((call) => call.query.get('size')), response.body.data?.customerList.nodes.length];
    };
    expect(await asked('{"v":1,"f":null,"t":null,"o":99,"n":100}')).toEqual([['100'], 1]);
    expect(await asked('{"v":1,"f":null,"t":null,"o":0,"n":1}')).toEqual([['2'], 2]);
    expect(await asked('{"v":1,"f":null,"t":null,"o":1,"n":5}')).toEqual([['5'], 2]);
    expect(await asked('{"v":1,"f":null,"end":true}')).toEqual([[], 0]);
  });

  it('refuses a companyNameStartsWith longer than 256 characters, and takes one of 256', async () => {
    expect(await refused({ prefix: 'x'.repeat(257) })).toBe('companyNameStartsWith: at most 256 characters, got 257.');
    const response = await gw.query<Page>(PAGE, { prefix: 'x'.repeat(256) });
    expect(response.body.errors).toBeUndefined();
    expect(upstream.calls).toHaveLength(1);
  });

  it('takes an empty companyNameStartsWith as no filter', async () => {
    const response = await gw.query<Page>(PAGE, { first: 2, prefix: '' });
    expect(response.body.data?.customerList.nodes).toHaveLength(2);
    expect(upstream.calls[0]?.query.get('filter')).toBeNull();
  });
});
