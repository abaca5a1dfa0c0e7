import { randomInt } from 'node:crypto';
import type { Clock } from '../../../clock.js';
import { exchange, parseServerAddress, type ServerAddress } from './transport.js';
import { signMessage, tsigErrorName, verifyResponse, type TsigKey } from './tsig.js';
import { buildQuery, buildUpdate, type UpdateOperation } from './update.js';
import { RRType, Rcode, canonicalName, decodeMessage, decodeTxt, rcodeName, type Message } from './wire.js';

// The DNS-01 solver's view of an authoritative nameserver that accepts
// dynamic updates: find the zone a name is in, add and delete one TXT
// record (TSIG-signed when a key is configured), and read TXT records
// straight from that server for the self-check.

export class DnsUpdateError extends Error {
  override readonly name = 'DnsUpdateError';
}

export interface Rfc2136Options {
  nameserver: string;
  tsig?: TsigKey | undefined;
  clock: Clock;
  timeoutMs?: number;
}

export interface TxtAnswer {
  rcode: number;
  authoritative: boolean;
  values: string[];
}

export class Rfc2136Client {
  private readonly server: ServerAddress;

  constructor(private readonly options: Rfc2136Options) {
    this.server = parseServerAddress(options.nameserver);
  }

  private get where(): string {
    return `nameserver ${this.options.nameserver}`;
  }

  private async ask(message: Uint8Array): Promise<Message> {
    return decodeMessage(await exchange(this.server, message, this.options.timeoutMs ?? 5_000));
  }

  /** The zone `name` belongs to, from the SOA the server returns for it (answer or authority section). */
  async findZone(name: string): Promise<string> {
    const fqdn = canonicalName(name);
    const answer = await this.ask(buildQuery(randomInt(0x10000), fqdn, RRType.SOA));
    if (answer.header.rcode !== Rcode.NOERROR && answer.header.rcode !== Rcode.NXDOMAIN) {
      throw new DnsUpdateError(`${this.where} answered ${rcodeName(answer.header.rcode)} for the SOA of ${fqdn}: it is not authoritative for its zone`);
    }
    const soa = [...answer.answers, ...answer.authorities].find((rr) => rr.type === RRType.SOA);
    if (soa === undefined || !answer.header.authoritative) {
      throw new DnsUpdateError(`${this.where} is not authoritative for any zone containing ${fqdn}`);
    }
    return canonicalName(soa.name);
  }

  async addTxt(name: string, value: string, ttl = 60): Promise<void> {
    const zone = await this.findZone(name);
    await this.update(zone, [{ op: 'add', name: canonicalName(name), ttl, txt: [value] }]);
  }

  /** Deletes exactly this value; other TXT records at the name stay. Deleting what is not there succeeds. */
  async removeTxt(name: string, value: string): Promise<void> {
    const zone = await this.findZone(name);
    await this.update(zone, [{ op: 'delete', name: canonicalName(name), txt: [value] }]);
  }

  /** TXT records at `name`, asked of this server directly (no recursion, no cache in between). */
  async queryTxt(name: string): Promise<TxtAnswer> {
    const answer = await this.ask(buildQuery(randomInt(0x10000), canonicalName(name), RRType.TXT));
    const values = answer.answers
      .filter((rr) => rr.type === RRType.TXT && canonicalName(rr.name) === canonicalName(name))
      .map((rr) => decodeTxt(rr.data).join(''));
    return { rcode: answer.header.rcode, authoritative: answer.header.authoritative, values };
  }

  private async update(zone: string, operations: UpdateOperation[]): Promise<void> {
    const unsigned = buildUpdate(randomInt(0x10000), zone, operations);
    const key = this.options.tsig;
    const now = Math.floor(this.options.clock.now() / 1000);
    const signed = key === undefined ? { signed: unsigned, mac: undefined } : signMessage(unsigned, key, now);
    const raw = await exchange(this.server, signed.signed, this.options.timeoutMs ?? 5_000);
    const answer = decodeMessage(raw);
    const what = `updating zone ${zone} at ${this.where}`;
    if (key !== undefined && signed.mac !== undefined) {
      const verified = verifyResponse(raw, key, signed.mac, Math.floor(this.options.clock.now() / 1000));
      if (!verified.ok && verified.tsigError !== undefined) {
        throw new DnsUpdateError(`${what}: ${rcodeName(answer.header.rcode)}, ${tsigErrorName(verified.tsigError)}: the server does not accept key "${key.name}" (${key.algorithm}) with this secret`);
      }
      if (!verified.ok && answer.header.rcode === Rcode.NOERROR) throw new DnsUpdateError(`${what}: ${verified.reason}`);
    }
    if (answer.header.rcode !== Rcode.NOERROR) {
      const hint =
        answer.header.rcode === Rcode.REFUSED
          ? key === undefined
            ? ': the server requires a signed update (set tsigKeyName and tsigSecretSecretRef)'
            : `: key "${key.name}" may not update this zone`
          : answer.header.rcode === Rcode.NOTAUTH
            ? ': the server is not authoritative for the zone, or does not accept the key'
            : '';
      throw new DnsUpdateError(`${what}: the server answered ${rcodeName(answer.header.rcode)}${hint}`);
    }
  }
}
