import { createHash } from 'node:crypto';
import type { Agent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

type CreateAgent = (cluster: { server: string; name: string } | null, options: AgentOptions) => Agent;

/**
 * client-node 1.4 builds a new https.Agent for every API call, so every
 * request pays a full TLS handshake and re-reads the credentials (a third of
 * the operator's CPU in the 1,000-Certificate bench, and native memory that
 * grows with it). This keeps one keep-alive agent per cluster and client
 * certificate instead. Proxies keep the library's own agents.
 * No socket cap by default: with requests queued behind a small pool,
 * client-node's fetch (node-fetch 2) failed responses as "Premature close".
 */
export function shareKeepAliveAgents(kc: KubeConfig, maxSockets = Number.POSITIVE_INFINITY): KubeConfig {
  // createAgent is private in the typings; the override is on this instance only.
  const target = kc as unknown as { createAgent: CreateAgent };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, options) => {
    const proxied = cluster !== null && (cluster as { proxyUrl?: string }).proxyUrl !== undefined;
    if (cluster === null || proxied || !cluster.server.startsWith('https:')) return original(cluster, options);
    const identity = createHash('sha256')
      .update(String(options.cert ?? ''))
      .update(String(options.ca ?? ''))
      .update(String(options.servername ?? ''))
      .update(String(options.rejectUnauthorized ?? ''))
      .digest('hex');
    const key = `${cluster.server}|${identity}`;
    let agent = agents.get(key);
    if (agent === undefined) {
      agent = new HttpsAgent({ ...options, keepAlive: true, maxSockets });
      agents.set(key, agent);
    }
    return agent;
  };
  return kc;
}
