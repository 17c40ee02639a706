import type { Principal } from '../common/auth/credentials';

const PRINCIPAL = Symbol('principal');

/** Remembers who the guard found a request to be, for the audit of the same request. */
export function setPrincipal(req: object, principal: Principal): void {
  (req as { [PRINCIPAL]?: Principal })[PRINCIPAL] = principal;
}

export function principalOf(req: object): Principal | undefined {
  return (req as { [PRINCIPAL]?: Principal })[PRINCIPAL];
}

/** Who the audit trail names as the actor of a request: its key's actor, `anonymous` when no key named one. */
export const actorOf = (req: object): string => principalOf(req)?.actor ?? 'anonymous';
