import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { AUDITED, AuditRule, NOT_AUDITED } from './audit-rule';
import { AuditInterceptor } from './audit.interceptor';

/**
 * Records every request to this handler in the audit trail, whatever its outcome: the action, the
 * caller, the target, the request id, the status, and the body minus secrets. One decorator both
 * declares and wires it (the interceptor comes with it), so an audited route cannot be half set up;
 * route-rules.spec.ts fails for a handler that changes state without it or @NotAudited.
 */
export const Audited = (action: string, options: { target?: string } = {}) =>
  applyDecorators(SetMetadata(AUDITED, { action, ...options } satisfies AuditRule), UseInterceptors(AuditInterceptor));

/** A handler with a method other than GET that changes no control-plane state worth auditing, and why. */
export const NotAudited = (why: string) => SetMetadata(NOT_AUDITED, why);
