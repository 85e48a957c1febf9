// A GraphQL over SSE client as a backend job would write one: a POST with
// `Accept: text/event-stream`, each `next` event's JSON handed over as it
// arrives, until the stream ends or the test aborts it.

export interface SsePayload<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message?: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

/** Opens the stream; `ended` resolves when it ends (or `signal` aborts it). */
export async function subscribeOverSse<T>(
  url: string,
  request: { query: string; variables?: Record<string, unknown> },
  headers: Record<string, string>,
  onNext: (payload: SsePayload<T>) => void,
  signal?: AbortSignal,
): Promise<{ status: number; ended: Promise<void> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(request),
    signal,
  });
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('');
          if (/^event: next/m.test(event) && data) onNext(JSON.parse(data) as SsePayload<T>);
        }
      }
    } catch {
      // Aborted by the test.
    }
  })();
  return { status: response.status, ended };
}
