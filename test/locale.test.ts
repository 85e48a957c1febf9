// The caller's language goes to Partner Center as X-Locale: the preferred
// language of Accept-Language, else the configured default.

import { describe, expect, it } from 'vitest';
import { preferredLocale } from '../src/request/context';
import { useGateway } from './support/fixtures';
import { customerId } from './support/gateway';

describe('X-Locale from Accept-Language', () => {
  const { upstream, gw } = useGateway({ locale: 'de-DE' });

  async function localeSent(acceptLanguage: string | null): Promise<string[]> {
    upstream.calls.length = 0;
    const headers: Record<string, string> = acceptLanguage === null ? {} : { 'accept-language': acceptLanguage };
    const response = await gw.query(
      `{ customerList(first: 1) { nodes { id } } customer(id: "${customerId(9)}") { companyName qualifications { kind } } }`,
      undefined,
      headers,
    );
    expect(response.body.errors).toBeUndefined();
    return upstream.calls.map((call) => String(call.headers['x-locale']));
  }

  it("sends the caller's first language as X-Locale on every upstream call of the request", async () => {
    expect(await localeSent('fr-CA,fr;q=0.9,en;q=0.8')).toEqual(['fr-CA', 'fr-CA', 'fr-CA']);
  });

  it('sends the configured default when the caller sends no Accept-Language', async () => {
    expect(await localeSent(null)).toEqual(['de-DE', 'de-DE', 'de-DE']);
  });

  it('sends the configured default for Accept-Language: * or a value that names no language', async () => {
    expect(await localeSent('*')).toEqual(['de-DE', 'de-DE', 'de-DE']);
    expect(await localeSent('<script>, en-US;q=0')).toEqual(['de-DE', 'de-DE', 'de-DE']);
  });

  it('keeps each request to its own language', async () => {
    expect(await localeSent('pl-PL')).toEqual(['pl-PL', 'pl-PL', 'pl-PL']);
    expect(await localeSent('ja')).toEqual(['ja', 'ja', 'ja']);
  });
});

describe('preferredLocale', () => {
  it.each([
    ['fr-CA,fr;q=0.9', 'fr-CA'],
    ['de;q=0.5, fr', 'fr'],
    ['en-GB;q=0.8, en-US;q=0.8', 'en-GB'],
    ['*, es-MX;q=0.5', 'es-MX'],
    ['fr-ca', 'fr-CA'],
    ['ZH-hant-tw', 'zh-Hant-TW'],
    ['en-US;q=0', undefined],
    ['en-US;q=abc', undefined],
    ['*', undefined],
    ['', undefined],
    ['x\r\nX-Injected: 1', undefined],
  ])('reads %j as %j', (header, expected) => {
    expect(preferredLocale(header)).toBe(expected);
  });
});
