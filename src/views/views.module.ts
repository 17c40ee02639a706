import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { StorageModule } from '../storage/storage.module';
import { ViewsController } from './views.controller';
import { ViewsService } from './views.service';

/**
 * Streaming views as resources managed over the API: definitions stored in Cassandra (the
 * streaming job reads them every few seconds and runs one query per view), the state the job
 * reports of each, and their results; and a preview of a definition over a source's stored events
 * (read through the storage module's records).
 */
@Module({
  imports: [CassandraModule, CatalogsModule, StorageModule],
  controllers: [ViewsController],
  providers: [ViewsService],
  exports: [ViewsService],
})
export class ViewsModule {}
