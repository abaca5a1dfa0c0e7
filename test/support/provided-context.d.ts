import 'vitest';

/** What test/support/global-setup.ts hands to every integration test via `inject(...)`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig (client cert, group system:masters) of the shared kube-apiserver. */
    kubeconfigPath: string;
    apiserverUrl: string;
    /** Directory of the shared environment: PKI, configs, logs. */
    envDir: string;
    envVersions: { kubeApiserver: string; etcd: string; pebble: string };
    /** Names of the CRDs from crds/ that were applied and are Established. */
    installedCrds: string[];
    acme: {
      directoryUrl: string;
      /** Trust for Pebble's HTTPS (directory and management API). */
      serverCaPath: string;
      /** Root Pebble issues under (PEM file). */
      issuanceRootPath: string;
      /** Loopback port Pebble's validator connects to for HTTP-01. */
      httpChallengePort: number;
      tlsAlpnChallengePort: number;
      pebbleManagementUrl: string;
      /** pebble-challtestsrv management API (plain HTTP). */
      challtestsrvUrl: string;
      /** `127.0.0.1:<port>` DNS server Pebble resolves through. */
      dnsServer: string;
    };
  }
}
