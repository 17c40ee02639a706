import { Global, Module } from '@nestjs/common';
import { BUCKET_SIZES, BucketSizes } from '../cassandra/migration.context';
import { JobsCatalog } from './jobs.catalog';
import { SourcesRegistry } from './sources.registry';

/**
 * What the pipeline is made of, read once at start-up: the sources registry and the Spark job catalog.
 * Global for the one provider the Cassandra module takes without importing this one: the sources'
 * bucket sizes, which a migration that moves events into buckets needs.
 */
@Global()
@Module({
  providers: [
    SourcesRegistry,
    JobsCatalog,
    {
      provide: BUCKET_SIZES,
      inject: [SourcesRegistry],
      useFactory:
        (sources: SourcesRegistry): BucketSizes =>
        (source) =>
          sources.find(source)?.bucketSeconds,
    },
  ],
  exports: [SourcesRegistry, JobsCatalog, BUCKET_SIZES],
})
export class CatalogsModule {}
