import { SetMetadata } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

export const IS_PUBLIC = 'isPublic';

/** Always public, or public when the configuration says so. */
export type PublicRule = true | ((config: AppConfig) => boolean);

/**
 * Marks a route as reachable without an API key: always (health), or when `when` holds for the
 * configuration (metrics with METRICS_PUBLIC).
 */
export const Public = (when: PublicRule = true) => SetMetadata(IS_PUBLIC, when);
