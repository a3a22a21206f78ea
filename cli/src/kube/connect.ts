// Loads the kubeconfig as kubectl does: --kubeconfig, else $KUBECONFIG (several files, merged),
// else ~/.kube/config, else the in-cluster ServiceAccount; --context picks a context; the
// namespace is -n, else the context's, else "default".
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Connection } from '../args/invocation.ts';
import { CliError, usage } from '../exit.ts';

export interface Connected {
  kc: KubeConfig;
  namespace: string;
}

export function connect(c: Connection): Connected {
  const kc = new KubeConfig();
  try {
    if (c.kubeconfig !== undefined) {
      if (!existsSync(c.kubeconfig)) throw usage(`--kubeconfig ${c.kubeconfig}: no such file`);
      kc.loadFromFile(c.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw usage(`cannot read the kubeconfig${c.kubeconfig ? ` ${c.kubeconfig}` : ''}: ${(err as Error).message}`);
  }
  if (c.context !== undefined) {
    if (!kc.getContextObject(c.context)) {
      const have = kc.getContexts().map((x) => x.name);
      throw usage(`--context ${c.context}: no such context in the kubeconfig (it has ${have.length ? have.join(', ') : 'none'})`);
    }
    kc.setCurrentContext(c.context);
  }
  if (!kc.getCurrentCluster()) throw usage('the kubeconfig names no cluster for the current context; pass --kubeconfig or --context');
  const namespace = c.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, namespace };
}
