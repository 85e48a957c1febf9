// Customer-base benchmark: what answering from a snapshot of 50,000 customers
// costs, side by side in one run: the CPU of customerBase.summary (whole base
// and filtered), of a filtered page (the first after a customer's data
// changed, which filters again, after a rename, which sorts again, and the
// next ones, which reuse both), and the heap growth of a whole CSV export as
// /exports/customers.csv streams it, against the export's size.
//
//   npm run bench:customer-base      BENCH_CUSTOMERS (50000), BENCH_REPEAT (20)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { orderedIn, pageIn, summarise } from '../src/customer-base/query';
import { createCustomerStore } from '../src/customer-base/store';
import { CSV_HEADER, csvRow } from '../src/server/export-csv';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 50_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 20);
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function snapshotFile(): string {
  const now = Date.now();
  const customers = Array.from({ length: CUSTOMERS }, (_, index) => {
    const n = index + 1;
    return {
      id: id(n),
      companyName: n % 17 === 0 ? null : `Company ${(n * 7919) % CUSTOMERS}`,
      domain: `c${n}.onmicrosoft.com`,
      relationshipToPartner: n % 5 === 0 ? 'advisor' : 'reseller',
      qualifications:
        n % 3 === 0
          ? [{ qualification: 'StateOwnedEntity', vettingStatus: null, vettingReason: null, vettingCreatedDate: null }]
          : [
              {
                qualification: 'Education',
                vettingStatus: n % 2 ? 'InReview' : 'Approved',
                vettingReason: null,
                vettingCreatedDate: null,
              },
            ],
      qualificationsAt: now,
      mca: n % 7 === 0 ? null : n % 2 === 0,
      mcaAt: now,
    };
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-customer-base-'));
  const path = join(dir, 'snapshot.json');
  writeFileSync(path, JSON.stringify({ version: 1, state: { listedAt: now, lastPassCompletedAt: now }, customers }));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return path;
}

/** CPU ms (user + system) of one run of `work`, median over REPEAT runs. */
function cpuMs(work: () => void): { median: number; max: number } {
  const runs: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    runs.push((used.user + used.system) / 1000);
  }
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)] as number, max: runs.at(-1) as number };
}

/** Bytes used in the spaces that objects outliving the young generation go to. */
function keptSpaces(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name.startsWith('large_object')) used += space.space_used_size;
  }
  return used;
}

function main(): void {
  const store = createCustomerStore(snapshotFile());
  const gc = (globalThis as { gc?: () => void }).gc;
  const rows: Array<[string, string]> = [];
  const fmt = ({ median, max }: { median: number; max: number }) => `${median.toFixed(2)} ms (max ${max.toFixed(2)})`;

  rows.push(['summary, whole base', fmt(cpuMs(() => summarise(store.all(), {})))]);
  rows.push([
    'summary, mcaDirectlySigned: false',
    fmt(cpuMs(() => summarise(store.all(), { mcaDirectlySigned: false }))),
  ]);
  // A customer's data changing (what the sync writes several times a second) filters again; a customer listed,
  // dropped or renamed (a list read) sorts again.
  rows.push([
    'page of 50, first after a customer’s data changed (filters again)',
    fmt(
      cpuMs(() => {
        store.update(id(1), { mcaAt: Date.now() });
        pageIn(store, { qualification: 'EDUCATION', vettingStatus: 'IN_REVIEW' }, undefined, 50);
      }),
    ),
  ]);
  let renames = 0;
  rows.push([
    'page of 50, first after a customer was renamed (sorts again)',
    fmt(
      cpuMs(() => {
        store.update(id(2), { companyName: `Renamed ${renames++}` });
        pageIn(store, { qualification: 'EDUCATION', vettingStatus: 'IN_REVIEW' }, undefined, 50);
      }),
    ),
  ]);
  rows.push([
    'page of 50, next ones (order kept)',
    fmt(cpuMs(() => pageIn(store, { qualification: 'EDUCATION', vettingStatus: 'IN_REVIEW' }, undefined, 50))),
  ]);

  // The export as the plugin streams it: 500 rows a chunk, each chunk encoded and let go. CPU over REPEAT runs;
  // the heap growth of one run, from a collected heap.
  const all = orderedIn(store, {});
  const encoder = new TextEncoder();
  let bytes = 0;
  let peak = 0;
  let peakKept = 0;
  const exportOnce = () => {
    bytes = Buffer.byteLength(`${CSV_HEADER}\r\n`);
    for (let next = 0; next < all.length; next += 500) {
      const chunk = encoder.encode(
        all
          .slice(next, next + 500)
          .map(csvRow)
          .join(''),
      );
      bytes += chunk.byteLength;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      peakKept = Math.max(peakKept, keptSpaces());
    }
  };
  const exportCpu = cpuMs(exportOnce);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const keptBefore = keptSpaces();
  peak = before;
  peakKept = keptBefore;
  exportOnce();
  rows.push(['whole CSV export', fmt(exportCpu)]);
  rows.push(['CSV size', `${(bytes / 2 ** 20).toFixed(1)} MiB`]);
  rows.push([
    'peak heap growth during the export (uncollected garbage included)',
    `${((peak - before) / 2 ** 20).toFixed(1)} MiB${gc ? '' : ' (run with --expose-gc for a clean start)'}`,
  ]);
  rows.push([
    'peak growth of the old and large-object spaces during the export (what outlives a scavenge)',
    `${((peakKept - keptBefore) / 2 ** 20).toFixed(1)} MiB`,
  ]);
  gc?.();
  rows.push([
    'heap kept after the export, collected',
    `${((process.memoryUsage().heapUsed - before) / 2 ** 20).toFixed(1)} MiB`,
  ]);

  console.log(
    `\nCustomer base, ${CUSTOMERS} customers in the snapshot, Node ${process.version}, median over ${REPEAT} runs\n`,
  );
  console.log('| figure | value |');
  console.log('| --- | --- |');
  for (const [figure, value] of rows) console.log(`| ${figure} | ${value} |`);
  store.close();
}

main();
