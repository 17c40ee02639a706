import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';

@Module({
  imports: [CassandraModule, CatalogsModule],
  controllers: [RecordsController],
  providers: [RecordsService],
})
export class RecordsModule {}
