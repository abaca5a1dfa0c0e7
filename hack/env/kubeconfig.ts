import { KubeConfig } from '@kubernetes/client-node';

/**
 * `admin`'s cluster and credentials with every request impersonating `user`
 * (Impersonate-User; client-node 1.4.0 has no Impersonate-Group): RBAC then
 * judges `user`, while the admin's client certificate authenticates. The
 * bench tells the operator's requests apart this way; the RBAC tests give a
 * ServiceAccount's permissions to a process outside the cluster.
 */
export function impersonating(admin: KubeConfig, user: string): KubeConfig {
  const adminUser = admin.getCurrentUser();
  const context = admin.getContextObject(admin.getCurrentContext());
  if (adminUser === null || context === null) throw new Error('the admin kubeconfig has no current user/context');
  const name = `${adminUser.name}-as-${user}`;
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: admin.getClusters(),
    users: [{ ...adminUser, name, impersonateUser: user }],
    contexts: [{ ...context, user: name }],
    currentContext: context.name,
  });
  return kubeconfig;
}
