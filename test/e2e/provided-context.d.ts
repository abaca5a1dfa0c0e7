import 'vitest';

/** What test/e2e/global-setup.ts hands to every e2e test via `inject(...)`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** The real cluster of hack/cluster.sh: its admin kubeconfig, helm, and the images imported into it. */
    e2e: {
      kubeconfig: string;
      /** kubectl of the cluster's version, built with it. */
      kubectl: string;
      helm: string;
      operatorImage: string;
      nginxImage: string;
      pebbleImage: string;
      /** Pebble running as a pod: its directory as pods see it, and its DNS (challtestsrv) as the node reaches it. */
      acme: { directoryUrl: string; caFile: string; challtestsrvUrl: string; dnsServer: string };
    };
  }
}
