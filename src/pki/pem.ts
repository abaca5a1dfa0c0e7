import { PkiError } from './errors.js';

// PEM (RFC 7468) splitting shared by certificates, keys and CSRs. Text between
// blocks is ignored, as OpenSSL and Go do, because real bundles carry comments
// ("# Subject: ...") between certificates.

export interface PemBlock {
  /** The label after BEGIN, e.g. "CERTIFICATE" or "EC PRIVATE KEY". */
  type: string;
  der: Buffer;
  /** 1-based position in the input, for error messages. */
  position: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `text`. `source` names the input in errors ("tls.crt").
 * Throws PkiError(InvalidPEM) when there is no block, a block is not
 * terminated, or its body is not base64; bodies are never echoed.
 */
export function decodePemBlocks(text: string, source: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/g;
  for (let match = begin.exec(text); match !== null; match = begin.exec(text)) {
    const type = match[1] ?? '';
    const position = blocks.length + 1;
    const footer = `-----END ${type}-----`;
    const bodyStart = match.index + match[0].length;
    const bodyEnd = text.indexOf(footer, bodyStart);
    if (bodyEnd < 0) {
      throw new PkiError('InvalidPEM', `${source}: PEM block ${position} (${type}) has no matching "${footer}" line`);
    }
    const body = text.slice(bodyStart, bodyEnd);
    if (body.includes(':')) {
      // RFC 1421 headers (Proc-Type/DEK-Info) only appear on legacy encrypted keys.
      throw new PkiError(
        'InvalidPEM',
        `${source}: PEM block ${position} (${type}) has encryption headers; encrypted PEM is not supported`,
      );
    }
    const base64 = body.replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw new PkiError('InvalidPEM', `${source}: PEM block ${position} (${type}) does not contain valid base64`);
    }
    blocks.push({ type, der: Buffer.from(base64, 'base64'), position });
    begin.lastIndex = bodyEnd + footer.length;
  }
  if (blocks.length === 0) {
    throw new PkiError('InvalidPEM', `${source}: no PEM block found (expected "-----BEGIN ...-----")`);
  }
  return blocks;
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';
const CERT_END = '-----END CERTIFICATE-----';

/**
 * The CERTIFICATE blocks of a bundle, as text, in one pass: each BEGIN is
 * paired with the first END after it, and the search goes on after that END,
 * so no character is looked at more than a few times however many markers a
 * hostile bundle holds. Blocks are not decoded (node's X509Certificate does that).
 */
export function certificatePemBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (let from = 0; ; ) {
    const start = text.indexOf(CERT_BEGIN, from);
    if (start < 0) break;
    const end = text.indexOf(CERT_END, start + CERT_BEGIN.length);
    // No END after this BEGIN means none after any later BEGIN either.
    if (end < 0) break;
    blocks.push(text.slice(start, end + CERT_END.length));
    from = end + CERT_END.length;
  }
  return blocks;
}

/** PEM with 64-character lines and a trailing newline, as Go and OpenSSL write it. */
export function encodePem(type: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
