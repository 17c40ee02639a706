import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { ViewsController } from './views.controller';
import { ViewsService } from './views.service';

/**
 * Streaming views as resources managed over the API: definitions stored in Cassandra (the
 * streaming job reads them every few seconds and runs one query per view), the state the job
 * reports of each, and their results.
 */
@Module({
  imports: [CassandraModule, CatalogsModule],
  controllers: [ViewsController],
  providers: [ViewsService],
  exports: [ViewsService],
})
export class ViewsModule {}
