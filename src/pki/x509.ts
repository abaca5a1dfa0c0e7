// The one place that loads @peculiar/x509. The library's ASN.1 schema is built
// from decorators that need reflect-metadata installed before the library's
// module body runs, and every operation needs a WebCrypto provider; doing both
// here means no other module can import the library in the wrong order.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
