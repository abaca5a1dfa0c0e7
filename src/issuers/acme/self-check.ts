import { randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request } from 'node:http';
import { exchange, parseServerAddress } from './dns/transport.js';
import { buildQuery } from './dns/update.js';
import { RRType, Rcode, canonicalName, decodeA, decodeMessage, rcodeName } from './dns/wire.js';
import { Rfc2136Client } from './dns/rfc2136.js';
import type { Clock } from '../../clock.js';

// Before asking the CA to validate, certkeeper checks what the CA will see:
// the HTTP-01 URL answers the key authorization, the DNS-01 TXT record is at
// the zone's authoritative nameserver. Each check returns undefined when it
// passes, else what it saw (shown in the Certificate's status while waiting).

export interface SelfCheckConfig {
  /** Port the HTTP-01 URL is fetched on: 80 in real life; the test CA's validation port in tests. */
  http01Port: number;
  /** Resolve names with this server (host:port) instead of the system resolver. */
  nameserver?: string | undefined;
  timeoutMs: number;
}

export const HTTP01_PATH_PREFIX = '/.well-known/acme-challenge/';

async function resolveAddresses(name: string, config: SelfCheckConfig): Promise<string[]> {
  if (config.nameserver === undefined) {
    const found = await lookup(name, { all: true, family: 4 });
    return found.map((a) => a.address);
  }
  const reply = decodeMessage(await exchange(parseServerAddress(config.nameserver), buildQuery(randomInt(0x10000), canonicalName(name), RRType.A, true), config.timeoutMs));
  if (reply.header.rcode !== Rcode.NOERROR) throw new Error(`${name} does not resolve (${rcodeName(reply.header.rcode)} from ${config.nameserver})`);
  return reply.answers.filter((rr) => rr.type === RRType.A).map((rr) => decodeA(rr.data));
}

/** A key authorization is under 100 bytes; an answer longer than this is wrong whatever follows. */
const MAX_ANSWER_BYTES = 4096;

/**
 * One GET with an overall deadline (a server trickling a byte at a time never
 * trips an idle timeout) and a size cap (the rest of a long answer is not read).
 */
function httpGet(address: string, port: number, host: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method: 'GET', headers: { host, 'user-agent': 'certkeeper-self-check' }, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_ANSWER_BYTES) {
          finish();
          resolve({ status: res.statusCode ?? 0, body: body.slice(0, MAX_ANSWER_BYTES) });
          req.destroy();
        }
      });
      res.on('end', () => {
        finish();
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', fail);
    });
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = () => clearTimeout(deadline);
    const fail = (err: Error) => {
      finish();
      reject(err);
    };
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/** Fetches http://<name>/.well-known/acme-challenge/<token> like the CA will, from every address the name has. */
export async function http01SelfCheck(name: string, token: string, keyAuthorization: string, config: SelfCheckConfig): Promise<string | undefined> {
  const url = `http://${name}${config.http01Port === 80 ? '' : `:${config.http01Port}`}${HTTP01_PATH_PREFIX}${token}`;
  let addresses: string[];
  try {
    addresses = await resolveAddresses(name, config);
  } catch (err) {
    return `${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (addresses.length === 0) return `${url}: ${name} has no IPv4 address`;
  for (const address of addresses) {
    try {
      const answer = await httpGet(address, config.http01Port, name, `${HTTP01_PATH_PREFIX}${token}`, config.timeoutMs);
      if (answer.status !== 200) return `${url} (${address}) answered HTTP ${answer.status}`;
      if (answer.body.trim() !== keyAuthorization) return `${url} (${address}) answered something other than the key authorization`;
    } catch (err) {
      return `${url} (${address}): ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}

/** Asks the nameserver that took the update (authoritative for the zone) for the TXT record. */
export async function dns01SelfCheck(recordName: string, value: string, nameserver: string, clock: Clock, timeoutMs: number): Promise<string | undefined> {
  try {
    const answer = await new Rfc2136Client({ nameserver, clock, timeoutMs }).queryTxt(recordName);
    if (!answer.authoritative) return `${nameserver} is not authoritative for ${recordName}`;
    if (answer.values.includes(value)) return undefined;
    return `${nameserver} does not serve the TXT record at ${recordName} yet (${answer.values.length} other value${answer.values.length === 1 ? '' : 's'}, ${rcodeName(answer.rcode)})`;
  } catch (err) {
    return `${recordName} at ${nameserver}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
