import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { actorOf, Audited, NotAudited, RequiresScope } from '../access/access.module';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { ViewDefinitionDto, ViewDto, ViewPreviewDto, ViewPreviewRequestDto, ViewResultsPageDto, ViewResultsQueryDto, ViewsDto } from './dto/views.dto';
import { VIEW_NAME } from './view-definition';
import { viewEtag, ViewsService } from './views.service';

const ViewNameParam = () =>
  ApiParam({
    name: 'name',
    example: 'revenue_per_currency',
    schema: { type: 'string', pattern: VIEW_NAME.source },
    description: 'A view name (GET /views lists them)',
  });

/** Sets the view's ETag (the id of its current definition) and answers the view. */
function withEtag(view: ViewDto, res: ServerResponse): ViewDto {
  res.setHeader('ETag', viewEtag(view));
  return view;
}

@ApiTags('views')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('views')
export class ViewsController {
  constructor(private readonly views: ViewsService) {}

  @Post()
  @RequiresScope('admin')
  @Audited('view.create', { target: 'name' })
  @ApiOperation({
    summary: "Create a streaming view: a continuous aggregation over one source's events, which the streaming job starts within seconds",
    description:
      'The definition is stored as given. Every rule it breaks is one entry of the 400 details, named by its path in the body (aggregates/1/field). ' +
      'A name already taken is 409; PUT /views/{name} redefines a view.',
  })
  @ApiCreatedResponse({ type: ViewDto })
  @ApiErrors(400, 409, 413, 415, 502, 503, 504)
  async create(@Body() body: ViewDefinitionDto, @Req() req: object, @Res({ passthrough: true }) res: ServerResponse): Promise<ViewDto> {
    return withEtag(await this.views.create(body, actorOf(req)), res);
  }

  @Post('preview')
  @HttpCode(200)
  @RequiresScope('read:*')
  @NotAudited('a dry run: computes a definition over stored events and creates nothing')
  @ApiOperation({
    summary: "Preview a view: its definition computed over the source's stored events of a range (default: the last hour), as the streaming job would",
    description:
      'The definition is checked as by POST /views, each broken rule named definition/<its path> (a taken name is fine: nothing is created). ' +
      'At most 10,000 events are read, newest first (fewer with hopping windows), and only as many as make at most 10,000 items; ' +
      'truncated says when the range held more.',
  })
  @ApiOkResponse({ type: ViewPreviewDto })
  @ApiErrors(400, 413, 415, 502, 503, 504)
  preview(@Body() body: ViewPreviewRequestDto): Promise<ViewPreviewDto> {
    return this.views.preview(body);
  }

  @Get()
  @RequiresScope('read:*')
  @ApiOperation({ summary: 'Every view, by name, with the state the streaming job reports of it' })
  @ApiOkResponse({ type: ViewsDto })
  @ApiErrors(502, 503, 504)
  list(): Promise<ViewsDto> {
    return this.views.list();
  }

  @Get(':name')
  @RequiresScope('read:*')
  @ViewNameParam()
  @ApiOperation({ summary: 'A view: its definition, and its state, late events, watermark and progress as the streaming job reports them' })
  @ApiOkResponse({ type: ViewDto })
  @ApiErrors(404, 502, 503, 504)
  async get(@Param('name') name: string, @Res({ passthrough: true }) res: ServerResponse): Promise<ViewDto> {
    return withEtag(await this.views.get(name), res);
  }

  @Put(':name')
  @RequiresScope('admin')
  @Audited('view.update', { target: 'name' })
  @ViewNameParam()
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'The ETag of GET /views/{name}: the change applies only over that definition (412 otherwise). Without it, over the current one',
  })
  @ApiOperation({
    summary: 'Redefine a view: the streaming job stops its query within seconds and computes the new definition afresh',
    description:
      'The body is a whole definition, checked as by POST /views; its name must be the one in the path. The view gets a new id: ' +
      'its results are computed again from backfillFrom (default: everything Kafka holds of the source), with state of its own, ' +
      'and the results of the definition it replaces are not read again. Raw events are not touched.',
  })
  @ApiOkResponse({ type: ViewDto })
  @ApiErrors(400, 404, 412, 413, 415, 502, 503, 504)
  async replace(
    @Param('name') name: string,
    @Body() body: ViewDefinitionDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: object,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<ViewDto> {
    return withEtag(await this.views.replace(name, body, actorOf(req), ifMatch), res);
  }

  @Delete(':name')
  @RequiresScope('admin')
  @Audited('view.delete', { target: 'name' })
  @ViewNameParam()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a view: the streaming job stops its query within seconds',
    description: 'Its results are not read again (a view created again under the name starts afresh, with a new id).',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(404, 502, 503, 504)
  delete(@Param('name') name: string): Promise<void> {
    return this.views.delete(name);
  }

  @Get(':name/results')
  @RequiresScope('read:*')
  @ViewNameParam()
  @ApiOperation({
    summary: "A view's results: one item per window and group, newest window first",
    description: 'Default range: the 24 hours before now plus one window. Page with nextPageToken until it is absent.',
  })
  @ApiOkResponse({ type: ViewResultsPageDto })
  @ApiErrors(400, 404, 502, 503, 504)
  results(@Param('name') name: string, @Query() query: ViewResultsQueryDto): Promise<ViewResultsPageDto> {
    return this.views.results(name, query);
  }
}
