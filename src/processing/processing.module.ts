import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { LivyModule } from '../livy/livy.module';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { StreamingController } from './streaming.controller';
import { StreamingService } from './streaming.service';

@Module({
  imports: [LivyModule, CassandraModule, CatalogsModule, KafkaModule],
  controllers: [BatchesController, StreamingController],
  providers: [BatchesService, StreamingService],
  // Schedules submit Spark batches through the same decisions as POST /jobs/{name}/batches; the
  // pipeline status reports the stream's state as GET /streaming does.
  exports: [BatchesService, StreamingService],
})
export class ProcessingModule {}
