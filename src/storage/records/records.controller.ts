import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '../../access/access.module';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { RecordsPageDto, RecordsQueryDto, StatsDto, TimeRangeQueryDto } from './dto/records.dto';
import { RecordsService } from './records.service';

@ApiTags('storage')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller()
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  @Get('records/:source')
  @RequiresScope({ read: 'source' })
  @ApiOperation({
    summary: 'Processed events of a source, newest first',
    description: 'Default window: the last 7 days. Page with nextPageToken until it is absent.',
  })
  @ApiParam({ name: 'source', example: 'users' })
  @ApiOkResponse({ type: RecordsPageDto })
  @ApiErrors(400, 404, 502, 503, 504)
  list(@Param('source') source: string, @Query() query: RecordsQueryDto): Promise<RecordsPageDto> {
    return this.records.records(source, query);
  }

  @Get('stats/:source')
  @RequiresScope({ read: 'source' })
  @ApiOperation({ summary: 'Event counts per minute, as written by the streaming job', description: 'Default window: the last 24 hours.' })
  @ApiParam({ name: 'source', example: 'users' })
  @ApiOkResponse({ type: StatsDto })
  @ApiErrors(400, 404, 502, 503, 504)
  stats(@Param('source') source: string, @Query() query: TimeRangeQueryDto): Promise<StatsDto> {
    return this.records.stats(source, query.from, query.to);
  }
}
