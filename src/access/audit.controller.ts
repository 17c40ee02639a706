import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { AuditService } from './audit.service';
import { AuditPageDto, AuditQueryDto } from './dto/audit.dto';
import { RequiresScope } from './requires-scope.decorator';

@ApiTags('access')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequiresScope('admin')
  @ApiOperation({
    summary: 'The audit trail: changes made through the API and refusals of them, newest first',
    description:
      'Each event: when, who (key id and name, or bootstrap:<4 hex> for a key of API_KEYS), the action, its target, the request id, ' +
      'the status it was answered with, and the body it was sent (secrets left out). Default range: the last 7 days; events are kept ' +
      'AUDIT_RETENTION_DAYS. Page with nextPageToken until it is absent; a page may hold fewer than limit events.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiErrors(400, 502, 503, 504)
  list(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }
}
