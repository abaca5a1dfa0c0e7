import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { AcmeIssuerSpec, TLSPolicy } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { isNotFound } from '../../kube/errors.js';
import { encodePrivateKeyPem, generatePrivateKey, parsePrivateKeyPem } from '../../pki/keys.js';
import { jwkThumbprint } from './jws.js';
import { AcmeSession } from './session.js';

// Account keys and sessions, shared by the TLSPolicy controller (which
// registers accounts and records them in the policy's status) and the
// Certificate controller (which only uses accounts the status says are
// registered for exactly this server, e-mail, EAB key ID and key).

export const DEFAULT_ACCOUNT_KEY_FIELD = 'tls.key';
export const DEFAULT_EAB_KEY_FIELD = 'secret';

export type SecretsApi = Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret'>;

export class AccountSecretError extends Error {
  override readonly name = 'AccountSecretError';
  constructor(
    readonly reason: 'AccountKeyInvalid' | 'ExternalAccountKeyMissing',
    message: string,
  ) {
    super(message);
  }
}

export interface AccountKey {
  pem: string;
  thumbprint: string;
}

/** What the policy status must say for its account to be usable with this spec and key. */
export function accountMatches(policy: TLSPolicy, thumbprint: string): boolean {
  const acme = policy.spec.issuer?.acme;
  const st = policy.status?.acme;
  if (acme === undefined || st?.accountURI === undefined) return false;
  return (
    st.server === acme.server &&
    (st.email ?? '') === (acme.email ?? '') &&
    (st.eabKeyID ?? '') === (acme.externalAccountBinding?.keyID ?? '') &&
    st.accountKeyThumbprint === thumbprint
  );
}

function field(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  return b64 === undefined || b64 === '' ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

export class AcmeAccounts {
  private readonly keys = new Map<string, { key: AccountKey; at: number }>();
  private readonly sessions = new Map<string, AcmeSession>();

  constructor(private readonly deps: { secrets: SecretsApi; operatorNamespace: string; clock: Clock; keyTtlMs?: number }) {}

  private where(name: string): string {
    return `${this.deps.operatorNamespace}/${name}`;
  }

  private async read(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.deps.secrets.readNamespacedSecret({ name, namespace: this.deps.operatorNamespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The account key from privateKeySecretRef. With `create`, a missing Secret
   * is made with a new ECDSA P-256 key (the TLSPolicy controller does this;
   * the Certificate controller only reads).
   */
  async accountKey(acme: AcmeIssuerSpec, create: boolean): Promise<AccountKey | undefined> {
    const ref = acme.privateKeySecretRef;
    const fieldName = ref.key ?? DEFAULT_ACCOUNT_KEY_FIELD;
    const cacheKey = `${ref.name}/${fieldName}`;
    const cached = this.keys.get(cacheKey);
    if (cached !== undefined && this.deps.clock.now() - cached.at < (this.deps.keyTtlMs ?? 30_000)) return cached.key;
    let secret = await this.read(ref.name);
    if (secret === undefined) {
      if (!create) return undefined;
      const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
      secret = await this.deps.secrets.createNamespacedSecret({
        namespace: this.deps.operatorNamespace,
        body: {
          metadata: { name: ref.name, labels: { 'app.kubernetes.io/managed-by': 'certkeeper', 'certkeeper.dev/acme-account-key': 'true' } },
          type: 'Opaque',
          data: { [fieldName]: Buffer.from(encodePrivateKeyPem(key, 'PKCS8')).toString('base64') },
        },
      });
    }
    const pem = field(secret, fieldName);
    if (pem === undefined) throw new AccountSecretError('AccountKeyInvalid', `account key Secret ${this.where(ref.name)} has no "${fieldName}"`);
    try {
      const parsed = parsePrivateKeyPem(pem, `"${fieldName}" of Secret ${this.where(ref.name)}`);
      if (parsed.algorithm === 'Ed25519') throw new Error('Ed25519 account keys are not supported by ACME servers; use ECDSA or RSA');
    } catch (err) {
      throw new AccountSecretError('AccountKeyInvalid', `account key Secret ${this.where(ref.name)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const key = { pem, thumbprint: jwkThumbprint(pem) };
    this.keys.set(cacheKey, { key, at: this.deps.clock.now() });
    return key;
  }

  /** The EAB HMAC key from keySecretRef. */
  async eabKey(acme: AcmeIssuerSpec): Promise<string | undefined> {
    const eab = acme.externalAccountBinding;
    if (eab === undefined) return undefined;
    const fieldName = eab.keySecretRef.key ?? DEFAULT_EAB_KEY_FIELD;
    const secret = await this.read(eab.keySecretRef.name);
    const value = secret === undefined ? undefined : field(secret, fieldName);
    if (value === undefined || value.trim() === '') {
      throw new AccountSecretError(
        'ExternalAccountKeyMissing',
        `External Account Binding key Secret ${this.where(eab.keySecretRef.name)} ${secret === undefined ? 'does not exist' : `has no "${fieldName}"`}`,
      );
    }
    return value.trim();
  }

  /**
   * A session for the policy's registered account, or the reason there is
   * none yet (the TLSPolicy controller registers; this never does).
   */
  async session(policy: TLSPolicy): Promise<{ session: AcmeSession } | { waiting: string }> {
    const acme = policy.spec.issuer?.acme;
    if (acme === undefined) return { waiting: `TLSPolicy "${policy.metadata.name}" has no ACME issuer` };
    let key: AccountKey | undefined;
    try {
      key = await this.accountKey(acme, false);
    } catch (err) {
      return { waiting: err instanceof Error ? err.message : String(err) };
    }
    const ready = policy.status?.conditions?.find((c) => c.type === 'Ready');
    if (key === undefined || !accountMatches(policy, key.thumbprint)) {
      const why = ready?.status === 'False' ? `: ${ready.message}` : '';
      return { waiting: `waiting for TLSPolicy "${policy.metadata.name}" to register its ACME account${why}` };
    }
    const accountURI = policy.status?.acme?.accountURI ?? '';
    const id = `${acme.server}|${accountURI}|${key.thumbprint}`;
    let session = this.sessions.get(id);
    if (session === undefined) {
      session = await AcmeSession.open(acme.server, accountURI, key.pem, this.deps.clock);
      this.sessions.set(id, session);
    }
    return { session };
  }

  /** Forget cached keys (a policy changed, or its Secret did). */
  forget(): void {
    this.keys.clear();
  }
}
