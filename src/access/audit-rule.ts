export const AUDITED = 'audited';
export const NOT_AUDITED = 'notAudited';

/** What @Audited declares of a handler. */
export interface AuditRule {
  /** `<resource>.<verb>`: `schedule.create`, `key.revoke`, ... */
  action: string;
  /** The route parameter, else the field of the answer, that names what changed (`id`, `source`); none: the action says it all. */
  target?: string;
}
