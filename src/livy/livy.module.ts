import { Module } from '@nestjs/common';
import { LivyClient } from './livy.client';

/** The one way to Apache Livy: batches, their states and logs, with Livy's errors mapped once. */
@Module({
  providers: [LivyClient],
  exports: [LivyClient],
})
export class LivyModule {}
