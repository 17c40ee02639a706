import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/** Turns a dependency's ping into a terminus entry: up with what it said, or down with why, timed. */
@Injectable()
export class DependencyIndicator {
  constructor(private readonly health: HealthIndicatorService) {}

  async check(key: string, ping: () => Promise<Record<string, unknown>>): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      const info = await ping();
      return indicator.up({ ...info, latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message, latencyMs: Date.now() - started });
    }
  }
}
