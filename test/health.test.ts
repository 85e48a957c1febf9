import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../src/partner-center/simulator';
import { type RunningGateway, startGateway } from './support/gateway';

describe('health and GraphiQL', () => {
  let simulator: Simulator;
  let gw: RunningGateway;
  beforeAll(async () => {
    simulator = await startSimulator();
    gw = await startGateway(simulator.url, { simulator: true });
  });
  afterAll(async () => {
    await gw.close();
    await simulator.close();
  });

  it('answers /health with 200 and makes no upstream call', async () => {
    const response = await fetch(gw.url.replace('/graphql', '/health'));
    expect(response.status).toBe(200);
    expect(simulator.requests).toHaveLength(0);
  });

  it('serves GraphiQL to a browser, opening on the sample query', async () => {
    const response = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('GraphiQL');
    expect(html).toContain('0a1b2c3d-0001-4000-8000-000000000001');
  });
});
