import { Module } from '@nestjs/common';
import { JobsCatalog } from './jobs.catalog';
import { SourcesRegistry } from './sources.registry';

/** What the pipeline is made of, read once at start-up: the sources registry and the Spark job catalog. */
@Module({
  providers: [SourcesRegistry, JobsCatalog],
  exports: [SourcesRegistry, JobsCatalog],
})
export class CatalogsModule {}
