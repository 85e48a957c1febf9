// Speed bench: the Partner Center stand-in both systems call, in its own
// process so its CPU is never counted as theirs. Fixed bodies, optional
// latency (LATENCY_MS). Prints its port on stdout once listening.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const latencyMs = Number(process.env.LATENCY_MS ?? 0);
const QUALIFICATIONS = JSON.stringify([
  { qualification: 'Education', vettingStatus: 'Approved', vettingCreatedDate: '2021-05-06T19:59:56.6832021+00:00' },
]);
const MCA = JSON.stringify({ isSigned: true });

const server = createServer((req, res) => {
  const body = req.url?.endsWith('/qualifications') ? QUALIFICATIONS : MCA;
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  // Drain the request first; the answer waits for the configured latency.
  req.resume();
  req.on('end', () => (latencyMs > 0 ? setTimeout(answer, latencyMs) : answer()));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
