// Stack traces from the compiled build name src/ files and lines: `npm start`'s
// flags turn source maps on, and the build's maps (scripts/build.mjs) keep
// src/'s mappings exactly while the bundled packages' code is left unmapped
// (named as dist/ has it), so that Node has little to parse at start.

import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGateway } from '../scripts/build.mjs';
import { ROOT, startGatewayProcess } from './support/process';

/** Loaded before the gateway: process.exit throws, so the exit in main()'s catch becomes an uncaught error. */
const EXIT_THROWS = `data:text/javascript,${encodeURIComponent('process.exit = () => { throw new Error("exit called"); };')}`;

describe('a stack trace from the compiled build', () => {
  it('names the src/ file and line that an uncaught error was thrown from', async () => {
    const source = readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8').split('\n');
    // The exit in main().catch(...), the last line of src/main.ts that calls process.exit(1).
    const line = source.findLastIndex((text) => /^\s+process\.exit\(1\);$/.test(text)) + 1;

    const gateway = startGatewayProcess({ PORT: 'abc', NODE_OPTIONS: `--import=${EXIT_THROWS}` }, { compiled: true });

    expect(await gateway.exited()).toBe(1);
    expect(gateway.stderr()).toContain('Error: exit called');
    expect(gateway.stderr()).toContain(`${join(ROOT, 'src', 'main.ts')}:${line}:`);
    expect(gateway.stderr()).not.toContain('dist/main.js:');
  });

  it("maps every position in src/'s code as a map with every package would, and no package's code", async () => {
    const full = await mkdtemp(join(tmpdir(), 'gateway-full-maps-'));
    try {
      await buildGateway(join(ROOT, 'src', 'main.ts'), full, { packageMappings: true });
      const read = async (dir: string) =>
        JSON.parse(await readFile(join(dir, 'main.js.map'), 'utf8')) as SourceMapPayload;
      const [withPackages, built] = [await read(full), await read(join(ROOT, 'dist'))];
      expect(built.sources.length).toBeGreaterThan(10);
      expect(built.sources.filter((name) => !name.startsWith('../src/'))).toEqual([]);
      expect(withPackages.sources.some((name) => name.includes('/node_modules/'))).toBe(true);

      const [before, after] = [new SourceMap(withPackages), new SourceMap(built)];
      const code = (await readFile(join(full, 'main.js'), 'utf8')).split('\n');
      // A map's sources are relative to its own folder.
      const lookUp = (map: SourceMap, dir: string, line: number, column: number) => {
        const entry = map.findEntry(line, column) as { originalSource?: string };
        return entry.originalSource === undefined
          ? entry
          : { ...entry, originalSource: resolve(dir, entry.originalSource) };
      };
      const src = join(ROOT, 'src', '/');
      const seen = { src: 0, packages: 0 };
      const wrong: unknown[] = [];
      for (const [line, text] of code.entries()) {
        for (let column = 0; column < text.length; column += 13) {
          const expected = lookUp(before, full, line, column);
          const actual = lookUp(after, join(ROOT, 'dist'), line, column);
          const inSrc = expected.originalSource?.startsWith(src);
          if (inSrc) seen.src++;
          else if (expected.originalSource !== undefined) seen.packages++;
          const right = inSrc
            ? JSON.stringify(actual) === JSON.stringify(expected)
            : actual.originalSource === undefined;
          if (!right && wrong.length < 5) wrong.push({ line, column, expected, actual });
        }
      }
      expect(wrong).toEqual([]);
      expect(seen.src).toBeGreaterThan(1_000);
      expect(seen.packages).toBeGreaterThan(10_000);
    } finally {
      await rm(full, { recursive: true, force: true });
    }
  });
});
