import { describe, expect, it } from 'vitest';
import { useSimulatorGateway } from './support/fixtures';

describe('health and GraphiQL', () => {
  const { simulator, gw } = useSimulatorGateway();

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
