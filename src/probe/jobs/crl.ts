import { request } from 'node:http';
import { accepted, describeError, failed, rejected, since, type JobOutcome } from './outcome.js';

// Fetches a CRL from a certificate's distribution point: plain http only
// (RFC 5280 §4.2.1.13 CRLs are signed; https would only add a TLS handshake
// that may itself need the CRL), no redirects, at most `maxBytes` and
// `timeoutMs` for the whole exchange. The URL comes from a certificate the
// endpoint served, so the bounds are what keep a hostile one from holding
// the prober: a slow drip, an endless body or a redirect chain all end here.

export interface FetchedCrl {
  url: string;
  /** DER, base64. */
  der: string;
  bytes: number;
}

export const CRL_LIMITS = { timeoutMs: 3_000, maxBytes: 1024 * 1024 } as const;

export function fetchCrl(url: string, limits: { timeoutMs: number; maxBytes: number } = CRL_LIMITS): Promise<JobOutcome<FetchedCrl>> {
  const start = performance.now();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve(failed(`not a URL: ${url.slice(0, 200)}`, 0));
  }
  if (parsed.protocol !== 'http:') return Promise.resolve(rejected(`only http CRL distribution points are fetched, not ${parsed.protocol}`, 0));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: JobOutcome<FetchedCrl>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const req = request(parsed, { method: 'GET', headers: { accept: 'application/pkix-crl' } }, (res) => {
      if (res.statusCode !== 200) {
        finish(rejected(`HTTP ${res.statusCode ?? '?'} from ${url}`, since(start)));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        finish(failed(`the CRL is ${declared} bytes, more than the ${limits.maxBytes} fetched`, since(start)));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limits.maxBytes) finish(failed(`the CRL is more than the ${limits.maxBytes} bytes fetched`, since(start)));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const der = Buffer.concat(chunks);
        finish(accepted({ url, der: der.toString('base64'), bytes: der.length }, since(start)));
      });
      res.on('error', (error) => finish(failed(`reading ${url}: ${describeError(error)}`, since(start))));
    });
    const timer = setTimeout(() => finish(failed(`no complete CRL from ${url} within ${limits.timeoutMs} ms`, since(start))), limits.timeoutMs);
    req.on('error', (error) => finish(failed(`fetching ${url}: ${describeError(error)}`, since(start))));
    req.end();
  });
}
