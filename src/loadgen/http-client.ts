import http from 'node:http';
import https from 'node:https';

/**
 * A minimal JSON-over-HTTP client on keep-alive agents: at a few hundred operations per second
 * a new TCP connection per request would cost more than the request itself and would measure
 * connection setup rather than the service.
 */
export interface HttpResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
  /** Wall-clock duration of the request, send to last byte. */
  ms: number;
}

/** The request got no HTTP response: connection refused/reset, or no answer within the timeout. */
export class HttpTransportError extends Error {
  constructor(
    readonly kind: 'network' | 'timeout',
    message: string,
    readonly ms: number,
  ) {
    super(message);
    this.name = 'HttpTransportError';
  }
}

export interface HttpClientOptions {
  /** Whole-request deadline (connect + response), ms. */
  timeoutMs?: number;
  /** Upper bound on sockets per instance; should be ≥ the caller's concurrency. */
  maxSockets?: number;
}

export interface JsonHttpClient {
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResponse>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export function createHttpClient(opts: HttpClientOptions = {}): JsonHttpClient {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256 };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent(agentOpts);

  return {
    async request(method, url, body, headers = {}) {
      // A kept-alive socket the server closed as idle (its keepAliveTimeout) just as this
      // request was written fails with ECONNRESET before the server read anything: the request
      // never reached the app, so it is sent again on a new socket (Node's documented pattern,
      // `request.reusedSocket`). Any other failure is reported as is.
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(method, url, body, headers);
        } catch (err) {
          if (!(err instanceof StaleSocketError) || attempt >= 3) throw err instanceof StaleSocketError ? err.transport : err;
        }
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };

  function once(method: string, url: string, body: unknown, headers: Record<string, string>): Promise<HttpResponse> {
    const target = new URL(url);
    const isHttps = target.protocol === 'https:';
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const t0 = performance.now();
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = (isHttps ? https : http).request(
        target,
        {
          method,
          agent: isHttps ? httpsAgent : httpAgent,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) =>
            settle(() => reject(new HttpTransportError('network', `${method} ${url}: response aborted: ${err.message}`, performance.now() - t0))),
          );
          res.on('end', () =>
            settle(() => {
              const text = Buffer.concat(chunks).toString('utf8');
              let json: unknown;
              try {
                json = text ? JSON.parse(text) : undefined;
              } catch {
                json = undefined;
              }
              resolve({ status: res.statusCode ?? 0, json, text, ms: performance.now() - t0 });
            }),
          );
        },
      );
      // A whole-request deadline, not the socket idle timeout: a server that trickles bytes
      // or holds the request in a queue must still count as a timeout.
      const timer = setTimeout(() => {
        settle(() => reject(new HttpTransportError('timeout', `${method} ${url}: no response within ${timeoutMs} ms`, performance.now() - t0)));
        req.destroy();
      }, timeoutMs);
      let responded = false;
      req.on('response', () => (responded = true));
      req.on('error', (err: NodeJS.ErrnoException) =>
        settle(() => {
          const transport = new HttpTransportError('network', `${method} ${url}: ${err.message}`, performance.now() - t0);
          reject(req.reusedSocket && !responded && err.code === 'ECONNRESET' ? new StaleSocketError(transport) : transport);
        }),
      );
      req.end(payload);
    });
  }
}

/** A reused keep-alive socket was reset before any response: the request was not delivered. */
class StaleSocketError extends Error {
  constructor(readonly transport: HttpTransportError) {
    super(transport.message);
  }
}
