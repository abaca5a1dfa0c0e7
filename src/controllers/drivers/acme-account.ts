import { Reason } from '../../api/conditions.js';
import type { TLSPolicy, TLSPolicyStatus } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { registerAccount } from '../../issuers/acme/account.js';
import { AccountSecretError, accountMatches, type AcmeAccounts } from '../../issuers/acme/accounts.js';
import { AcmeError } from '../../issuers/acme/problem.js';
import { apiErrorKind, apiErrorMessage } from '../../kube/errors.js';
import type { Violation } from '../../model/violation.js';

// The account part of ACME: one account per TLSPolicy. Its key lives in the
// policy's privateKeySecretRef (made here when absent); the account URI and
// what it was registered for go to the policy's status, which is all the
// Certificate controller looks at before using it.

export interface AcmeReadiness {
  ok: boolean;
  violation: Violation;
  /** The new status.acme; absent when it should stay as it is. */
  acme?: NonNullable<TLSPolicyStatus['acme']> | undefined;
}

/** `recheck`: register again even when status matches (newAccount with a known key only returns the account; a CA that lost it makes a new one). */
export async function acmeAccountReadiness(policy: TLSPolicy, deps: { accounts: AcmeAccounts; clock: Clock }, recheck = false): Promise<AcmeReadiness> {
  const acme = policy.spec.issuer?.acme;
  if (acme === undefined) throw new Error('unreachable: acmeAccountReadiness without an ACME issuer');
  try {
    deps.accounts.forget();
    const key = await deps.accounts.accountKey(acme, true);
    if (key === undefined) throw new Error('unreachable: accountKey(create) returned nothing');
    const wanted = {
      server: acme.server,
      email: acme.email,
      accountKeyThumbprint: key.thumbprint,
      eabKeyID: acme.externalAccountBinding?.keyID,
    };
    if (!recheck && accountMatches(policy, key.thumbprint)) {
      const uri = policy.status?.acme?.accountURI ?? '';
      return { ok: true, violation: { reason: Reason.AccountRegistered, message: `ACME account ${uri} is registered with ${acme.server}` } };
    }
    const hmacKey = await deps.accounts.eabKey(acme);
    const eab = acme.externalAccountBinding;
    const accountURI = await registerAccount(
      {
        server: acme.server,
        accountKeyPem: key.pem,
        email: acme.email,
        externalAccountBinding: eab === undefined || hmacKey === undefined ? undefined : { keyID: eab.keyID, hmacKey, algorithm: eab.keyAlgorithm ?? 'HS256' },
      },
      deps.clock,
    );
    return {
      ok: true,
      violation: { reason: Reason.AccountRegistered, message: `ACME account ${accountURI} is registered with ${acme.server}` },
      acme: { ...wanted, accountURI },
    };
  } catch (err) {
    if (err instanceof AccountSecretError) return { ok: false, violation: { reason: Reason[err.reason], message: err.message } };
    if (err instanceof AcmeError) return { ok: false, violation: { reason: Reason.AccountRegistrationFailed, message: err.message } };
    // The account key Secret could not be read or written: the API server said why.
    if (apiErrorKind(err) !== 'NoStatus') {
      return { ok: false, violation: { reason: Reason.AccountKeyInvalid, message: `account key Secret: ${apiErrorMessage(err)}` } };
    }
    throw err;
  }
}
