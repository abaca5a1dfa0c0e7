import type { Clock } from '../../clock.js';
import { classifyAcmeFailure } from './classify.js';
import { externalAccountBinding, type EabAlgorithm } from './jws.js';
import { AcmeError } from './problem.js';
import { fetchDirectory } from './session.js';
import { acmeClientModule, recordExchanges } from './transport.js';

export interface AccountRegistration {
  server: string;
  accountKeyPem: string;
  email?: string | undefined;
  externalAccountBinding?: { keyID: string; hmacKey: string; algorithm: EabAlgorithm } | undefined;
}

/**
 * RFC 8555 7.3: registers the account (or finds it: a CA answers an existing
 * key with its account) and returns its URI. Terms of service are agreed to,
 * as every ACME client run unattended does. Errors are AcmeErrors carrying
 * the CA's problem text: a wrong directory URL, a refused EAB, an
 * unreachable CA each read as what they are.
 */
export async function registerAccount(input: AccountRegistration, clock: Clock): Promise<string> {
  const directory = await fetchDirectory(input.server, clock);
  if (directory.meta?.externalAccountRequired === true && input.externalAccountBinding === undefined) {
    throw new AcmeError('final', `${input.server} requires External Account Binding: set spec.issuer.acme.externalAccountBinding with the key ID and HMAC key the CA gave you`);
  }
  const { Client } = await acmeClientModule();
  const client = new Client({ directoryUrl: input.server, accountKey: input.accountKeyPem });
  const eab = input.externalAccountBinding;
  const request = {
    termsOfServiceAgreed: true,
    ...(input.email === undefined || input.email === '' ? {} : { contact: [`mailto:${input.email}`] }),
    ...(eab === undefined
      ? {}
      : { externalAccountBinding: externalAccountBinding({ ...eab, url: directory.newAccount, accountKeyPem: input.accountKeyPem }) }),
  };
  const result = await recordExchanges('account', async () => {
    await client.createAccount(request);
    return client.getAccountUrl();
  });
  if (!result.ok) throw classifyAcmeFailure(`registering the ACME account at ${input.server}`, result.error, result.exchanges, clock.now());
  return result.value;
}
