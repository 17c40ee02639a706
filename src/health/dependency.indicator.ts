import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '../common/async/with-timeout';

/** How long readiness waits for one dependency: a hung dependency must not hang the probe. */
export const PING_TIMEOUT_MS = 3000;

/** Turns a dependency's ping into a terminus entry: up with what it said, or down with why, timed. */
@Injectable()
export class DependencyIndicator {
  constructor(private readonly health: HealthIndicatorService) {}

  async check(key: string, ping: () => Promise<Record<string, unknown>>, timeoutMs = PING_TIMEOUT_MS): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      const info = await withTimeout(ping(), timeoutMs, `no answer within ${timeoutMs} ms`);
      return indicator.up({ ...info, latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message, latencyMs: Date.now() - started });
    }
  }
}
